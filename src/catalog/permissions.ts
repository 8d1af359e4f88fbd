import { readFileSync } from 'node:fs';
import { DEFAULT_GHOST_VERSION, type RouteEntry } from './catalog.js';

/**
 * Ghost's permission fixtures as data: which role holds object.action
 * (ghost/core/core/server/data/schema/fixtures/fixtures.json). The Owner holds
 * everything by code. Used to know what the upstream credential may do.
 */
export const STAFF_ROLES = ['Owner', 'Administrator', 'Super Editor', 'Editor', 'Author', 'Contributor'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
export const INTEGRATION_ROLE = 'Admin Integration';

export interface PermissionTable {
  /** True when `role` holds `object.action` in Ghost's fixtures. */
  holds(role: string, object: string, action: string): boolean;
}

export function parsePermissions(tsv: string): PermissionTable {
  const grants = new Set<string>();
  let header = false;
  for (const line of tsv.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (!header) {
      header = true;
      continue;
    }
    const [object, action, roles] = line.split('\t');
    if (!object || !action) throw new Error(`permissions: bad line "${line}"`);
    for (const role of (roles ?? '').split(',')) if (role) grants.add(`${role}\t${object}\t${action}`);
  }
  return {
    holds: (role, object, action) => role === 'Owner' || grants.has(`${role}\t${object}\t${action}`),
  };
}

export function loadPermissions(ghostVersion = DEFAULT_GHOST_VERSION): PermissionTable {
  return parsePermissions(readFileSync(new URL(`../../src/catalog/data/ghost-${ghostVersion}-permissions.tsv`, import.meta.url), 'utf8'));
}

/** What Ghost itself will let the gateway's upstream credential do on a route. */
export type UpstreamReach = { ok: true } | { ok: false; why: string };

export interface UpstreamCredentialInfo {
  readonly kind: 'integration' | 'staff';
  /** For staff tokens, the user's role; for integrations, Admin Integration. */
  readonly role: string;
  /** For staff tokens, the user's id: routes naming it are identity-protected (src/grants/identity.ts). */
  readonly userId?: string;
}

export function upstreamReach(route: RouteEntry, cred: UpstreamCredentialInfo, table: PermissionTable): UpstreamReach {
  if (route.flags.has('public')) return { ok: true };
  if (cred.kind === 'integration' && route.integrationKey === 'refused') {
    return { ok: false, why: `Ghost refuses integration keys on ${route.method} ${route.path} (its integration allow-list)` };
  }
  if (cred.kind === 'staff' && route.staffToken === 'refused') {
    return { ok: false, why: `Ghost refuses staff tokens on ${route.method} ${route.path}` };
  }
  const p = route.permission;
  // CASE: none/custom: Ghost decides with code we do not model; let it make the final call.
  if (p.kind !== 'check') return { ok: true };
  if (!table.holds(cred.role, p.object, p.action)) {
    return {
      ok: false,
      why: `the upstream ${cred.kind === 'staff' ? 'staff user' : 'integration'} (role ${cred.role}) does not hold ${p.object}.${p.action} in Ghost`,
    };
  }
  return { ok: true };
}

import { readFileSync } from 'node:fs';
import { parseExposure, type ExposureRow } from './exposure.js';
import { parseOptions, type RouteOptions } from './options.js';

/**
 * Ghost's Admin API routes as data. Each row names the route as Ghost
 * registers it (ghost/core/core/server/web/api/endpoints/admin/routes.js), the
 * ghostgate scope `resource:action` (Ghost's controller name and method), the
 * permission Ghost checks, and what each kind of Ghost credential may reach.
 * A route that is not here is refused by the gateway.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE'];

export type RouteFlag = 'public' | 'upload' | 'bulk' | 'query_token' | 'no_permission' | 'custom' | 'dangling';
const FLAGS: ReadonlySet<string> = new Set<RouteFlag>(['public', 'upload', 'bulk', 'query_token', 'no_permission', 'custom', 'dangling']);

export type CredentialReach = 'allowed' | 'refused' | 'n/a';

/** Ghost's permission check: `canThis(ctx)[action][object]` with the singular object name. */
export type GhostPermission = { kind: 'check'; object: string; action: string } | { kind: 'none' } | { kind: 'custom' };

export interface RouteEntry {
  readonly method: Method;
  /** As registered, relative to /ghost/api/admin, without trailing slash: `/posts/:id`. */
  readonly path: string;
  readonly segments: readonly string[];
  readonly resource: string;
  readonly action: string;
  /** `resource:action`, the scope a key must hold. */
  readonly scope: string;
  readonly permission: GhostPermission;
  readonly unsafeAttrs: readonly string[];
  readonly integrationKey: CredentialReach;
  readonly staffToken: CredentialReach;
  readonly flags: ReadonlySet<RouteFlag>;
  /** What the route returns or changes beyond its own resource (ghost-<version>-exposure.tsv). */
  readonly exposure: readonly ExposureRow[];
  /** The query options and data its controller reads (ghost-<version>-options.tsv). */
  readonly options: RouteOptions;
}

export interface Catalog {
  readonly ghostVersion: string;
  readonly routes: readonly RouteEntry[];
  /** Every scope a route needs, sorted. */
  readonly scopes: readonly string[];
  /** Every resource, sorted. */
  readonly resources: readonly string[];
}

const SCOPE_PART = /^[a-z][a-z0-9_]*$/;
const ACTION_PART = /^[a-z][A-Za-z0-9_]*$/;
const LITERAL_SEGMENT = /^[a-z0-9_.-]+$/;
const PARAM_SEGMENT = /^:[a-z_]+$/;

/** Ghost's singular object name: drop `s`, or `ies` -> `y` (api/endpoints/utils/permissions.js). */
export function ghostSingular(docName: string): string {
  if (docName.endsWith('ies')) return docName.slice(0, -3) + 'y';
  if (docName.endsWith('s')) return docName.slice(0, -1);
  return docName;
}

function parsePermission(raw: string, where: string): GhostPermission {
  if (raw === 'none') return { kind: 'none' };
  if (raw === 'custom') return { kind: 'custom' };
  const [doc, action, ...rest] = raw.split('.');
  if (!doc || !action || rest.length > 0) throw new Error(`${where}: permission "${raw}" is not docName.method, none or custom`);
  return { kind: 'check', object: ghostSingular(doc), action };
}

/**
 * Parses a catalog TSV. Fails closed: any row without a method, a path, a
 * resource and an action, or with an unknown flag, stops the start-up.
 */
export function parseCatalog(tsv: string, ghostVersion: string): Catalog {
  const routes: RouteEntry[] = [];
  const seen = new Set<string>();
  let header: string[] | undefined;
  tsv.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const cells = line.split('\t');
    if (!header) {
      header = cells;
      return;
    }
    const where = `catalog line ${i + 1}`;
    const row = Object.fromEntries(header.map((h, j) => [h, cells[j] ?? ''])) as Record<string, string>;
    const method = row.method as Method;
    if (!METHODS.includes(method)) throw new Error(`${where}: unknown method "${row.method}"`);
    const path = (row.path ?? '').replace(/\/$/, '');
    const segments = path.split('/').slice(1);
    if (!path.startsWith('/') || segments.some((s) => !LITERAL_SEGMENT.test(s) && !PARAM_SEGMENT.test(s))) {
      throw new Error(`${where}: path "${row.path}" is not a route pattern`);
    }
    const resource = row.resource ?? '';
    const action = row.action ?? '';
    if (!SCOPE_PART.test(resource) || !ACTION_PART.test(action))
      throw new Error(`${where}: resource/action "${resource}:${action}" invalid`);
    const flags = new Set<RouteFlag>();
    for (const f of (row.flags ?? '-').split(',')) {
      if (f === '-' || f === '') continue;
      if (!FLAGS.has(f)) throw new Error(`${where}: unknown flag "${f}"`);
      flags.add(f as RouteFlag);
    }
    const reach = (v: string | undefined): CredentialReach => {
      if (v === 'allowed' || v === 'refused' || v === 'n/a') return v;
      throw new Error(`${where}: credential reach "${v}" is not allowed, refused or n/a`);
    };
    const key = `${method} ${path}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate route ${key}`);
    seen.add(key);
    routes.push({
      method,
      path,
      segments,
      resource,
      action,
      scope: `${resource}:${action}`,
      permission: parsePermission(row.permission ?? '', where),
      unsafeAttrs: row.unsafe_attrs && row.unsafe_attrs !== '-' ? row.unsafe_attrs.split(',') : [],
      integrationKey: reach(row.integration_key),
      staffToken: reach(row.staff_token),
      flags,
      exposure: [],
      options: { options: new Set(), data: new Set() },
    });
  });
  if (routes.length === 0) throw new Error('catalog has no routes');
  return {
    ghostVersion,
    routes,
    scopes: [...new Set(routes.map((r) => r.scope))].sort(),
    resources: [...new Set(routes.map((r) => r.resource))].sort(),
  };
}

export const DEFAULT_GHOST_VERSION = '6.65';

export function catalogFile(ghostVersion = DEFAULT_GHOST_VERSION): URL {
  // Works from src/catalog (tsx) and dist/catalog (compiled): data stays in src/.
  return new URL(`../../src/catalog/data/ghost-${ghostVersion}.tsv`, import.meta.url);
}

export function loadCatalog(ghostVersion = DEFAULT_GHOST_VERSION): Catalog {
  const catalog = parseCatalog(readFileSync(catalogFile(ghostVersion), 'utf8'), ghostVersion);
  const data = (name: string) => readFileSync(new URL(`../../src/catalog/data/ghost-${ghostVersion}-${name}.tsv`, import.meta.url), 'utf8');
  const exposure = parseExposure(data('exposure'), catalog.routes);
  const options = parseOptions(data('options'), catalog.routes);
  return { ...catalog, routes: catalog.routes.map((r) => ({ ...r, exposure: exposure.get(r) ?? [], options: options.get(r)! })) };
}

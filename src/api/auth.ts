import type { IncomingMessage } from 'node:http';
import type { AdminActor } from '../admin/actor.js';
import { verifyAdminToken } from '../admin/admin-tokens.js';
import type { AdminScope, Store } from '../store/store.js';

/**
 * Who is calling the management API: an admin API token presented as
 * `Authorization: Bearer ggadm_…` (src/admin/admin-tokens.ts), or, with no
 * Authorization header, a person signed in to the web console (its session
 * cookie). A session may only read through the API (`admin:read`): a cookie is
 * sent by the browser whatever page asks, so changes by a person go through the
 * console's forms, which check the Origin and a CSRF token (console/session.ts).
 */
export type AdminAuth =
  | { readonly ok: true; readonly actor: AdminActor; readonly scope: AdminScope }
  | { readonly ok: false; readonly code: 'ADMIN_AUTH_MISSING' | 'ADMIN_TOKEN_INVALID' | 'ADMIN_TOKEN_REVOKED' | 'ADMIN_TOKEN_EXPIRED' };

export async function authenticateAdmin(
  req: IncomingMessage,
  deps: { readonly store: Store; readonly session?: (req: IncomingMessage) => Promise<AdminActor | undefined> },
  now: number,
): Promise<AdminAuth> {
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    const person = await deps.session?.(req);
    return person ? { ok: true, actor: person, scope: 'admin:read' } : { ok: false, code: 'ADMIN_AUTH_MISSING' };
  }
  const m = /^Bearer ([^\s,]+)$/.exec(header);
  if (!m) return { ok: false, code: 'ADMIN_AUTH_MISSING' };
  const v = await verifyAdminToken(deps.store, m[1]!, now);
  if (!v.ok) return { ok: false, code: v.code };
  return { ok: true, actor: { kind: 'token', id: v.record.id, name: v.record.name }, scope: v.record.scope };
}

/** admin:read may only read (GET); admin:write may do everything. */
export function scopeAllows(scope: AdminScope, method: string): boolean {
  return scope === 'admin:write' || method === 'GET';
}

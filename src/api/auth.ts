import type { IncomingMessage } from 'node:http';
import type { AdminActor } from '../admin/actor.js';
import { verifyAdminToken } from '../admin/admin-tokens.js';
import type { AdminScope, Store } from '../store/store.js';

/**
 * Who is calling the management API. Today: an admin API token presented as
 * `Authorization: Bearer ggadm_…` (src/admin/admin-tokens.ts). The console's
 * session is the next way in and is added here, so every route keeps asking
 * this one function.
 */
export type AdminAuth =
  | { readonly ok: true; readonly actor: AdminActor; readonly scope: AdminScope }
  | { readonly ok: false; readonly code: 'ADMIN_AUTH_MISSING' | 'ADMIN_TOKEN_INVALID' | 'ADMIN_TOKEN_REVOKED' | 'ADMIN_TOKEN_EXPIRED' };

export async function authenticateAdmin(req: IncomingMessage, deps: { readonly store: Store }, now: number): Promise<AdminAuth> {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return { ok: false, code: 'ADMIN_AUTH_MISSING' };
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

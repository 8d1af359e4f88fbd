import { adminSecretMatches, newAdminToken, parseAdminToken } from '../secrets/admin-tokens.js';
import { ADMIN_SCOPES, type AdminScope, type AdminTokenRecord, type Store } from '../store/store.js';
import { AdminError } from './errors.js';

/**
 * Admin API tokens, as services: `ghostgate admin token create|list|revoke`
 * prints them, the management API (src/api/auth.ts) verifies them. A token is
 * shown once, when created; the store keeps only its secret's hash.
 */
export interface AdminTokenInput {
  readonly name: string;
  readonly scope: string;
  readonly expiresAt?: number | null;
}

export async function createAdminToken(
  ctx: { readonly store: Store },
  input: AdminTokenInput,
  now: number,
): Promise<{ record: AdminTokenRecord; token: string }> {
  const name = input.name.trim();
  if (name === '' || name.length > 191) throw new AdminError('INVALID', 'the name must be 1 to 191 characters');
  if (!(ADMIN_SCOPES as readonly string[]).includes(input.scope))
    throw new AdminError('INVALID', `the scope must be one of ${ADMIN_SCOPES.join(', ')}`);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null && expiresAt <= now) throw new AdminError('INVALID', 'the expiry must be in the future');
  const { id, token, secretHash } = newAdminToken();
  const record = await ctx.store.adminTokens.create({ id, name, scope: input.scope as AdminScope, secretHash, createdAt: now, expiresAt });
  return { record, token };
}

export async function listAdminTokens(ctx: { readonly store: Store }): Promise<AdminTokenRecord[]> {
  return ctx.store.adminTokens.list();
}

export async function revokeAdminToken(ctx: { readonly store: Store }, id: string, now: number) {
  const before = await ctx.store.adminTokens.find(id);
  if (!before) throw new AdminError('NOT_FOUND', `no admin token ${id}`);
  const changed = await ctx.store.adminTokens.revoke(id, now);
  const { secretHash: _hash, ...record } = (await ctx.store.adminTokens.find(id))!;
  return { record, changed };
}

/** Why a presented token is refused: each a code of the error catalog (docs/errors.md). */
export type AdminTokenRefusal = 'ADMIN_TOKEN_INVALID' | 'ADMIN_TOKEN_REVOKED' | 'ADMIN_TOKEN_EXPIRED';

/**
 * Checks a presented token: its form, its secret against the stored hash
 * (constant time), then revocation and expiry, which are reported only once
 * the secret matched, so a caller without the secret learns nothing about an
 * id. An unknown id costs the same hash and comparison as a known one.
 */
export async function verifyAdminToken(
  store: Store,
  token: string,
  now: number,
): Promise<{ ok: true; record: AdminTokenRecord } | { ok: false; code: AdminTokenRefusal }> {
  const parsed = parseAdminToken(token);
  if (!parsed) return { ok: false, code: 'ADMIN_TOKEN_INVALID' };
  const found = await store.adminTokens.find(parsed.id);
  const matches = adminSecretMatches(parsed.secret, found?.secretHash ?? '0'.repeat(64));
  if (!found || !matches) return { ok: false, code: 'ADMIN_TOKEN_INVALID' };
  const { secretHash: _hash, ...record } = found;
  if (record.revokedAt !== null) return { ok: false, code: 'ADMIN_TOKEN_REVOKED' };
  if (record.expiresAt !== null && record.expiresAt <= now) return { ok: false, code: 'ADMIN_TOKEN_EXPIRED' };
  await store.adminTokens.touch(record.id, now);
  return { ok: true, record };
}

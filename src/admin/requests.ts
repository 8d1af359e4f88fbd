import { randomUUID } from 'node:crypto';
import { PRESETS } from '../grants/presets.js';
import { MintError, validGrant } from '../keys/mint.js';
import type { AccessRequestRecord, AccessRequestStatus, Store } from '../store/store.js';
import type { AdminActor } from './actor.js';
import { newToken, tokenHash } from './accounts.js';
import { AdminError } from './errors.js';
import { createKey, type KeysContext } from './keys.js';

/**
 * Access requests (`ghostgate request-link`): a link naming a grant is given to
 * a tool or a person; they open it and see what is asked in words; an admin
 * approves it in the console (possibly with fewer scopes) or denies it; the
 * requester collects the key once, on the same link. The link's token is the
 * requester's only credential, stored as its SHA-256; the key is minted when
 * it is collected, so no secret waits in the store.
 */
export const REQUEST_LINK_TTL_MS = 7 * 86_400_000;

export interface AccessRequestInput {
  readonly name: string;
  readonly preset?: string;
  readonly grant?: unknown;
  /** The key's lifetime from its collection; none: no expiry (site policy permitting). */
  readonly keyLifetimeMs?: number;
  readonly linkTtlMs?: number;
}

const valid = (doc: unknown) => {
  try {
    return validGrant(doc);
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
};

export async function createAccessRequest(ctx: { readonly store: Store }, input: AccessRequestInput, now: number) {
  const name = input.name.trim();
  if (name === '' || name.length > 191) throw new AdminError('INVALID', 'a request names who or what it is for (1 to 191 characters)');
  if ((input.preset === undefined) === (input.grant === undefined)) throw new AdminError('INVALID', 'a request names a preset or a grant');
  let grant;
  if (input.preset !== undefined) {
    const p = PRESETS[input.preset];
    if (!p) throw new AdminError('INVALID', `unknown preset "${input.preset}"; presets: ${Object.keys(PRESETS).join(', ')}`);
    grant = p.grant;
  } else grant = valid(input.grant);
  const ttl = input.linkTtlMs ?? REQUEST_LINK_TTL_MS;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new AdminError('INVALID', 'the link must expire in the future');
  if (input.keyLifetimeMs !== undefined && (!Number.isFinite(input.keyLifetimeMs) || input.keyLifetimeMs <= 0))
    throw new AdminError('INVALID', 'the key lifetime must be positive');
  const token = newToken();
  const id = randomUUID();
  const spec = {
    grant,
    ...(input.preset ? { preset: input.preset } : {}),
    ...(input.keyLifetimeMs ? { keyLifetimeMs: input.keyLifetimeMs } : {}),
  };
  await ctx.store.admins.addRequest({ id, tokenHash: tokenHash(token), name, spec, createdAt: now, expiresAt: now + ttl });
  return { record: (await ctx.store.admins.request(id))!, token };
}

/** The request a link is for (whatever its state: the page says it), or undefined for an unknown link. */
export const requestForToken = (ctx: { readonly store: Store }, token: string) =>
  /^[A-Za-z0-9_-]{43}$/.test(token) ? ctx.store.admins.requestByToken(tokenHash(token)) : Promise.resolve(undefined);

const STATUSES: readonly AccessRequestStatus[] = ['pending', 'approved', 'denied', 'collected'];
export async function listAccessRequests(ctx: { readonly store: Store }, status?: string): Promise<AccessRequestRecord[]> {
  if (status !== undefined && !STATUSES.includes(status as AccessRequestStatus))
    throw new AdminError('INVALID', `status must be one of ${STATUSES.join(', ')}`);
  return ctx.store.admins.listRequests(status as AccessRequestStatus | undefined);
}

/**
 * Approves (with `keepScopes`: only those of the asked scopes, the rest of the
 * grant as asked, so an approval can narrow and never widen) or denies.
 */
export async function decideAccessRequest(
  ctx: { readonly store: Store },
  id: string,
  decision: 'approved' | 'denied',
  actor: AdminActor,
  now: number,
  keepScopes?: readonly string[],
): Promise<AccessRequestRecord> {
  const r = await ctx.store.admins.request(id);
  if (!r) throw new AdminError('NOT_FOUND', `no access request ${id}`);
  let spec = r.spec;
  if (decision === 'approved' && keepScopes !== undefined) {
    const asked = (r.spec.grant as { scopes: string[] }).scopes;
    const extra = keepScopes.filter((s) => !asked.includes(s));
    if (extra.length > 0) throw new AdminError('INVALID', `an approval may only narrow: ${extra.join(', ')} was not asked for`);
    if (keepScopes.length === 0) throw new AdminError('INVALID', 'an approval keeps at least one scope (or deny the request)');
    spec = { ...r.spec, grant: valid({ ...(r.spec.grant as object), scopes: [...keepScopes] }) };
  }
  if (!(await ctx.store.admins.decideRequest(id, decision, spec, actor.id, now))) {
    throw new AdminError(
      'INVALID',
      `access request ${id} cannot be ${decision}: ${r.status !== 'pending' ? `it is ${r.status}` : 'it expired'}`,
    );
  }
  return (await ctx.store.admins.request(id))!;
}

/**
 * The requester collects the approved key, once: the request is marked
 * collected first (atomically, one caller only), then the key is minted. If it
 * cannot be (the grant is refused by the site policy or as full access, an
 * anchor is missing, Ghost is down), the request is approved again, so it is
 * never used up without a key.
 */
export async function collectAccessRequest(ctx: KeysContext, token: string, now: number) {
  const r = await requestForToken(ctx, token);
  if (!r) throw new AdminError('NOT_FOUND', 'no such access request');
  if (!(await ctx.store.admins.collectRequest(r.id, now)))
    throw new AdminError('INVALID', `this request cannot be collected: ${r.status === 'approved' ? 'it expired' : `it is ${r.status}`}`);
  const lifetime = typeof r.spec.keyLifetimeMs === 'number' ? r.spec.keyLifetimeMs : undefined;
  let created;
  try {
    created = await createKey(ctx, { name: r.name, grant: r.spec.grant, expiresAt: lifetime === undefined ? null : now + lifetime }, now);
  } catch (e) {
    await ctx.store.admins.releaseRequest(r.id);
    throw e;
  }
  await ctx.store.admins.setRequestKey(r.id, created.record.id);
  return { request: r, ...created };
}

import type { AnchorLookup } from '../grants/anchors.js';
import type { Config } from '../config/config.js';
import { mintKey, MintError, validGrant, type KeySpec } from '../keys/mint.js';
import type { MasterSecret } from '../secrets/keys.js';
import { formatKey } from '../secrets/keys.js';
import type { KeyRecord, Store } from '../store/store.js';
import { relayJson, retireWebhooksOf } from '../webhooks/admin.js';
import type { GhostWebhooks } from '../webhooks/ghost-client.js';
import { anchorLookup, upstreamKey } from './context.js';
import { AdminError } from './errors.js';

/**
 * The key operations, as services: `ghostgate token …` calls them and prints
 * their result; the management API will call the same. Each validates all of
 * its input before it writes anything and throws AdminError when it refuses.
 */
export interface KeysContext {
  readonly config: Config;
  readonly store: Store;
  readonly master: MasterSecret;
}

/** A key to create (mint.ts KeySpec: the grant is validated here, with the site policy), and its parent for a child key. */
export type CreateKeyInput = KeySpec & { readonly parentId?: string };

/** Creates a key; returns its record and the key itself (id:secret), which is never stored or shown again. */
export async function createKey(ctx: KeysContext, input: CreateKeyInput, now: number): Promise<{ record: KeyRecord; key: string }> {
  const parent = input.parentId === undefined ? undefined : await ctx.store.keys.get(input.parentId);
  if (input.parentId !== undefined && !parent) throw new AdminError('NOT_FOUND', `no parent key ${input.parentId}`);
  let grant;
  try {
    grant = validGrant(input.grant);
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
  // Constraint anchors (tags, authors, labels by slug) are pinned to their ids in Ghost: the upstream
  // credential is read, and Ghost asked, only when the grant or its parent's names one by slug.
  let ghost: AnchorLookup | undefined;
  const lookup: AnchorLookup = async (kind, slug) =>
    (ghost ??= anchorLookup(ctx.config, await upstreamKey(ctx.config, ctx.store, ctx.master)))(kind, slug);
  try {
    return await mintKey(
      ctx.store,
      ctx.master,
      ctx.config.policy,
      {
        name: input.name,
        grant,
        expiresAt: input.expiresAt ?? null,
        notBefore: input.notBefore ?? null,
        maxUses: input.maxUses ?? null,
        limits: input.limits ?? {},
        allowEscalation: input.allowEscalation === true,
      },
      now,
      parent,
      lookup,
    );
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
}

/** A new secret for the same grant; the previous one verifies until now + graceMs. */
export async function rotateKey(ctx: KeysContext, id: string, graceMs: number, now: number): Promise<{ record: KeyRecord; key: string }> {
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new AdminError('INVALID', 'the grace period must be zero or more');
  const record = await ctx.store.keys.rotate(id, now + graceMs);
  if (!record) throw new AdminError('NOT_FOUND', `no active key ${id}`);
  return { record, key: formatKey(id, ctx.master.keySecret(id, record.generation)) };
}

export async function listKeys(ctx: Pick<KeysContext, 'store'>): Promise<KeyRecord[]> {
  return ctx.store.keys.list();
}

/** One key (never its secret), its uses (spent, reserved in flight, unknown) and the webhooks it created through the relay. */
export async function showKey(ctx: Pick<KeysContext, 'store'>, id: string, now: number) {
  const record = await ctx.store.keys.get(id);
  if (!record) throw new AdminError('NOT_FOUND', `no key ${id}`);
  const webhooks = (await ctx.store.webhooks.list({ keyId: id })).map((r) => relayJson(r));
  const uses = await ctx.store.keys.uses(id, now);
  return { record, uses, webhooks };
}

/**
 * Revokes a key and its descendants; their webhooks are retired and removed
 * from Ghost when `ghost` is given and reachable (the sweep of a running
 * gateway removes the rest).
 */
export async function revokeKey(ctx: Pick<KeysContext, 'store'>, id: string, ghost: GhostWebhooks | undefined, now: number) {
  const before = await ctx.store.keys.get(id);
  if (!before) throw new AdminError('NOT_FOUND', `no key ${id}`);
  const revoked = await ctx.store.keys.revoke(id, now);
  const record = (await ctx.store.keys.get(id))!;
  const webhooks = await retireWebhooksOf(ctx.store, ghost, revoked, 'key revoked', now);
  return { record, changed: revoked.includes(id), revoked, webhooks };
}

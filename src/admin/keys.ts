import type { AnchorLookup } from '../grants/anchors.js';
import type { Config } from '../config/config.js';
import { checkLimits, mintKey, MintError, validGrant, type KeySpec } from '../keys/mint.js';
import type { MasterSecret } from '../secrets/keys.js';
import { formatKey } from '../secrets/keys.js';
import type { KeyLimits, KeyRecord, Store } from '../store/store.js';
import { subGrantProblems } from '../grants/attenuate.js';
import { parseScopeList, type Grant } from '../grants/grant.js';
import { PRESETS, withOverrides } from '../grants/presets.js';
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

/** A preset, extra scopes and a grant document merged over it, as one validated grant (`token create --preset --scope --grant`). */
export function buildGrant(o: { readonly preset?: string; readonly scopes?: readonly string[]; readonly grant?: unknown }): Grant {
  let extra: string[];
  try {
    extra = o.scopes ? parseScopeList(o.scopes.join(',')) : [];
  } catch (e) {
    throw new AdminError('INVALID', (e as Error).message);
  }
  if (o.grant !== undefined && (o.grant === null || typeof o.grant !== 'object' || Array.isArray(o.grant)))
    throw new AdminError('INVALID', 'the grant must be a JSON object (docs/grants.md)');
  const doc = o.grant as Record<string, unknown> | undefined;
  let candidate: unknown;
  if (o.preset !== undefined) {
    const p = PRESETS[o.preset];
    if (!p) throw new AdminError('INVALID', `unknown preset "${o.preset}"; presets: ${Object.keys(PRESETS).join(', ')}`);
    candidate = withOverrides(p.grant, extra, doc);
  } else if (doc) candidate = withOverrides({ version: 1, scopes: [] }, extra, doc);
  else candidate = { version: 1, scopes: extra };
  try {
    return validGrant(candidate);
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
}

/**
 * The presets a grant starts from: it holds every scope of the preset and each of the preset's
 * other rules unchanged (a key made with `--preset P` and more scopes still counts as P).
 */
export function presetsOf(grant: Grant): string[] {
  const held = new Set(grant.scopes);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return Object.entries(PRESETS)
    .filter(
      ([, p]) =>
        p.grant.scopes.every((s) => held.has(s)) &&
        Object.entries(p.grant).every(([k, v]) => k === 'scopes' || same(v, (grant as Record<string, unknown>)[k])),
    )
    .map(([name]) => name);
}

/**
 * What a narrower replacement for a live key may be (the console's "Narrow it"): the grant given, if
 * it is a subset of the key's, with everything else the key's own, as it stands now: the same parent
 * (a child key's replacement is its sibling, held by the same ancestors), the same expiry and
 * not-before (absolute, never a fresh lifetime), the uses it has left, its limits. Refused for a key
 * that is revoked, expired or used up: narrowing never brings a key back or extends it.
 */
export async function narrowedKeyInput(
  ctx: Pick<KeysContext, 'store'>,
  id: string,
  name: string,
  grant: unknown,
  now: number,
): Promise<CreateKeyInput> {
  const k = await ctx.store.keys.get(id);
  if (!k) throw new AdminError('NOT_FOUND', `no key ${id}`);
  if (k.status !== 'active') throw new AdminError('INVALID', `key ${id} is revoked: there is nothing to narrow`);
  if (k.expiresAt !== null && k.expiresAt <= now) throw new AdminError('INVALID', `key ${id} has expired: there is nothing to narrow`);
  let maxUses: number | null = null;
  if (k.maxUses !== null) {
    const u = await ctx.store.keys.uses(id, now);
    maxUses = k.maxUses - u.spent - u.reserved - u.unknown;
    if (maxUses <= 0) throw new AdminError('INVALID', `key ${id} is used up: there is nothing to narrow`);
  }
  let g: Grant;
  try {
    g = validGrant(grant);
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
  const problems = subGrantProblems(g, k.grant);
  if (problems.length > 0) throw new AdminError('INVALID', `a narrower key holds no more than ${id}:\n  ${problems.join('\n  ')}`);
  return {
    name,
    grant: g,
    expiresAt: k.expiresAt,
    notBefore: k.notBefore,
    maxUses,
    limits: k.limits,
    // What the key holds was accepted when it was made; a subset of it holds no new escalation.
    allowEscalation: true,
    ...(k.parentId !== null ? { parentId: k.parentId } : {}),
  };
}

/** Which keys to list: by status, a part of the name (any case), a preset they start from, their parent. */
export interface KeyFilter {
  readonly status?: 'active' | 'revoked';
  readonly search?: string;
  readonly preset?: string;
  readonly parentId?: string;
}

export async function listKeys(ctx: Pick<KeysContext, 'store'>, f: KeyFilter = {}): Promise<KeyRecord[]> {
  if (f.preset !== undefined && !PRESETS[f.preset])
    throw new AdminError('INVALID', `unknown preset "${f.preset}"; presets: ${Object.keys(PRESETS).join(', ')}`);
  const search = f.search?.toLowerCase();
  return (await ctx.store.keys.list()).filter(
    (k) =>
      (f.status === undefined || k.status === f.status) &&
      (search === undefined || k.name.toLowerCase().includes(search) || k.id === search) &&
      (f.preset === undefined || presetsOf(k.grant).includes(f.preset)) &&
      (f.parentId === undefined || k.parentId === f.parentId),
  );
}

/** A key's children (the keys whose parent it is), when the key exists. */
export async function keyChildren(ctx: Pick<KeysContext, 'store'>, id: string): Promise<KeyRecord[]> {
  if (!(await ctx.store.keys.get(id))) throw new AdminError('NOT_FOUND', `no key ${id}`);
  return listKeys(ctx, { parentId: id });
}

/**
 * Renames a key or replaces its limits. Its grant, window and uses never change: a narrower key is a
 * new key (or a child), so what a key may do is fixed when it is shown once.
 */
export async function updateKey(ctx: Pick<KeysContext, 'store'>, id: string, change: { name?: string; limits?: KeyLimits }) {
  if (change.name !== undefined && (change.name.trim() === '' || change.name.length > 191))
    throw new AdminError('INVALID', 'the name must be 1 to 191 characters');
  if (change.name === undefined && change.limits === undefined) throw new AdminError('INVALID', 'nothing to change: give a name or limits');
  const before = await ctx.store.keys.get(id);
  if (!before) throw new AdminError('NOT_FOUND', `no key ${id}`);
  if (before.status === 'revoked') throw new AdminError('INVALID', `key ${id} is revoked`);
  try {
    checkLimits(change.limits);
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
  const after = await ctx.store.keys.update(id, {
    ...(change.name !== undefined ? { name: change.name.trim() } : {}),
    ...(change.limits ? { limits: change.limits } : {}),
  });
  return after!;
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

import { loadCatalog } from '../catalog/catalog.js';
import type { Config } from '../config/config.js';

export type KeyPolicy = Config['policy'];
import { AnchorError, pinAnchors, pinnedAnchors, unpinnedAnchors, type AnchorLookup } from '../grants/anchors.js';
import { inheritRules, subGrantProblems } from '../grants/attenuate.js';
import { escalationOf, describeEscalationRefusal } from '../grants/escalation.js';
import { validateConfirm } from '../grants/confirm.js';
import { parseGrant, validateScopes, type Grant } from '../grants/grant.js';
import { parseCidrs } from '../pipeline/lifecycle/lifecycle.js';
import { formatKey, newKeyId, type MasterSecret } from '../secrets/keys.js';
import type { KeyLimits, KeyRecord, NewKey, Store } from '../store/store.js';

/**
 * Creating keys, for the CLI and for a key's holder minting a child through
 * the gateway: one place for the site policy, the grant checks and the
 * parent rules (a subset of its grant, expiring no later).
 */
export class MintError extends Error {
  override name = 'MintError';
}

/**
 * A key to create: the store's NewKey, before an id is drawn and the grant is validated.
 * `allowEscalation`: the operator accepts escalation scopes (src/grants/escalation.ts);
 * a child key needs none, it can only hold what its parent holds.
 */
export type KeySpec = Omit<NewKey, 'id' | 'createdAt' | 'parentId' | 'grant'> & {
  readonly grant: unknown;
  readonly allowEscalation?: boolean;
};

export function checkLimits(limits: KeyLimits | undefined): void {
  if (!limits) return;
  if (limits.ipAllow) {
    try {
      parseCidrs(limits.ipAllow);
    } catch (e) {
      throw new MintError(`ip allowlist: ${(e as Error).message}`);
    }
  }
  const r = limits.rate;
  for (const [k, v] of Object.entries(r ?? {}))
    if (!Number.isInteger(v) || v < 1) throw new MintError(`rate ${k} must be a positive integer`);
  if (limits.dailyQuota !== undefined && (!Number.isInteger(limits.dailyQuota) || limits.dailyQuota < 1))
    throw new MintError('the daily quota must be a positive integer');
  const webhooks: unknown = limits.webhooks; // limits come from JSON and YAML: the type is what is checked here
  if (webhooks !== undefined && webhooks !== 'outlive' && webhooks !== 'stop') throw new MintError('webhooks must be outlive or stop');
}

/** The largest time a JavaScript Date holds (ECMA-262 21.4.1.22, TimeClip): 100,000,000 days from 1970. */
const MAX_TIME_MS = 8.64e15;

/**
 * A key's validity window against the site policy: an expiry (when required) no later than the
 * longest lifetime from now, not in the past, and a not-before that opens the window before it
 * closes (a key that could never be used is refused, not created).
 */
export function checkPolicy(policy: KeyPolicy, expiresAt: number | null | undefined, now: number, notBefore: number | null = null): void {
  for (const [name, t] of [
    ['expiry', expiresAt],
    ['not-before time', notBefore],
  ] as const) {
    // A time a JavaScript Date cannot hold (±8.64e15 ms, e.g. `--expires 99999999d`) would be stored, then break every
    // listing that prints it: refused like any other invalid time.
    if (t !== null && t !== undefined && !(Math.abs(t) <= MAX_TIME_MS)) throw new MintError(`the ${name} is not a valid time`);
  }
  if (policy.requireExpiry && (expiresAt === null || expiresAt === undefined))
    throw new MintError('site policy: every key needs an expiry (--expires)');
  const max = policy.maxKeyLifetimeDays;
  if (max !== undefined) {
    if (expiresAt === null || expiresAt === undefined) throw new MintError(`site policy: keys live at most ${max} days; give --expires`);
    if (expiresAt - now > max * 86_400_000) throw new MintError(`site policy: keys live at most ${max} days`);
  }
  if (expiresAt !== null && expiresAt !== undefined && expiresAt <= now) throw new MintError('the expiry is in the past');
  if (notBefore !== null && expiresAt !== null && expiresAt !== undefined && notBefore >= expiresAt) {
    throw new MintError('the not-before time must come before the expiry (the key could never be used)');
  }
}

export function validGrant(doc: unknown): Grant {
  const parsed = parseGrant(doc);
  if (!parsed.ok) throw new MintError(`invalid grant:\n  ${parsed.errors.join('\n  ')}`);
  if (parsed.grant.scopes.length === 0) throw new MintError('the key needs at least one scope');
  const catalog = loadCatalog();
  const errors = [...validateScopes(parsed.grant.scopes, catalog), ...validateConfirm(parsed.grant.confirm ?? [], catalog)];
  if (errors.length > 0) throw new MintError(`invalid scopes:\n  ${errors.join('\n  ')}`);
  return parsed.grant;
}

export async function mintKey(
  store: Store,
  master: MasterSecret,
  policy: KeyPolicy,
  spec: KeySpec,
  now: number,
  parent?: KeyRecord,
  /** Looks constraint anchors up in Ghost, to pin them to ids (src/grants/anchors.ts). */
  anchors?: AnchorLookup,
): Promise<{ record: KeyRecord; key: string }> {
  const name = spec.name.trim();
  if (name === '' || name.length > 191) throw new MintError('the name must be 1 to 191 characters');
  let grant = validGrant(spec.grant);
  const pin = async (g: Grant, known: ReturnType<typeof pinnedAnchors> = []): Promise<Grant> => {
    if (unpinnedAnchors(g).length === 0) return g;
    if (!anchors)
      throw new MintError(
        'the grant names constraint records by slug; the gateway pins them to their ids in Ghost when it creates the key, and Ghost could not be asked',
      );
    try {
      return await pinAnchors(g, anchors, known);
    } catch (e) {
      if (e instanceof AnchorError) throw new MintError(e.message);
      throw new MintError(`pinning the constraint's records in Ghost failed: ${(e as Error).message}`);
    }
  };
  let expiresAt = spec.expiresAt ?? null;
  let limits = spec.limits;
  if (parent) {
    if (parent.status !== 'active') throw new MintError('the parent key is revoked');
    if (parent.expiresAt !== null && parent.expiresAt <= now) throw new MintError('the parent key has expired');
    if (parent.maxUses !== null) throw new MintError('a key with max uses cannot have children (they would multiply its uses)');
    // The parent's anchors first (an older key may still name them by slug), then the child reuses its pins.
    const parentGrant = await pin(parent.grant);
    if (parentGrant !== parent.grant) {
      await store.keys.setGrant(parent.id, parentGrant);
      parent = { ...parent, grant: parentGrant };
    }
    grant = await pin(inheritRules(grant, parent.grant), pinnedAnchors(parent.grant));
    const problems = subGrantProblems(grant, parent.grant);
    if (problems.length > 0) throw new MintError(`the child's grant must be a subset of its parent's:\n  ${problems.join('\n  ')}`);
    if (parent.expiresAt !== null) {
      if (expiresAt === null) expiresAt = parent.expiresAt;
      if (expiresAt > parent.expiresAt)
        throw new MintError(`a child key must expire no later than its parent (${new Date(parent.expiresAt).toISOString()})`);
    }
    // A child is used only inside its parent's window too (checked again at request time): one that expires before
    // the parent becomes valid could never be used, and is refused like a not-before past its own expiry.
    if (parent.notBefore !== null && expiresAt !== null && expiresAt <= parent.notBefore)
      throw new MintError(
        `a child key must not expire before its parent becomes valid (${new Date(parent.notBefore).toISOString()}): it could never be used`,
      );
    // Lifecycle limits of every ancestor also apply at request time; the child may add its own.
    limits = limits ?? {};
  } else if (spec.allowEscalation !== true) {
    const e = escalationOf(grant);
    if (e.fullAccess) throw new MintError(describeEscalationRefusal(e));
  }
  if (!parent) grant = await pin(grant);
  checkPolicy(policy, expiresAt, now, spec.notBefore ?? null);
  checkLimits(limits);
  if (spec.maxUses !== undefined && spec.maxUses !== null && (!Number.isInteger(spec.maxUses) || spec.maxUses < 1))
    throw new MintError('max uses must be a positive integer');
  const id = newKeyId();
  const record = await store.keys.create({
    id,
    name,
    grant,
    createdAt: now,
    expiresAt,
    notBefore: spec.notBefore ?? null,
    maxUses: spec.maxUses ?? null,
    limits: limits ?? {},
    parentId: parent?.id ?? null,
  });
  return { record, key: formatKey(id, master.keySecret(id, record.generation)) };
}

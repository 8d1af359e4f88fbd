import type { KeyRecord, RelayRecord, Store } from '../store/store.js';
import type { GhostWebhooks } from './ghost-client.js';
import type { RelayFact } from './rule.js';

/** Webhooks follow the key that created them: when they stop, and how they are retired. */
export type KeyState = 'active' | 'revoked' | 'stopped';

/**
 * Retires a relay: marked in the store first, so deliveries stop at once, then
 * removed from Ghost. If Ghost cannot be reached, the row stays retired but
 * not removed (`ghostRemovedAt` null): the sweep retries the removal until
 * Ghost confirms it, and meanwhile the relay answers Ghost's calls with 410
 * (Ghost then deletes the webhook itself, webhook-trigger.js onError).
 */
export async function retireRelay(
  store: Store,
  ghost: GhostWebhooks,
  row: RelayRecord,
  reason: string,
  now: number,
  onError: (err: Error) => void = () => {},
): Promise<{ retired: boolean; removedFromGhost: boolean }> {
  const retired = await store.webhooks.retire(row.id, reason, now);
  const removedFromGhost = await removeFromGhost(store, ghost, row, now, onError);
  return { retired, removedFromGhost };
}

/**
 * Removes a retired relay's webhook from Ghost: true once Ghost confirms it
 * (204, or 404: already gone) or never had it (no Ghost id). Then the relay is
 * scrubbed: nothing calls it any more, so the client's secret goes.
 */
export async function removeFromGhost(
  store: Store,
  ghost: GhostWebhooks,
  row: RelayRecord,
  now: number,
  onError: (err: Error) => void = () => {},
): Promise<boolean> {
  if (row.ghostRemovedAt === null) {
    try {
      if (row.ghostId && !(await ghost.remove(row.ghostId))) return false;
    } catch (err) {
      onError(err as Error);
      return false;
    }
    await store.webhooks.markRemoved(row.id, now);
  }
  await scrubRelay(store, row.id);
  return true;
}

/** Once a relay is retired and Ghost's webhook is gone, the client's target secret is erased from the store. */
export async function scrubRelay(store: Store, relayId: string): Promise<boolean> {
  return store.webhooks.scrub(relayId);
}

/**
 * Whether the key's webhooks still deliver: not when it or an ancestor was
 * revoked; not when it or an ancestor expired and says `webhooks: stop`.
 * Running out of max uses changes nothing (the seed's set-up keys exist to
 * leave lasting webhooks behind).
 */
export async function keyState(store: Store, keyId: string, now: number): Promise<{ state: KeyState; key?: KeyRecord }> {
  const key = await store.keys.get(keyId);
  if (!key) return { state: 'revoked' };
  let k: KeyRecord = key;
  for (let depth = 0; ; depth++) {
    if (k.status !== 'active' || depth > 8) return { state: 'revoked', key };
    if (k.expiresAt !== null && now >= k.expiresAt && k.limits.webhooks === 'stop') return { state: 'stopped', key };
    if (k.parentId === null) break;
    const parent = await store.keys.get(k.parentId);
    if (!parent) return { state: 'revoked', key };
    k = parent;
  }
  return { state: 'active', key };
}

/**
 * The relay row of a Ghost webhook id, as authorize() reads it: null unless it is an active relay.
 * `createdByKey`: this key created it, or is an ancestor of the key that did (as the ledger counts
 * a child's creations as its ancestors'): a parent may do what its child may.
 */
export async function relayFact(store: Store, keyId: string, ghostId: string): Promise<RelayFact | null> {
  const row = ghostId === '' ? undefined : await store.webhooks.byGhostId(ghostId);
  if (!row || row.status !== 'active') return null;
  let createdByKey = false;
  for (let id: string | null = row.keyId, depth = 0; id !== null && depth < 16 && !createdByKey; depth++) {
    createdByKey = id === keyId;
    id = createdByKey ? null : ((await store.keys.get(id))?.parentId ?? null);
  }
  return { event: row.event, createdByKey };
}

/**
 * The key's root (the key itself when it has no parent) and every key below
 * that root: the family whose webhooks count against `webhooks.maxPerKey` and
 * share one fair share of the delivery queue. A child cannot escape its
 * parent's limit by minting more children.
 */
export async function keyFamily(store: Store, key: KeyRecord): Promise<{ rootId: string; keyIds: string[] }> {
  const all = await store.keys.list();
  const byId = new Map(all.map((k) => [k.id, k]));
  const rootOf = (k: KeyRecord): string => {
    let r = k;
    for (let depth = 0; r.parentId !== null && depth < 16; depth++) {
      const p = byId.get(r.parentId);
      if (!p) break;
      r = p;
    }
    return r.id;
  };
  const rootId = rootOf(byId.get(key.id) ?? key);
  return { rootId, keyIds: all.filter((k) => rootOf(k) === rootId).map((k) => k.id) };
}

/** The root key of a key's family (itself when it has no parent). */
export async function rootKeyId(store: Store, keyId: string): Promise<string> {
  let id = keyId;
  for (let depth = 0; depth < 16; depth++) {
    const k = await store.keys.get(id);
    if (!k || k.parentId === null) return id;
    id = k.parentId;
  }
  return id;
}

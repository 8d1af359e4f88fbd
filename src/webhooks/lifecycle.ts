import type { KeyRecord, RelayRecord, Store } from '../store/store.js';
import type { GhostWebhooks } from './ghost-client.js';
import type { RelayFact } from './rule.js';

/** Webhooks follow the key that created them: when they stop, and how they are retired. */
export type KeyState = 'active' | 'revoked' | 'stopped';

/**
 * Retires a relay: marked in the store first, so deliveries stop at once, then
 * removed from Ghost. If Ghost cannot be reached, its next call to the relay
 * is answered 410 and Ghost deletes the webhook itself (webhook-trigger.js).
 */
export async function retireRelay(store: Store, ghost: GhostWebhooks, row: RelayRecord, reason: string, now: number, onError: (err: Error) => void = () => {}): Promise<{ retired: boolean; removedFromGhost: boolean }> {
  const retired = await store.webhooks.retire(row.id, reason, now);
  let removedFromGhost = false;
  if (row.ghostId) {
    try {
      removedFromGhost = await ghost.remove(row.ghostId);
    } catch (err) {
      onError(err as Error);
    }
  }
  return { retired, removedFromGhost };
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
  let k: KeyRecord | undefined = key;
  for (let depth = 0; k; depth++) {
    if (k.status !== 'active' || depth > 8) return { state: 'revoked', key };
    if (k.expiresAt !== null && now >= k.expiresAt && k.limits.webhooks === 'stop') return { state: 'stopped', key };
    if (k.parentId === null) break;
    k = await store.keys.get(k.parentId);
    if (!k) return { state: 'revoked', key };
  }
  return { state: 'active', key };
}

/** The relay row of a Ghost webhook id, as authorize() reads it: null unless it is an active relay. */
export async function relayFact(store: Store, keyId: string, ghostId: string): Promise<RelayFact | null> {
  const row = ghostId === '' ? undefined : await store.webhooks.byGhostId(ghostId);
  return row && row.status === 'active' ? { event: row.event, createdByKey: row.keyId === keyId } : null;
}

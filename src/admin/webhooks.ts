import type { DeliveryLog } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import { deliveryJson, findRelay, legacyWebhooks, relayJson } from '../webhooks/admin.js';
import type { GhostWebhooks } from '../webhooks/ghost-client.js';
import { retireRelay } from '../webhooks/lifecycle.js';
import { AdminError } from './errors.js';

/**
 * The relayed webhooks, as services: `ghostgate webhooks list|show|remove`
 * prints them and the management API answers them (docs/webhooks.md). Never
 * a delivery's body or a secret: the delivery log has neither.
 */
export async function listWebhooks(store: Store, f: { readonly keyId?: string; readonly all?: boolean } = {}) {
  const rows = (await store.webhooks.list(f.keyId ? { keyId: f.keyId } : {})).filter((r) => f.all === true || r.status !== 'retired');
  return Promise.all(rows.map(async (r) => relayJson(r, await store.keys.get(r.keyId))));
}

/** One relayed webhook (Ghost's id or the relay id) and its last deliveries, newest first. */
export async function showWebhook(store: Store, deliveries: DeliveryLog | undefined, id: string, limit = 20) {
  if (!Number.isInteger(limit) || limit < 1) throw new AdminError('INVALID', 'the limit must be a positive integer');
  const r = await findRelay(store, id);
  if (!r) throw new AdminError('NOT_FOUND', `no relayed webhook ${id} (see \`ghostgate webhooks audit\` for older ones)`);
  const log = deliveries ? await deliveries.query({ relayId: r.id, limit }) : [];
  return { ...relayJson(r, await store.keys.get(r.keyId)), deliveries: log.map(deliveryJson) };
}

/**
 * Removes a webhook made through the gateway from Ghost (relayed, or made before the relay) and stops
 * its deliveries. `removed` is false when Ghost could not be reached: the relay then answers Ghost's
 * next call with 410 and Ghost deletes it.
 */
export async function removeWebhook(
  store: Store,
  ghost: GhostWebhooks,
  id: string,
  now: number,
): Promise<{ id: string; removed: boolean }> {
  const row = await findRelay(store, id);
  if (row) return { id, removed: (await retireRelay(store, ghost, row, 'removed by the administrator', now)).removedFromGhost };
  if ((await legacyWebhooks(store)).some((l) => l.id === id)) return { id, removed: await ghost.remove(id) };
  throw new AdminError('NOT_FOUND', `no webhook ${id} made through the gateway`);
}

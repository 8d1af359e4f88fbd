import type { Config } from '../config/config.js';
import { compileGrant } from '../grants/grant.js';
import type { KeyRecord, RelayRecord, Store } from '../store/store.js';
import type { DeliveryEntry } from '../store/deliveries.js';
import { eventScopes, isWebhookEvent } from './events.js';
import type { GhostWebhooks } from './ghost-client.js';
import { RELAY_PATH, newRelayId, type RelaySecrets } from './relay-secrets.js';
import { retireRelay } from './lifecycle.js';
import { parseTarget } from './ssrf.js';

/**
 * Admin operations on webhooks, for the CLI (and any later admin API): list,
 * show, deliveries, retire the webhooks of revoked keys, and find and migrate
 * webhooks made before the relay (they point straight at the client, so their
 * deliveries bypass the key's grant).
 */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

export function relayJson(r: RelayRecord, key?: KeyRecord): Record<string, unknown> {
  return {
    id: r.ghostId,
    relay_id: r.id,
    key_id: r.keyId,
    key_name: key?.name ?? null,
    event: r.event,
    target_url: r.targetUrl,
    signed: r.secretSealed !== null,
    status: r.status,
    retired_reason: r.retiredReason,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    retired_at: iso(r.retiredAt),
    removed_from_ghost_at: iso(r.ghostRemovedAt),
  };
}

export function deliveryJson(d: DeliveryEntry): Record<string, unknown> {
  return {
    at: iso(d.at),
    delivery_id: d.deliveryId,
    webhook_id: d.ghostId,
    key_id: d.keyId,
    event: d.event,
    attempt: d.attempt,
    outcome: d.outcome,
    status: d.status,
    latency_ms: d.latencyMs,
    error: d.error,
    view: d.view,
  };
}

/** A relayed webhook by Ghost's id or by relay id. */
export async function findRelay(store: Store, id: string): Promise<RelayRecord | undefined> {
  return (await store.webhooks.byGhostId(id)) ?? (await store.webhooks.get(id));
}

/** Retires the webhooks of these keys (after `token revoke`): each is removed from Ghost. */
export async function retireWebhooksOf(
  store: Store,
  ghost: GhostWebhooks | undefined,
  keyIds: readonly string[],
  reason: string,
  now: number,
): Promise<{ retired: string[]; notRemoved: string[] }> {
  const retired: string[] = [];
  const notRemoved: string[] = [];
  for (const keyId of keyIds) {
    for (const row of await store.webhooks.list({ keyId })) {
      if (row.status === 'retired') continue;
      const r = ghost
        ? await retireRelay(store, ghost, row, reason, now)
        : { retired: await store.webhooks.retire(row.id, reason, now), removedFromGhost: false };
      if (r.retired) retired.push(row.ghostId ?? row.id);
      if (row.ghostId && !r.removedFromGhost) notRemoved.push(row.ghostId);
    }
  }
  return { retired, notRemoved };
}

export interface LegacyWebhook {
  readonly id: string;
  readonly key_id: string;
  readonly key_name: string;
  readonly key_status: string;
  readonly migrate: string;
  readonly remove: string;
}

/**
 * Webhooks the ledger says keys created, that are not relayed: made before
 * the relay existed. The creator is the deepest key whose ledger has the id
 * (a child's creations are also in its ancestors' ledgers).
 */
export async function legacyWebhooks(store: Store): Promise<LegacyWebhook[]> {
  const keys = await store.keys.list();
  const byId = new Map(keys.map((k) => [k.id, k]));
  const owners = new Map<string, KeyRecord[]>();
  for (const k of keys) for (const id of await store.ledger.ids(k.id, 'webhooks')) owners.set(id, [...(owners.get(id) ?? []), k]);
  const depth = (k: KeyRecord) => {
    let d = 0;
    for (let p = k.parentId; p !== null && d < 16; p = byId.get(p)?.parentId ?? null) d++;
    return d;
  };
  const out: LegacyWebhook[] = [];
  for (const [id, ks] of owners) {
    if (await store.webhooks.byGhostId(id)) continue;
    const key = ks.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    out.push({
      id,
      key_id: key.id,
      key_name: key.name,
      key_status: key.status,
      migrate: `ghostgate webhooks migrate ${id}`,
      remove: `ghostgate webhooks remove ${id}`,
    });
  }
  return out;
}

export class MigrateError extends Error {
  override name = 'MigrateError';
}

/**
 * Moves a webhook made before the relay onto it: reads its event, target and
 * secret from Ghost, keeps them as the client's, and points Ghost at the relay
 * with a relay secret. Refused when its key may not read the event (remove it
 * instead) or is revoked.
 */
export async function migrateWebhook(
  store: Store,
  ghost: GhostWebhooks,
  secrets: RelaySecrets,
  config: Pick<Config, 'publicUrl'>,
  ghostId: string,
  now: number,
): Promise<RelayRecord> {
  if (!config.publicUrl) throw new MigrateError('set publicUrl first: Ghost must reach the relay');
  if (await store.webhooks.byGhostId(ghostId)) throw new MigrateError(`${ghostId} is already relayed`);
  const legacy = (await legacyWebhooks(store)).find((l) => l.id === ghostId);
  if (!legacy) throw new MigrateError(`no key created ${ghostId} (only webhooks in a key's ledger can be given to a key)`);
  const key = (await store.keys.get(legacy.key_id))!;
  if (key.status !== 'active') throw new MigrateError(`its key ${key.id} is revoked: remove it instead (${legacy.remove})`);
  const current = await ghost.edit(ghostId, {});
  if (!current) throw new MigrateError(`Ghost has no webhook ${ghostId} any more`);
  const event = current.event;
  if (!isWebhookEvent(event)) throw new MigrateError(`its event ${String(event)} is not one Ghost fires: remove it (${legacy.remove})`);
  const grant = compileGrant(key.grant);
  const missing = eventScopes(event).filter((s) => !grant.holds(s, s.split(':')[0]!));
  if (missing.length > 0)
    throw new MigrateError(`its key may not read what ${event} delivers (missing ${missing.join(', ')}): remove it (${legacy.remove})`);
  const target = typeof current.target_url === 'string' ? parseTarget(current.target_url) : undefined;
  if (!target?.ok) throw new MigrateError(`its target_url is not one the relay delivers to: remove it (${legacy.remove})`);
  const secret = typeof current.secret === 'string' && current.secret !== '' ? current.secret : null;
  const id = newRelayId();
  const relayUrl = `${config.publicUrl}${RELAY_PATH}${id}`;
  await store.webhooks.add({
    id,
    keyId: key.id,
    event,
    targetUrl: target.url.href === current.target_url ? target.url.href : String(current.target_url),
    secretSealed: secret ? secrets.sealClientSecret(id, secret) : null,
    relayUrl,
    createdAt: now,
  });
  try {
    await ghost.edit(ghostId, { target_url: relayUrl, secret: secrets.relaySecret(id) });
  } catch (e) {
    await store.webhooks.discard(id);
    throw e;
  }
  await store.webhooks.activate(id, ghostId, now);
  return (await store.webhooks.get(id))!;
}

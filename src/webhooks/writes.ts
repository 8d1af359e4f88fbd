import type { ErrorCode } from '../errors/errors.js';
import { loadAncestors, type KeyRecord, type Store } from '../store/store.js';
import { RELAY_PATH, newRelayId, type RelaySecrets } from './relay-secrets.js';
import type { WebhookWrite } from './rule.js';
import { checkTarget, parseTarget, type Resolver } from './ssrf.js';
import { keyFamily, scrubRelay } from './lifecycle.js';

/**
 * Webhook writes through the proxy, around forwarding: an add registers the
 * relay in Ghost (target and secret the gateway's) and keeps the client's
 * target and sealed secret; an edit keeps Ghost on the relay; a delete retires
 * it. Ghost's answers are rewritten so the client sees its own target and
 * secret, never the relay's.
 */
export interface WriteDeps {
  readonly store: Store;
  readonly secrets: RelaySecrets;
  /** Where Ghost reaches the gateway; undefined: webhooks cannot be created. */
  readonly publicUrl: string | undefined;
  readonly allowInternalIPs: boolean;
  readonly resolve?: Resolver;
  /** The upstream credential's kind: a staff token's webhooks need the integration they belong to. */
  readonly upstreamKind: 'integration' | 'staff';
  /** `webhooks.integrationId`: the integration a staff token's webhooks are attached to. */
  readonly integrationId?: string;
  /** `webhooks.maxPerKey`: active webhooks a root key's family may have. */
  readonly maxPerKey: number;
}

/** What the server does around forwarding a webhook write. */
export type PreparedWrite =
  | { ok: false; code: ErrorCode; context: string }
  | {
      ok: true;
      /** The body to forward instead of the client's (it names the relay, not the client's target). */
      body?: Buffer;
      /** Rewrites Ghost's JSON answer so the client sees its own target and secret. */
      inspect?: (status: number, json: unknown) => Promise<unknown>;
      /** After Ghost answered (or failed: status 0). */
      settle(status: number): Promise<void>;
    };

type Json = Record<string, unknown>;

export async function prepareWrite(o: WriteDeps, w: WebhookWrite, key: KeyRecord, now: number, unchanged: unknown): Promise<PreparedWrite> {
  if (w.action === 'destroy') {
    const row = await o.store.webhooks.byGhostId(w.id ?? '');
    // CASE: authorize() saw an active relay; one retired since (a revocation, a 410) is not deleted twice.
    if (!row || row.status !== 'active') return notRelayed(w);
    return {
      ok: true,
      settle: async (status) => {
        // Ghost's 204 (or 404: already gone) confirms the removal: the relay is retired, removed and scrubbed.
        if (status !== 204 && status !== 404) return;
        await o.store.webhooks.retire(row.id, 'deleted through the gateway', now);
        await o.store.webhooks.markRemoved(row.id, now);
        await scrubRelay(o.store, row.id);
      },
    };
  }
  if (w.targetUrl !== undefined) {
    const t = parseTarget(w.targetUrl);
    if (!t.ok) return { ok: false, code: 'WEBHOOK_TARGET_REFUSED', context: t.why };
    const c = await checkTarget(t.url, o.allowInternalIPs, o.resolve);
    if (!c.ok) return { ok: false, code: 'WEBHOOK_TARGET_REFUSED', context: c.why };
  }
  return w.action === 'add' ? prepareAdd(o, w, key, now, unchanged) : prepareEdit(o, w, key, now, unchanged);
}

async function prepareAdd(o: WriteDeps, w: WebhookWrite, key: KeyRecord, now: number, unchanged: unknown): Promise<PreparedWrite> {
  if (!o.publicUrl)
    return { ok: false, code: 'WEBHOOK_RELAY_UNAVAILABLE', context: 'set publicUrl in the gateway configuration (docs/webhooks.md)' };
  // CASE: Ghost sets integration_id from an integration key itself (api/endpoints/utils/serializers/input/webhooks.js);
  // a staff token's webhook takes the body's, which must name an integration (schema.js webhooks.integration_id, not nullable).
  if (o.upstreamKind === 'staff' && !o.integrationId)
    return {
      ok: false,
      code: 'WEBHOOK_RELAY_UNAVAILABLE',
      context:
        'the upstream is a staff token: set webhooks.integrationId to the Ghost integration its webhooks belong to (docs/webhooks.md)',
    };
  const targetUrl = w.targetUrl!;
  // Ghost's rule (webhooks-service.js add): the same event and target (case-insensitive) once. Kept per key.
  const mine = await o.store.webhooks.list({ keyId: key.id });
  if (mine.some((r) => r.status !== 'retired' && r.event === w.event && r.targetUrl.toLowerCase() === targetUrl.toLowerCase())) {
    return { ok: false, code: 'WEBHOOK_TARGET_USED', context: `this key already has a ${w.event} webhook for this target` };
  }
  const id = newRelayId();
  const relayUrl = `${o.publicUrl}${RELAY_PATH}${id}`;
  const clientSecret = w.secret;
  // A key's family (its root key and every key below it) shares one limit: minting children does not widen it.
  const family = await keyFamily(o.store, key);
  const added = await o.store.webhooks.add(
    {
      id,
      keyId: key.id,
      event: w.event!,
      targetUrl,
      secretSealed: clientSecret ? o.secrets.sealClientSecret(id, clientSecret) : null,
      relayUrl,
      createdAt: now,
    },
    { keyIds: family.keyIds, max: o.maxPerKey },
  );
  if (!added)
    return {
      ok: false,
      code: 'WEBHOOK_LIMIT_REACHED',
      context: `this key's family already has ${o.maxPerKey} webhooks (webhooks.maxPerKey); delete one first`,
    };
  const integration = o.upstreamKind === 'staff' ? { integration_id: o.integrationId } : {};
  const body = Buffer.from(
    JSON.stringify({ webhooks: [{ event: w.event, target_url: relayUrl, secret: o.secrets.relaySecret(id), ...w.rest, ...integration }] }),
  );
  let activated = false;
  return {
    ok: true,
    body,
    inspect: async (status, json) => {
      const hook = answerHook(json);
      if (status < 200 || status >= 300 || !hook || typeof hook.id !== 'string') return unchanged;
      await o.store.webhooks.activate(id, hook.id, Date.now());
      activated = true;
      hook.target_url = targetUrl;
      hook.secret = clientSecret === undefined ? null : clientSecret;
      return json;
    },
    settle: async () => {
      if (!activated) await o.store.webhooks.discard(id);
    },
  };
}

async function prepareEdit(o: WriteDeps, w: WebhookWrite, key: KeyRecord, now: number, unchanged: unknown): Promise<PreparedWrite> {
  const row = await o.store.webhooks.byGhostId(w.id ?? '');
  // CASE: a webhook made in Ghost Admin or before the relay (authorize() refuses it first), or retired since.
  if (!row || row.status !== 'active') return notRelayed(w);
  // Only the creator (or a key above it) is shown the client's target and secret; another key that may
  // rename webhooks (constraints.webhooks.createdByKey: false) learns nothing of another key's target.
  const creator = row.keyId === key.id ? undefined : await o.store.keys.get(row.keyId);
  const owner =
    row.keyId === key.id || Boolean(creator && (await loadAncestors(creator, (id) => o.store.keys.get(id)))?.some((a) => a.id === key.id));
  const fields: Json = {
    ...(w.event ? { event: w.event } : {}),
    target_url: row.relayUrl,
    secret: o.secrets.relaySecret(row.id),
    ...w.rest,
  };
  const body = Buffer.from(JSON.stringify({ webhooks: [fields] }));
  const sealed = w.secret === undefined ? undefined : w.secret ? o.secrets.sealClientSecret(row.id, w.secret) : null;
  return {
    ok: true,
    body,
    inspect: async (status, json) => {
      const hook = answerHook(json);
      if (status < 200 || status >= 300 || !hook) return unchanged;
      const changes: { event?: string; targetUrl?: string; secretSealed?: string | null } = {};
      if (w.event) changes.event = w.event;
      if (w.targetUrl !== undefined) changes.targetUrl = w.targetUrl;
      if (sealed !== undefined) changes.secretSealed = sealed;
      await o.store.webhooks.update(row.id, changes, now);
      if (!owner) {
        hook.target_url = null;
        hook.secret = null;
        return json;
      }
      hook.target_url = w.targetUrl ?? row.targetUrl;
      hook.secret = w.secret !== undefined ? w.secret : row.secretSealed ? o.secrets.openClientSecret(row.id, row.secretSealed) : null;
      return json;
    },
    settle: async () => {},
  };
}

const notRelayed = (w: WebhookWrite): PreparedWrite => ({
  ok: false,
  code: 'WEBHOOK_NOT_RELAYED',
  context: `webhook ${w.id} is not an active relay of the gateway`,
});

function answerHook(json: unknown): Json | undefined {
  const list = json && typeof json === 'object' ? (json as Json).webhooks : undefined;
  const hook: unknown = Array.isArray(list) ? list[0] : undefined;
  return hook && typeof hook === 'object' ? (hook as Json) : undefined;
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors/errors.js';
import { compileGrant, type CompiledGrant } from '../grants/grant.js';
import type { KeyRecord, RelayRecord, Store } from '../store/store.js';
import type { DeliveryLog } from '../store/deliveries.js';
import { eventResource, eventScopes, isWebhookEvent } from './events.js';
import { filterDelivery } from './filter.js';
import type { GhostWebhooks } from './ghost-client.js';
import { grantLens } from './grant-lens.js';
import type { DeliveryQueue } from './queue.js';
import { RELAY_ID, RELAY_PATH, type RelaySecrets } from './relay-secrets.js';
import { prepareWrite, type PreparedWrite } from './writes.js';
import type { WebhookWrite } from './rule.js';
import { keyState, removeFromGhost, retireRelay, rootKeyId } from './lifecycle.js';
import { SIGNATURE_FORMAT, verifySignature } from './signature.js';
import { parseTarget, type Resolver } from './ssrf.js';

/**
 * Webhooks through the gateway: the relay.
 *
 *   client --POST /webhooks {target_url: T, secret: S}--> gateway --POST /webhooks {target_url: R, secret: s(R)}--> Ghost
 *   Ghost --event, signed with s(R)--> gateway R --verify, the key's grant, sign with S--> T
 *
 * R is `<publicUrl>/ghostgate/webhooks/relay/<relay id>`, s(R) is derived from
 * the master secret (relay-secrets.ts). Ghost's answers show the client T and
 * S, never R or s(R). Deliveries follow the creating key: its grant filters
 * and redacts each one (filter.ts), its revocation retires the webhook.
 */
export interface WebhookServiceOptions {
  readonly store: Store;
  readonly secrets: RelaySecrets;
  readonly ghost: GhostWebhooks;
  readonly queue: DeliveryQueue;
  readonly log?: DeliveryLog;
  readonly logger: Logger;
  /** Where Ghost reaches the gateway; undefined: webhooks cannot be created. */
  readonly publicUrl: string | undefined;
  readonly allowInternalIPs: boolean;
  readonly upstreamKind: 'integration' | 'staff';
  readonly integrationId?: string;
  readonly maxPerKey: number;
  readonly signatureWindowMs: number;
  readonly resolve?: Resolver;
  /** Largest relay call read (`webhooks.relayMaxBodyMb`). */
  readonly maxBodyBytes: number;
  /** Relay calls verified and filtered at once (`webhooks.relayConcurrency`); beyond, 503. */
  readonly relayConcurrency: number;
  /** How long a relay call's body may take to arrive (`webhooks.relayReadTimeoutMs`); Ghost sends it at once and gives up after 2 s. */
  readonly readTimeoutMs?: number;
}

/** `close`: the call's body was not read to its end, so the connection is closed once answered. */
export type RelayResult = {
  status: number;
  code?: ErrorCode;
  context?: string;
  key?: { id: string; name: string };
  view?: string;
  close?: true;
};

type Json = Record<string, unknown>;
export type { PreparedWrite };

export class WebhookService {
  private readonly seen = new Map<string, number>();
  /** Relay calls being verified and filtered now. */
  private inFlight = 0;
  private readonly grants = new WeakMap<object, CompiledGrant>();

  constructor(private readonly o: WebhookServiceOptions) {}

  /** A webhook write through the proxy (writes.ts). */
  prepareWrite(w: WebhookWrite, key: KeyRecord, now: number, unchanged: unknown): Promise<PreparedWrite> {
    return prepareWrite(this.o, w, key, now, unchanged);
  }

  // ---- the relay: Ghost calls it --------------------------------------------------------------

  isRelayPath(url: string | undefined): boolean {
    return (url ?? '').startsWith(RELAY_PATH);
  }

  async relay(req: IncomingMessage, now: number): Promise<RelayResult> {
    const relayId = (req.url ?? '').slice(RELAY_PATH.length).replace(/\/$/, '');
    if (req.method !== 'POST' || !RELAY_ID.test(relayId))
      return { status: 403, code: 'ROUTE_UNKNOWN', context: 'the relay takes POST /ghostgate/webhooks/relay/<id>' };
    // CASE: no well-formed signature header: refused before the body is read (a caller without one is not Ghost).
    const header = req.headers['x-ghost-signature'];
    if (typeof header !== 'string' || !SIGNATURE_FORMAT.test(header))
      return { status: 401, code: 'WEBHOOK_SIGNATURE_INVALID', context: 'no well-formed X-Ghost-Signature header' };
    // CASE: the body's size and the relay's load are judged before a byte of it is read: Ghost sends
    // Content-Length (got, with a string body), so a call without a declared length is not Ghost's.
    const length = req.headers['content-length'];
    const chunked = /(^|,)\s*chunked\s*$/i.test(req.headers['transfer-encoding'] ?? '');
    if (length === undefined && !chunked)
      return { status: 411, code: 'WEBHOOK_LENGTH_REQUIRED', context: 'no Content-Length and not chunked' };
    const limit = this.o.maxBodyBytes;
    if (length !== undefined && !(Number(length) <= limit))
      return { status: 413, code: 'BODY_TOO_LARGE', context: 'the delivery is larger than the relay reads (webhooks.relayMaxBodyMb)' };
    // CASE: the relay id is a 128-bit secret only Ghost and the gateway hold: a call naming no relay the gateway
    // knows is answered before its body is read or a slot is taken, so slow bodies cannot tie up the relay
    // without it (410: Ghost removes a webhook so answered; an unknown id has nothing to remove).
    const known = await this.o.store.webhooks.get(relayId);
    if (!known) return { status: 410, code: 'WEBHOOK_RETIRED', context: 'no such relayed webhook' };
    if (this.inFlight >= this.o.relayConcurrency)
      return {
        status: 503,
        code: 'WEBHOOK_RELAY_BUSY',
        context: `${this.inFlight} deliveries are being checked (webhooks.relayConcurrency)`,
      };
    this.inFlight++;
    try {
      return await this.checkAndQueue(req, relayId, limit, now);
    } finally {
      this.inFlight--;
    }
  }

  /** Verifies a relay call, judges it by the creating key's grant and queues the delivery. */
  private async checkAndQueue(req: IncomingMessage, relayId: string, limit: number, now: number): Promise<RelayResult> {
    const raw = await readBody(req, limit, this.o.readTimeoutMs ?? 5000);
    if (raw === 'timeout')
      return {
        status: 408,
        code: 'WEBHOOK_BODY_TIMEOUT',
        context: 'the body did not arrive in time (webhooks.relayReadTimeoutMs)',
        close: true,
      };
    if (raw === 'aborted')
      return {
        status: 400,
        code: 'WEBHOOK_BODY_TIMEOUT',
        context: 'the caller closed the connection before the body arrived',
        close: true,
      };
    if (!raw)
      return {
        status: 413,
        code: 'BODY_TOO_LARGE',
        context: 'the delivery is larger than the relay reads (webhooks.relayMaxBodyMb)',
        close: true,
      };
    // The secret is derived from the relay id, so even a relay the gateway forgot can tell Ghost from anyone else.
    const sig = verifySignature(req.headers['x-ghost-signature'], raw, this.o.secrets.relaySecret(relayId), now, this.o.signatureWindowMs);
    if (!sig.ok) return { status: 401, code: sig.code, context: sig.why };
    const row = await this.o.store.webhooks.get(relayId);
    if (!row || row.status === 'retired')
      return { status: 410, code: 'WEBHOOK_RETIRED', context: row?.retiredReason ?? 'no such relayed webhook' };
    const deliveryId = randomUUID();
    const log = (outcome: 'filtered' | 'duplicate' | 'dropped', error: string | null, event: string, view: string | null = null) =>
      this.o.log?.record({
        at: now,
        deliveryId,
        relayId,
        ghostId: row.ghostId,
        keyId: row.keyId,
        event,
        attempt: 0,
        outcome,
        status: null,
        latencyMs: null,
        error,
        view,
      });

    const replay = `${relayId}:${sig.digest}`;
    this.forgetOld(now);
    if (this.seen.has(replay)) {
      log('duplicate', null, row.event);
      return { status: 200, key: { id: row.keyId, name: '' } };
    }
    const { state, key } = await keyState(this.o.store, row.keyId, now);
    if (state !== 'active' || !key) {
      void this.retire(row, state === 'stopped' ? 'key expired (webhooks: stop)' : 'key revoked', now);
      return {
        status: 410,
        code: 'WEBHOOK_RETIRED',
        context: `the key that created this webhook is ${state}`,
        key: { id: row.keyId, name: '' },
      };
    }
    this.seen.set(replay, sig.t + this.o.signatureWindowMs);

    let payload: Json | null; // JSON.parse may give null, or a number or string (which have no .event)
    try {
      payload = JSON.parse(raw.toString('utf8')) as Json | null;
    } catch {
      log('filtered', 'BODY_INVALID', row.event);
      return { status: 204, key: { id: key.id, name: key.name } };
    }
    const event = payload?.event;
    if (!isWebhookEvent(event)) {
      log('filtered', 'EVENT_UNKNOWN', row.event);
      return { status: 204, key: { id: key.id, name: key.name } };
    }
    // The grant as it is now: a key that no longer holds the read scope receives nothing.
    const grant = this.grantOf(key);
    if (!eventScopes(event).every((s) => grant.holds(s, s.split(':')[0]!))) {
      log('filtered', 'SCOPE_MISSING', event);
      return { status: 204, key: { id: key.id, name: key.name } };
    }
    const lens = grantLens(key.grant);
    const resource = eventResource(event);
    const owned = resource && lens.needsOwned(resource) ? new Set(await this.o.store.ledger.ids(key.id, resource)) : new Set<string>();
    const out = filterDelivery(event, payload!, lens, owned); // an event was read from it: not null
    if (!out.deliver) {
      log('filtered', 'OUTSIDE_GRANT', event);
      return { status: 204, key: { id: key.id, name: key.name } };
    }
    const target = parseTarget(row.targetUrl);
    if (!target.ok) {
      log('dropped', 'TARGET_INVALID', event, out.view);
      return { status: 204, key: { id: key.id, name: key.name } };
    }
    const ghostHeaders: Record<string, string> = {};
    for (const h of ['content-version', 'user-agent'] as const) {
      const v = req.headers[h];
      if (typeof v === 'string') ghostHeaders[h] = v;
    }
    const queued = this.o.queue.enqueue({
      deliveryId,
      relayId,
      ghostId: row.ghostId,
      keyId: key.id,
      rootKeyId: await rootKeyId(this.o.store, key.id),
      event,
      url: target.url,
      body: JSON.stringify(out.payload),
      secret: row.secretSealed ? this.o.secrets.openClientSecret(relayId, row.secretSealed) : null,
      ghostHeaders,
      view: out.view,
    });
    if (!queued) {
      this.seen.delete(replay);
      log('dropped', 'QUEUE_FULL', event, out.view);
      return { status: 503, code: 'WEBHOOK_QUEUE_FULL', context: 'too many deliveries are waiting', key: { id: key.id, name: key.name } };
    }
    return { status: 202, key: { id: key.id, name: key.name }, view: out.view };
  }

  /** Asked before every delivery attempt. */
  async stillWanted(keyId: string, relayId: string, now: number): Promise<boolean> {
    const row = await this.o.store.webhooks.get(relayId);
    if (!row || row.status === 'retired') return false;
    const { state } = await keyState(this.o.store, keyId, now);
    if (state !== 'active') void this.retire(row, state === 'stopped' ? 'key expired (webhooks: stop)' : 'key revoked', now);
    return state === 'active';
  }

  /** The client answered 410: remove the webhook, as Ghost does. */
  async gone(relayId: string, now: number): Promise<void> {
    const row = await this.o.store.webhooks.get(relayId);
    if (row) await this.retire(row, 'the target answered 410', now);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Retires the relay (deliveries stop at once) and removes the webhook from Ghost. */
  retire(row: RelayRecord, reason: string, now: number): Promise<{ retired: boolean; removedFromGhost: boolean }> {
    return retireRelay(this.o.store, this.o.ghost, row, reason, now, this.removalFailed(row));
  }

  private removalFailed(row: RelayRecord): (err: Error) => void {
    return (err) => {
      this.o.logger.warn(
        { webhook: row.ghostId, err: { message: err.message } },
        'retired webhook not yet removed from Ghost; the sweep retries',
      );
    };
  }

  /**
   * Retires the webhooks of keys that were revoked, or expired with `webhooks: stop`, and retries
   * removing from Ghost every retired webhook Ghost has not confirmed gone (lifecycle.ts).
   */
  async sweep(now: number): Promise<number> {
    let n = 0;
    for (const row of await this.o.store.webhooks.list()) {
      if (row.status === 'retired') {
        if (row.ghostRemovedAt === null || row.secretSealed !== null)
          await removeFromGhost(this.o.store, this.o.ghost, row, now, this.removalFailed(row));
        continue;
      }
      // CASE: a creation Ghost never answered leaves a pending row; its webhook, if any, gets 410 from the relay.
      if (row.status === 'pending') {
        if (now - row.createdAt > 10 * 60_000) await this.o.store.webhooks.discard(row.id);
        continue;
      }
      const { state } = await keyState(this.o.store, row.keyId, now);
      if (state !== 'active') {
        await this.retire(row, state === 'stopped' ? 'key expired (webhooks: stop)' : 'key revoked', now);
        n++;
      }
    }
    return n;
  }

  private grantOf(key: KeyRecord): CompiledGrant {
    let g = this.grants.get(key.grant);
    if (!g) this.grants.set(key.grant, (g = compileGrant(key.grant)));
    return g;
  }

  private forgetOld(now: number): void {
    for (const [k, until] of this.seen) {
      if (until > now - this.o.signatureWindowMs) break;
      this.seen.delete(k);
    }
    if (this.seen.size > 100_000) this.seen.clear();
  }
}

/**
 * The body, unless it is over `limit` (undefined), does not arrive within `timeoutMs` ('timeout') or the
 * caller hangs up first ('aborted'). Reading stops at once in each case; the caller answers (and closes).
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer | undefined | 'timeout' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (v: Buffer | undefined | 'timeout' | 'aborted') => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onClose);
      req.pause();
      resolve(v);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) done(undefined);
      else chunks.push(c);
    };
    const onEnd = () => {
      done(Buffer.concat(chunks));
    };
    const onAborted = () => {
      done('aborted');
    };
    const onClose = () => {
      if (!req.complete) done('aborted');
    };
    const timer = setTimeout(() => {
      done('timeout');
    }, timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onClose);
  });
}

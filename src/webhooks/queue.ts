import type { DeliveryLog } from '../store/deliveries.js';
import type { Sender, SendResult } from './send.js';
import { signatureHeader } from './signature.js';

/**
 * Deliveries to clients, off the request path: the relay answers Ghost as soon
 * as a delivery is queued. Fair between keys: each root key's family has its
 * own line, served in turn, with at most `concurrencyPerKey` deliveries in
 * flight and `maxQueuePerKey` queued, so one key's slow or failing target
 * cannot starve the others. Up to `concurrency` at once; each is tried once and
 * retried `retries` times (5, as Ghost asks of its HTTP client) with
 * exponential backoff (backoffMs x 2^(n-1) plus up to 100 ms of noise, got's
 * formula), honouring a Retry-After of up to a minute. What is retried:
 * network errors, timeouts, 408, 429 and 5xx. A 410 removes the webhook, as
 * Ghost does (webhook-trigger.js onError); any other answer ends the delivery.
 * (Ghost's own webhook POSTs are in fact never retried: got retries only
 * idempotent methods; queue.test.ts shows it with Ghost's got.)
 *
 * Each attempt is signed anew with the client's secret and the time of that
 * attempt, so a receiver's replay window holds for retries too. Before each
 * attempt the key is asked again: a revoked key's deliveries stop there.
 */
export interface DeliveryJob {
  readonly deliveryId: string;
  readonly relayId: string;
  readonly ghostId: string | null;
  readonly keyId: string;
  /** The root key of the creating key's family: its line in the queue. */
  readonly rootKeyId: string;
  readonly event: string;
  readonly url: URL;
  readonly body: string;
  /** The client's secret, in memory only; null or '': unsigned, as Ghost does. */
  readonly secret: string | null;
  /** Ghost's Content-Version and User-Agent, passed on as Ghost sent them. */
  readonly ghostHeaders: Readonly<Record<string, string>>;
  readonly view: string;
}

export interface QueueOptions {
  readonly sender: Sender;
  readonly log?: DeliveryLog;
  /** Is the delivery still wanted (key active, not stopped)? Asked before every attempt. */
  readonly stillWanted: (job: DeliveryJob) => Promise<boolean>;
  /** The client answered 410. */
  readonly gone: (job: DeliveryJob) => Promise<void>;
  readonly retries: number;
  readonly backoffMs: number;
  readonly concurrency: number;
  readonly maxQueue: number;
  /** In flight at once for one root key's family. */
  readonly concurrencyPerKey: number;
  /** Queued, waiting for a retry or in flight for one root key's family. */
  readonly maxQueuePerKey: number;
  readonly now?: () => number;
  readonly onError?: (err: Error) => void;
}

interface Pending {
  job: DeliveryJob;
  attempt: number;
}

const RETRY_STATUS = (s: number) => s === 408 || s === 429 || (s >= 500 && s < 600);
const NOT_RETRIED_ERRORS = new Set(['TARGET_PRIVATE', 'ENOTFOUND', 'ERR_INVALID_URL']);

export class DeliveryQueue {
  /** Ready deliveries, one line per root key, in the order the lines take their turns. */
  private readonly ready = new Map<string, Pending[]>();
  private readyCount = 0;
  private readonly waiting = new Map<NodeJS.Timeout, Pending>();
  private active = 0;
  private readonly activeBy = new Map<string, number>();
  /** Per root key: queued, waiting and in flight. */
  private readonly countBy = new Map<string, number>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly o: QueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Deliveries queued, waiting for a retry, or in flight. */
  get size(): number {
    return this.readyCount + this.waiting.size + this.active;
  }

  /** False when the queue, or this key family's line, is full or closed: the caller answers Ghost 503 and logs the drop. */
  enqueue(job: DeliveryJob): boolean {
    if (this.closed || this.size >= this.o.maxQueue || (this.countBy.get(job.rootKeyId) ?? 0) >= this.o.maxQueuePerKey) return false;
    bump(this.countBy, job.rootKeyId, 1);
    this.push({ job, attempt: 1 });
    this.pump();
    return true;
  }

  private push(p: Pending): void {
    const line = this.ready.get(p.job.rootKeyId);
    if (line) line.push(p);
    else this.ready.set(p.job.rootKeyId, [p]);
    this.readyCount++;
  }

  /** The next delivery: from the first line in turn with a free slot; that line then goes to the back. */
  private next(): Pending | undefined {
    for (const [root, line] of this.ready) {
      if ((this.activeBy.get(root) ?? 0) >= this.o.concurrencyPerKey) continue;
      const p = line.shift()!;
      this.ready.delete(root);
      if (line.length > 0) this.ready.set(root, line);
      this.readyCount--;
      return p;
    }
    return undefined;
  }

  /** Resolves when nothing is queued, waiting or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: deliveries waiting for a retry are logged as dropped; those in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [t, p] of this.waiting) {
      clearTimeout(t);
      this.logAttempt(p, 'dropped', null, 'SHUTDOWN');
    }
    this.waiting.clear();
    for (const line of this.ready.values()) for (const p of line) this.logAttempt(p, 'dropped', null, 'SHUTDOWN');
    this.ready.clear();
    this.readyCount = 0;
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.o.concurrency) {
      const p = this.next();
      if (!p) return;
      const root = p.job.rootKeyId;
      this.active++;
      bump(this.activeBy, root, 1);
      let retried = false;
      void this.attempt(p)
        .then((r) => (retried = r))
        .catch((err: unknown) => this.o.onError?.(err as Error))
        .finally(() => {
          this.active--;
          bump(this.activeBy, root, -1);
          if (!retried) bump(this.countBy, root, -1);
          this.pump();
          if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }

  private logAttempt(p: Pending, outcome: Parameters<DeliveryLog['record']>[0]['outcome'], r: SendResult | null, error?: string): void {
    this.o.log?.record({
      at: this.now(),
      deliveryId: p.job.deliveryId,
      relayId: p.job.relayId,
      ghostId: p.job.ghostId,
      keyId: p.job.keyId,
      event: p.job.event,
      attempt: p.attempt,
      outcome,
      status: r?.status ?? null,
      latencyMs: r?.latencyMs ?? null,
      error: error ?? r?.error ?? null,
      view: p.job.view,
    });
  }

  /** One attempt; true when a retry is scheduled (the delivery keeps its place in its line's count). */
  private async attempt(p: Pending): Promise<boolean> {
    const { job } = p;
    if (!(await this.o.stillWanted(job))) return this.end(p, 'cancelled', null, 'KEY_INACTIVE');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(job.body)),
      ...job.ghostHeaders,
    };
    if (job.secret) headers['x-ghost-signature'] = signatureHeader(job.secret, job.body, this.now());
    const r = await this.o.sender.send(job.url, job.body, headers);
    if (r.status !== null && r.status >= 200 && r.status < 300) return this.end(p, 'delivered', r);
    if (r.status === 410) {
      this.logAttempt(p, 'gone', r);
      await this.o.gone(job);
      return false;
    }
    const retryable = r.status === null ? !NOT_RETRIED_ERRORS.has(r.error ?? '') : RETRY_STATUS(r.status);
    if (!retryable || p.attempt > this.o.retries || this.closed)
      return this.end(p, 'failed', r, r.status !== null ? `HTTP_${r.status}` : undefined);
    this.logAttempt(p, 'retrying', r, r.status !== null ? `HTTP_${r.status}` : undefined);
    let delay = this.o.backoffMs * 2 ** (p.attempt - 1) + Math.random() * 100;
    if (r.retryAfterMs !== undefined && r.retryAfterMs <= 60_000) delay = Math.max(delay, r.retryAfterMs);
    const next: Pending = { job, attempt: p.attempt + 1 };
    const t = setTimeout(() => {
      this.waiting.delete(t);
      this.push(next);
      this.pump();
    }, delay);
    t.unref();
    this.waiting.set(t, next);
    return true;
  }

  private end(p: Pending, outcome: Parameters<DeliveryLog['record']>[0]['outcome'], r: SendResult | null, error?: string): false {
    this.logAttempt(p, outcome, r, error);
    return false;
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

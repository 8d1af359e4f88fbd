import type { DeliveryLog } from '../store/deliveries.js';
import type { Sender, SendResult } from './send.js';
import { signatureHeader } from './signature.js';

/**
 * Deliveries to clients, off the request path: the relay answers Ghost as soon
 * as a delivery is queued. Up to `concurrency` at once; each is tried once and
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
  private readonly ready: Pending[] = [];
  private readonly waiting = new Map<NodeJS.Timeout, Pending>();
  private active = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly o: QueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Deliveries queued, waiting for a retry, or in flight. */
  get size(): number {
    return this.ready.length + this.waiting.size + this.active;
  }

  /** False when the queue is full or closed: the caller answers Ghost 503 and logs the drop. */
  enqueue(job: DeliveryJob): boolean {
    if (this.closed || this.size >= this.o.maxQueue) return false;
    this.ready.push({ job, attempt: 1 });
    this.pump();
    return true;
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
    for (const p of this.ready.splice(0)) this.logAttempt(p, 'dropped', null, 'SHUTDOWN');
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.o.concurrency && this.ready.length > 0) {
      const p = this.ready.shift()!;
      this.active++;
      void this.attempt(p)
        .catch((err: unknown) => this.o.onError?.(err as Error))
        .finally(() => {
          this.active--;
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

  private async attempt(p: Pending): Promise<void> {
    const { job } = p;
    if (!(await this.o.stillWanted(job))) return this.logAttempt(p, 'cancelled', null, 'KEY_INACTIVE');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(job.body)),
      ...job.ghostHeaders,
    };
    if (job.secret) headers['x-ghost-signature'] = signatureHeader(job.secret, job.body, this.now());
    const r = await this.o.sender.send(job.url, job.body, headers);
    if (r.status !== null && r.status >= 200 && r.status < 300) return this.logAttempt(p, 'delivered', r);
    if (r.status === 410) {
      this.logAttempt(p, 'gone', r);
      return this.o.gone(job);
    }
    const retryable = r.status === null ? !NOT_RETRIED_ERRORS.has(r.error ?? '') : RETRY_STATUS(r.status);
    if (!retryable || p.attempt > this.o.retries || this.closed) return this.logAttempt(p, 'failed', r, r.status !== null ? `HTTP_${r.status}` : undefined);
    this.logAttempt(p, 'retrying', r, r.status !== null ? `HTTP_${r.status}` : undefined);
    let delay = this.o.backoffMs * 2 ** (p.attempt - 1) + Math.random() * 100;
    if (r.retryAfterMs !== undefined && r.retryAfterMs <= 60_000) delay = Math.max(delay, r.retryAfterMs);
    const next: Pending = { job, attempt: p.attempt + 1 };
    const t = setTimeout(() => {
      this.waiting.delete(t);
      this.ready.push(next);
      this.pump();
    }, delay);
    t.unref();
    this.waiting.set(t, next);
  }
}

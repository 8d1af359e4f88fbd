import type pg from 'pg';
import type { KeyRecord } from '../store.js';
import { newClient } from './pg-pool.js';

/**
 * The key cache of one replica, kept true to the database without a query per
 * request: every change to a key that matters to a request fires a trigger
 * (pg-migrations.ts) that NOTIFYs `ghostgate_keys` and bumps key_version.
 *
 * - NOTIFY: the listening connection drops the changed key at once (a few ms).
 * - Backstop: every `pollMs` the version is read; a change the listener missed
 *   clears the cache. NOTIFY is lost while the listener is disconnected, so a
 *   reconnect also clears everything (a full reload).
 * - Fail closed: the cache answers only while the last poll that succeeded
 *   started less than 2 × pollMs ago (1 s by default); after that every get()
 *   reads the database, and fails when the database cannot be read.
 *
 * A read that raced a change is not cached: each change bumps `epoch`, and a
 * row read under an older epoch is returned but not kept.
 */
export interface KeyWatchOptions {
  readonly url: string;
  readonly pollMs: number;
  /** Called with a failure of the listener or the backstop (the cache is cleared either way). */
  readonly onError?: (err: Error) => void;
  /** Tests: no listener, the backstop alone. */
  readonly listen?: boolean;
}

export class KeyWatch {
  private readonly cache = new Map<string, KeyRecord | undefined>();
  private epoch = 0;
  private version: number | undefined;
  private confirmedAt = 0;
  private listener: pg.Client | undefined;
  private poller: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private closed = false;
  private schema = '';

  constructor(
    private readonly pool: pg.Pool,
    private readonly o: KeyWatchOptions,
  ) {}

  async start(): Promise<void> {
    this.schema = (await this.pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    if (this.o.listen !== false) await this.listen();
    await this.poll();
    this.poller = setInterval(() => void this.poll(), this.o.pollMs);
    this.poller.unref();
  }

  /** A cached answer, or a miss (`hit: false`). */
  lookup(id: string, now = Date.now()): { hit: true; key: KeyRecord | undefined } | { hit: false; epoch: number } {
    if (now - this.confirmedAt > 2 * this.o.pollMs) this.invalidate();
    else if (this.cache.has(id)) return { hit: true, key: this.cache.get(id) };
    return { hit: false, epoch: this.epoch };
  }

  /** Keeps a row read from the database, unless a change came in since the read began. */
  keep(id: string, key: KeyRecord | undefined, epoch: number): void {
    if (epoch !== this.epoch || Date.now() - this.confirmedAt > 2 * this.o.pollMs) return;
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(id, key);
  }

  /** Drops one key (or every key): after a write through this store, a notification, a missed change. */
  invalidate(id?: string): void {
    this.epoch++;
    if (id === undefined) this.cache.clear();
    else this.cache.delete(id);
  }

  private async poll(): Promise<void> {
    const started = Date.now();
    try {
      const v = (await this.pool.query<{ version: number }>('SELECT version FROM key_version')).rows[0]!.version;
      if (v !== this.version) {
        this.version = v;
        this.invalidate();
      }
      this.confirmedAt = Math.max(this.confirmedAt, started);
    } catch (err) {
      this.invalidate();
      this.o.onError?.(err as Error);
    }
  }

  private async listen(): Promise<void> {
    const client = newClient(this.o.url);
    client.on('notification', (m) => {
      if (m.channel !== 'ghostgate_keys' || !m.payload) return;
      const [schema, id] = m.payload.split(' ');
      if (schema === this.schema) this.invalidate(id);
    });
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.invalidate();
      if (err) this.o.onError?.(err);
      void client.end().catch(() => {});
      this.scheduleReconnect(100);
    };
    client.on('error', lost);
    client.on('end', () => {
      lost();
    });
    await client.connect();
    await client.query('LISTEN ghostgate_keys');
    this.listener = client;
    // Whatever changed while no one listened: reload everything.
    this.invalidate();
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.closed || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      if (this.closed) return;
      this.listen().catch((err: unknown) => {
        this.o.onError?.(err as Error);
        this.scheduleReconnect(Math.min(delayMs * 2, 5000));
      });
    }, delayMs);
    this.reconnect.unref();
  }

  /** For tests: the listening connection breaks (as on a database restart or a network cut). */
  dropListener(): void {
    const c = this.listener;
    if (c) c.emit('error', new Error('listener connection lost (test)'));
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    if (this.reconnect) clearTimeout(this.reconnect);
    const c = this.listener;
    this.listener = undefined;
    await c?.end().catch(() => {});
  }
}

import type { AuditStore, SignedHead } from '../../store/audit.js';
import { chainedRows, entryText, genesis, signHead, type AuditEntry } from './record.js';

export { signHead };

/**
 * The audit writer: group commit, on a chain of its own. Records are
 * buffered and written in one transaction per batch; a batch is written when
 * it reaches `maxBatch`, after `flushMs` at most, or at once when an intent
 * is waiting. An intent's promise resolves only when its batch is committed
 * (durably: SQLite's synchronous=FULL, PostgreSQL's commit), so a mutating request is forwarded only once its intent
 * record is durable. After each batch the signed head is handed to `anchor`
 * (kept in the key store, outside the audit file).
 *
 * Each writer (gateway process) starts a new chain, so writers never share a
 * chain position. When a batch cannot be written, `available` turns false
 * until one can; records other than intents are kept (up to a bound) and
 * written with the next batch, so a short outage loses no record.
 */
export interface AuditOptions {
  readonly flushMs: number;
  readonly maxBatch: number;
  /** The chain this writer appends to: new for each writer (a random id). */
  readonly chain: string;
  /** Records kept in memory while the audit cannot be written; beyond it they are dropped (counted). */
  readonly maxBacklog?: number;
}

export interface AuditHooks {
  readonly onError?: (err: Error) => void;
  /** Called with the signed head after each committed batch. */
  readonly anchor?: (head: SignedHead) => void;
}

/**
 * A record waiting for its batch, as its entry text (`entryText`): a string holds nothing for the
 * collector to trace while it waits. An intent's `done` settles when the batch is in the file (or is
 * refused).
 */
interface Pending {
  readonly text: string;
  readonly done?: { resolve: () => void; reject: (e: Error) => void };
}

export class AuditLog {
  private pending: Pending[] = [];
  /**
   * The head of what is committed. A batch is chained from it when it is written, by the audit file's
   * adapter (`appendEntries`: the SQLite file's writer thread, off the event loop); records are not
   * chained as they arrive: an HMAC per request on the event loop cost about a fifth of the full
   * pipeline's throughput (docs/benchmarks.md).
   */
  private seq = 0;
  private hash: string;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The batches, one after the other: a chain's next batch starts from the head the last one committed. */
  private writing: Promise<void> = Promise.resolve();
  private probing: Promise<boolean> | undefined;
  /** Records dropped because the store failed for longer than the backlog holds (intents fail their request instead). */
  dropped = 0;
  written = 0;
  /** False from a failed batch until a batch is written again. */
  available = true;
  private lastFailure = 0;
  private closed = false;
  readonly chain: string;

  private constructor(
    private readonly store: AuditStore,
    private readonly key: Buffer,
    private readonly opts: AuditOptions,
    private readonly hooks: AuditHooks,
  ) {
    this.chain = opts.chain;
    this.hash = genesis(key, opts.chain);
  }

  /** A writer on a new chain; rejects when the file knows the chain already (a chain has one writer). */
  static async open(store: AuditStore, key: Buffer, opts: AuditOptions, hooks: AuditHooks = {}): Promise<AuditLog> {
    if ((await store.head(opts.chain)) || (await store.checkpoint(opts.chain)))
      throw new Error(`the audit chain ${opts.chain} exists already: a writer starts a new chain`);
    return new AuditLog(store, key, opts, hooks);
  }

  /**
   * Whether records can be written now. While they cannot, a write is tried
   * again at most once per `flushMs` (records kept from the outage first), so
   * the gateway recovers by itself within that window without a probe per
   * request; callers arriving while that try runs share it.
   */
  async ready(now = Date.now()): Promise<boolean> {
    if (this.available || now - this.lastFailure < this.opts.flushMs) return this.available;
    return (this.probing ??= (async () => {
      try {
        // A batch being written decides first: its records are out of `pending` while it is in flight, and
        // a probe that succeeded meanwhile (a write that needs no new page, on a file that is full) would
        // let requests through whose records cannot be written.
        await this.writing;
        if (this.available) return true;
        if (this.pending.length > 0) await this.flush();
        else {
          try {
            await this.store.probeWrite(now);
            this.available = true;
          } catch {
            this.lastFailure = now;
          }
        }
        return this.available;
      } finally {
        this.probing = undefined;
      }
    })());
  }

  /** A record written within `flushMs`. */
  record(entry: AuditEntry): void {
    this.pending.push({ text: entryText(entry) });
    if (this.pending.length >= this.opts.maxBatch) this.flushSoon();
    else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs);
  }

  /** An intent: resolves once it is durable; rejects when the audit cannot be written (fail closed). */
  intent(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ text: entryText(entry), done: { resolve, reject } });
      this.flushSoon();
    });
  }

  private flushSoon(): void {
    // setImmediate lets intents arriving in the same turn share one commit (group commit); intents
    // arriving while a batch is being committed share the next one.
    this.immediate ??= setImmediate(() => void this.flush());
  }

  /** Writes what is pending as one batch, after the batch being written (if any); never rejects. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.writing = this.writing.then(() => this.writeBatch());
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const texts = batch.map((p) => p.text);
    const from = { seq: this.seq, hash: this.hash };
    let head: SignedHead;
    try {
      head = await this.store.appendEntries(this.chain, from, texts, this.key);
    } catch (err) {
      // CASE: the batch was committed and only its answer was lost (a writer thread or a database connection
      // that died after the commit): the file's head is this batch's. Counted as written, or every later
      // batch would collide with its rows and the trail would stay unavailable until a restart.
      const stored = await this.store.head(this.chain).catch(() => undefined);
      if (stored?.seq === from.seq + texts.length) {
        // The batch chained again on this thread to compare heads: an HMAC per record, on a rare path (a batch
        // after an outage may hold the whole backlog: about 7 µs a record, so up to 0.7 s for 100,000).
        const expected = chainedRows(this.key, this.chain, from, texts).head;
        if (stored.hash === expected.hash) {
          this.settled(batch, texts.length, expected);
          return;
        }
      }
      this.available = false;
      this.lastFailure = Date.now();
      for (const p of batch) p.done?.reject(err as Error);
      // Keep the other records for the next batch (their requests were answered already); the next batch
      // chains them, and those that came while this one was out, from the committed head.
      const kept = batch.filter((p) => !p.done);
      const room = Math.max(0, (this.opts.maxBacklog ?? 100_000) - this.pending.length);
      this.dropped += Math.max(0, kept.length - room);
      this.pending = [...kept.slice(0, room), ...this.pending];
      // Once closed (the store is closed next), nothing is retried: the records still pending are counted as dropped.
      if (this.closed) {
        this.dropped += this.pending.length;
        this.pending = [];
      } else if (this.pending.length > 0) this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs);
      this.hooks.onError?.(err as Error);
      return;
    }
    this.settled(batch, texts.length, head);
  }

  /** A batch is in the file: the chain moves on to its head, and its intents resolve. */
  private settled(batch: readonly Pending[], rows: number, head: SignedHead): void {
    this.seq = head.seq;
    this.hash = head.hash;
    this.written += rows;
    this.available = true;
    for (const p of batch) p.done?.resolve();
    this.hooks.anchor?.(head);
  }

  /** Writes what is pending, once; a writer closed on a failing store drops the rest rather than retry forever. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

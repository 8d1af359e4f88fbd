import { createHmac } from 'node:crypto';
import type { AuditStore, SignedHead } from '../../store/sqlite/sqlite-audit.js';
import { chainHash, GENESIS, type AuditEntry, type AuditRow } from './record.js';

/**
 * The audit writer: group commit. Records are buffered and written in one
 * transaction per batch; a batch is written when it reaches `maxBatch`, after
 * `flushMs` at most, or at once when an intent is waiting. An intent's
 * promise resolves only when its batch is committed (synchronous=FULL), so a
 * mutating request is forwarded only once its intent record is durable.
 */
export interface AuditOptions {
  readonly flushMs: number;
  readonly maxBatch: number;
}

export class AuditLog {
  private pending: { entry: AuditEntry; done?: { resolve: () => void; reject: (e: Error) => void } }[] = [];
  private seq: number;
  private hash: string;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Records dropped because the store failed (reads and refusals only; intents fail their request). */
  dropped = 0;
  written = 0;

  constructor(
    private readonly store: AuditStore,
    private readonly key: Buffer,
    private readonly opts: AuditOptions,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    const head = store.head();
    if (head && signHead(key, head.seq, head.hash) !== head.signature) throw new Error('the audit head signature does not verify: the audit file was changed outside ghostgate (run `ghostgate audit verify`)');
    this.seq = head?.seq ?? store.checkpoint()?.seq ?? 0;
    this.hash = head?.hash ?? store.checkpoint()?.hash ?? GENESIS;
  }

  /** A record written within `flushMs`. */
  record(entry: AuditEntry): void {
    this.pending.push({ entry });
    if (this.pending.length >= this.opts.maxBatch) this.flushSoon();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
  }

  /** An intent: resolves once it is durable; rejects when the audit cannot be written (fail closed). */
  intent(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, done: { resolve, reject } });
      this.flushSoon();
    });
  }

  private flushSoon(): void {
    // setImmediate lets intents arriving in the same turn share one commit (group commit).
    this.immediate ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const rows: AuditRow[] = [];
    let seq = this.seq;
    let hash = this.hash;
    for (const { entry } of batch) {
      seq++;
      const h = chainHash(this.key, hash, seq, entry);
      rows.push({ ...entry, seq, prevHash: hash, hash: h });
      hash = h;
    }
    try {
      const head: SignedHead = { seq, hash, signature: signHead(this.key, seq, hash) };
      this.store.append(rows, head);
      this.seq = seq;
      this.hash = hash;
      this.written += rows.length;
      for (const p of batch) p.done?.resolve();
    } catch (err) {
      for (const p of batch) p.done?.reject(err as Error);
      this.dropped += batch.filter((p) => !p.done).length;
      this.onError(err as Error);
    }
  }

  close(): void {
    this.flush();
  }
}

export function signHead(key: Buffer, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`head\n${seq}\n${hash}`).digest('hex');
}

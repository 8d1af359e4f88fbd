import { createHmac } from 'node:crypto';
import type { AuditEntry, AuditRow, ChainPosition, SignedHead } from './audit.js';

/**
 * The audit chain's format, beside the port (audit.ts) so that both the
 * pipeline's writer (pipeline/audit/) and the adapters that chain a batch
 * where they write it (sqlite/sqlite-audit-writer.ts) follow one definition.
 */
export const FIELDS: (keyof AuditEntry)[] = [
  'at',
  'requestId',
  'kind',
  'keyId',
  'keyName',
  'clientIp',
  'method',
  'route',
  'resource',
  'action',
  'decision',
  'code',
  'status',
  'latencyMs',
  'bytesIn',
  'bytesOut',
];

/**
 * An entry's fields as the JSON text its hash covers, without its place in the chain: every field in a
 * fixed order, `detail` only when present. A record is kept in this form from the moment it is
 * recorded (a string holds no references for the collector to trace) until its batch is chained and
 * written (`chainTexts`).
 */
export function entryText(e: AuditEntry): string {
  const values: unknown[] = FIELDS.map((f) => e[f] ?? null);
  if (e.detail !== undefined && e.detail !== null) values.push(e.detail);
  return JSON.stringify(values);
}

/** The values an entry's text binds to the audit table's columns: every field, then `detail` (null when absent). */
export const AUDIT_WIDTH = FIELDS.length + 1;

/*
 * The chain's format, in three self-contained functions (each is given the HMAC constructor, and calls
 * only the others): the SQLite writer thread runs their very source (sqlite/sqlite-audit-writer.ts), so the
 * rows it chains and the rows `verifyChain` checks follow one definition. Keep them so: no import, no
 * helper, nothing a compiler would lower into a helper (the thread would not have it).
 * test/audit-writer-thread.test.ts checks the thread's rows against these functions run here; it is not
 * among the mutation run's tests, since Stryker's instrumented source of these functions cannot run there.
 */

/** A row's hash: an HMAC over the previous row's hash and the row's sequence number and entry text. */
export function textHash(hmac: typeof createHmac, key: Uint8Array, prevHash: string, seq: number, text: string): string {
  return hmac('sha256', key)
    .update(prevHash)
    .update('\n')
    .update(`[${seq},${text.slice(1)}`)
    .digest('hex');
}

/** A chain's head (its last row's sequence number and hash) signed; the chain '' (rows from before chains) signs as it always did. */
export function headSignature(hmac: typeof createHmac, key: Uint8Array, chain: string, seq: number, hash: string): string {
  return hmac('sha256', key)
    .update(chain === '' ? `head\n${seq}\n${hash}` : `head\n${chain}\n${seq}\n${hash}`)
    .digest('hex');
}

/**
 * One batch chained after the chain's committed head `from`: each entry text is given the next sequence
 * number and its hash, and handed to `each` with its column values (`width` of them, `detail` null
 * when absent); returns the batch's signed head.
 */
export function chainTexts(
  hmac: typeof createHmac,
  key: Uint8Array,
  chain: string,
  from: ChainPosition,
  texts: readonly string[],
  width: number,
  each: (values: unknown[], seq: number, prevHash: string, hash: string) => void,
): SignedHead {
  let seq = from.seq;
  let hash = from.hash;
  for (const text of texts) {
    const values = JSON.parse(text) as unknown[];
    // Stryker disable next-line EqualityOperator: one null too many is read by nothing on this thread; the writer thread binds every value and refuses it (test/audit-writer-thread.test.ts)
    while (values.length < width) values.push(null);
    const prevHash = hash;
    seq += 1;
    hash = textHash(hmac, key, prevHash, seq, text);
    each(values, seq, prevHash, hash);
  }
  return { chain, seq, hash, signature: headSignature(hmac, key, chain, seq, hash) };
}

/** A batch's rows as the port's `append` takes them, chained after `from`, and its signed head. */
export function chainedRows(
  key: Buffer,
  chain: string,
  from: ChainPosition,
  texts: readonly string[],
): { rows: AuditRow[]; head: SignedHead } {
  const rows: AuditRow[] = [];
  const head = chainTexts(createHmac, key, chain, from, texts, AUDIT_WIDTH, (values, seq, prevHash, hash) => {
    const row: Record<string, unknown> = { chain, seq, prevHash, hash };
    FIELDS.forEach((f, i) => (row[f] = values[i]));
    if (values[FIELDS.length] !== null) row.detail = values[FIELDS.length];
    rows.push(row as unknown as AuditRow);
  });
  return { rows, head };
}

import { createHmac } from 'node:crypto';

/**
 * The audit record's chain: each row's hash is an HMAC over the previous hash
 * and the row, keyed by a key derived from the master secret, so the database
 * alone can neither forge nor silently edit, delete or reorder rows. The
 * record's shape is the audit port's (src/store/audit.ts).
 */
import type { AuditEntry, AuditRow, Checkpoint } from '../../store/audit.js';
import { entryText, headSignature, textHash } from '../../store/audit-chain.js';

export { AUDIT_DECISIONS } from '../../store/audit.js';
export { AUDIT_WIDTH, chainedRows, entryText } from '../../store/audit-chain.js';
export type { AuditDecision, AuditEntry, AuditKind, AuditRow, Checkpoint } from '../../store/audit.js';

export const GENESIS = '0'.repeat(64);

/** The bytes a row's hash covers: its sequence number and every field, in a fixed order (`detail` only when present). */
export function canonical(seq: number, e: AuditEntry): string {
  return `[${seq},${entryText(e).slice(1)}`;
}

/**
 * Where a chain starts: bound to its id, so rows cannot be moved to another chain. The chain ''
 * (rows written before chains existed) starts at GENESIS and signs as it always did.
 */
export function genesis(key: Buffer, chain: string): string {
  return chain === '' ? GENESIS : createHmac('sha256', key).update(`genesis\n${chain}`).digest('hex');
}

export function signHead(key: Buffer, chain: string, seq: number, hash: string): string {
  return headSignature(createHmac, key, chain, seq, hash);
}

export function chainHash(key: Buffer, prevHash: string, seq: number, e: AuditEntry): string {
  return textHash(createHmac, key, prevHash, seq, entryText(e));
}

export function signCheckpoint(key: Buffer, seq: number, hash: string, at: number, chain = ''): Checkpoint {
  const text = chain === '' ? `checkpoint\n${seq}\n${hash}\n${at}` : `checkpoint\n${chain}\n${seq}\n${hash}\n${at}`;
  return { seq, hash, at, signature: createHmac('sha256', key).update(text).digest('hex') };
}

export function checkpointValid(key: Buffer, c: Checkpoint, chain = ''): boolean {
  return signCheckpoint(key, c.seq, c.hash, c.at, chain).signature === c.signature;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly problems: string[];
}

/** Walks one chain's rows in sequence order and reports every break in it. */
export async function verifyChain(
  key: Buffer,
  rows: Iterable<AuditRow> | AsyncIterable<AuditRow>,
  checkpoint: Checkpoint | undefined,
  chain = '',
): Promise<VerifyResult> {
  const problems: string[] = [];
  let prevSeq = checkpoint?.seq ?? 0;
  let prevHash = checkpoint?.hash ?? genesis(key, chain);
  if (checkpoint && !checkpointValid(key, checkpoint, chain)) problems.push('the checkpoint signature does not verify');
  let n = 0;
  let first: number | null = null;
  for await (const r of rows) {
    n++;
    first ??= r.seq;
    if (r.seq !== prevSeq + 1) problems.push(`row ${r.seq}: expected row ${prevSeq + 1} (rows missing or reordered)`);
    if (r.prevHash !== prevHash) problems.push(`row ${r.seq}: does not chain from the row before it`);
    if (chainHash(key, r.prevHash, r.seq, r) !== r.hash) problems.push(`row ${r.seq}: its content does not match its hash (edited)`);
    prevSeq = r.seq;
    prevHash = r.hash;
    if (problems.length > 50) break;
  }
  return { ok: problems.length === 0, rows: n, firstSeq: first, lastSeq: n > 0 ? prevSeq : null, problems };
}

import { createHmac } from 'node:crypto';

/**
 * One audit record: what was decided for a request, never a secret or a body.
 * Mutating requests that are forwarded leave two rows, an `intent` made
 * durable before Ghost sees the request and an `outcome` after; every other
 * request leaves one `request` row. Rows are chained: each row's hash is an
 * HMAC over the previous hash and the row, keyed by a key derived from the
 * master secret, so the database alone can neither forge nor silently edit,
 * delete or reorder rows.
 */
export type AuditKind = 'request' | 'intent' | 'outcome';
export type AuditDecision = 'allow' | 'deny' | 'error';

export interface AuditEntry {
  readonly at: number;
  readonly requestId: string;
  readonly kind: AuditKind;
  readonly keyId: string | null;
  readonly keyName: string | null;
  readonly clientIp: string | null;
  readonly method: string;
  /** The catalog route (`PUT /posts/:id`), or the raw path's first 120 characters when none matched. */
  readonly route: string;
  readonly resource: string | null;
  readonly action: string | null;
  readonly decision: AuditDecision;
  /** The reason code of a refusal or failure; null when allowed. */
  readonly code: string | null;
  /** Ghost's status, when Ghost answered. */
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
}

export interface AuditRow extends AuditEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS = '0'.repeat(64);
const FIELDS: (keyof AuditEntry)[] = ['at', 'requestId', 'kind', 'keyId', 'keyName', 'clientIp', 'method', 'route', 'resource', 'action', 'decision', 'code', 'status', 'latencyMs', 'bytesIn', 'bytesOut'];

/** The bytes a row's hash covers: its sequence number and every field, in a fixed order. */
export function canonical(seq: number, e: AuditEntry): string {
  return JSON.stringify([seq, ...FIELDS.map((f) => e[f] ?? null)]);
}

export function chainHash(key: Buffer, prevHash: string, seq: number, e: AuditEntry): string {
  return createHmac('sha256', key).update(prevHash).update('\n').update(canonical(seq, e)).digest('hex');
}

export interface Checkpoint {
  /** The last pruned row: the first kept row must chain from it. */
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
  readonly signature: string;
}

export function signCheckpoint(key: Buffer, seq: number, hash: string, at: number): Checkpoint {
  return { seq, hash, at, signature: createHmac('sha256', key).update(`checkpoint\n${seq}\n${hash}\n${at}`).digest('hex') };
}

export function checkpointValid(key: Buffer, c: Checkpoint): boolean {
  return signCheckpoint(key, c.seq, c.hash, c.at).signature === c.signature;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly problems: string[];
}

/** Walks rows in sequence order and reports every break in the chain. */
export function verifyChain(key: Buffer, rows: Iterable<AuditRow>, checkpoint: Checkpoint | undefined): VerifyResult {
  const problems: string[] = [];
  let prevSeq = checkpoint?.seq ?? 0;
  let prevHash = checkpoint?.hash ?? GENESIS;
  if (checkpoint && !checkpointValid(key, checkpoint)) problems.push('the checkpoint signature does not verify');
  let n = 0;
  let first: number | null = null;
  for (const r of rows) {
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

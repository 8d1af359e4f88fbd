/**
 * The audit port: the record's shape and what an audit file offers. The
 * SQLite adapter (sqlite/sqlite-audit.ts) and the PostgreSQL adapter
 * (postgres/pg-audit.ts) implement it; the pipeline's writer, verification
 * and the admin services use only this.
 */
/**
 * One audit record: what was decided for a request, never a secret or a body.
 * Mutating requests that are forwarded leave two rows, an `intent` made
 * durable before Ghost sees the request and an `outcome` after; every other
 * request leaves one `request` row. Rows are chained: each row's hash is an
 * HMAC over the previous hash and the row, keyed by a key derived from the
 * master secret, so the database alone can neither forge nor silently edit,
 * delete or reorder rows.
 */
export type AuditKind = 'request' | 'intent' | 'outcome' | 'discontinuity';
/**
 * `unknown`: a write that may have reached Ghost whose answer never came through (the client hung
 * up, Ghost timed out or the connection broke after sending): Ghost may have done it.
 */
export type AuditDecision = 'allow' | 'deny' | 'error' | 'unknown';
export const AUDIT_DECISIONS: readonly AuditDecision[] = ['allow', 'deny', 'error', 'unknown'];

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
  /** JSON details of a `discontinuity` record (its reason, the chains it acknowledges); absent otherwise. */
  readonly detail?: string | null;
}

export interface AuditRow extends AuditEntry {
  /** The chain the row belongs to: one per gateway process start ('' for rows written before chains). */
  readonly chain: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface Checkpoint {
  /** The last pruned row: the first kept row must chain from it. */
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
  readonly signature: string;
}

export interface AuditQuery {
  readonly keyId?: string;
  readonly since?: number;
  readonly until?: number;
  readonly decision?: AuditDecision;
  readonly code?: string;
  /** Rows written after this position (`pos`, the file's insertion order), for `audit tail --follow`. */
  readonly afterPos?: number;
  readonly chain?: string;
  /** Rows whose route contains this text, in any case. */
  readonly route?: string;
  readonly limit?: number;
  /** The newest `limit` rows that match, rather than the oldest (returned oldest first either way). */
  readonly newest?: boolean;
}

/** A place in a chain: a row's sequence number and hash (the chain's genesis: 0 and the genesis hash). */
export interface ChainPosition {
  readonly seq: number;
  readonly hash: string;
}

export interface SignedHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  readonly signature: string;
}

/**
 * An audit file (a SQLite file, or the audit tables of a PostgreSQL store). Every method is async so
 * that a network database implements it as it is; `rows()` pages through the file rather than holding
 * a cursor (a consumer may await between rows).
 */
export interface AuditStore {
  /** The file's identity, drawn when the file is created: a replaced file has another. */
  readonly fileId: string;
  /** Rows already chained and the chain's new signed head, in one transaction: all or nothing. */
  append(chain: string, rows: readonly AuditRow[], head: SignedHead): Promise<void>;
  /**
   * The audit writer's batch: entries as `entryText` gave them, chained (audit-chain.ts) after the
   * chain's committed head `from` with `key`, written with the chain's new signed head in one
   * transaction, all or nothing; resolves with that head. An adapter chains where it writes (the
   * SQLite file's writer thread) or on the caller's thread (`chainedRows`, then `append`).
   */
  appendEntries(chain: string, from: ChainPosition, texts: readonly string[], key: Buffer): Promise<SignedHead>;
  head(chain: string): Promise<SignedHead | undefined>;
  heads(): Promise<SignedHead[]>;
  /** Every chain the file knows (with rows, a head or a checkpoint). */
  chains(): Promise<string[]>;
  /** One chain's rows in sequence order, or every row in insertion order. */
  rows(chain?: string): AsyncIterableIterator<AuditRow & { pos: number }>;
  query(q: AuditQuery): Promise<(AuditRow & { pos: number })[]>;
  /** The last `n` rows written, in insertion order. */
  tail(n: number): Promise<(AuditRow & { pos: number })[]>;
  /** Rows held, in one chain or in all. */
  count(chain?: string): Promise<number>;
  /** The highest sequence number of a chain's rows in the file. */
  lastSeq(chain: string): Promise<number | undefined>;
  /** The row of a chain at `seq`, if the file holds it. */
  row(chain: string, seq: number): Promise<AuditRow | undefined>;
  /** Deletes a chain's rows up to and including `seq`, keeping `checkpoint` (which names that row). */
  prune(chain: string, seq: number, checkpoint: Checkpoint): Promise<number>;
  checkpoint(chain: string): Promise<Checkpoint | undefined>;
  /** A real write (a committed transaction): rejects when the file cannot be written. */
  probeWrite(at: number): Promise<void>;
  /** For tests of tamper evidence: raw SQL on the audit file (`?` placeholders, as in SQLite). */
  unsafeExec(sql: string, ...params: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/** Rows a `rows()` iterator reads per page. */
export const AUDIT_PAGE = 1000;

import Database from 'better-sqlite3';
import type { AuditDecision, AuditRow, Checkpoint } from '../../pipeline/audit/record.js';

/**
 * The audit trail in its own SQLite file: WAL with synchronous=FULL, so a
 * committed batch survives a crash (intents are forwarded only after commit).
 */
export interface AuditQuery {
  readonly keyId?: string;
  readonly since?: number;
  readonly until?: number;
  readonly decision?: AuditDecision;
  readonly code?: string;
  readonly afterSeq?: number;
  readonly limit?: number;
}

export interface SignedHead {
  readonly seq: number;
  readonly hash: string;
  readonly signature: string;
}

export interface AuditStore {
  append(rows: readonly AuditRow[], head: SignedHead): void;
  head(): SignedHead | undefined;
  rows(): IterableIterator<AuditRow>;
  query(q: AuditQuery): AuditRow[];
  count(): number;
  /** Deletes rows up to and including `seq`, keeping `checkpoint` (which names that row). */
  prune(seq: number, checkpoint: Checkpoint): number;
  checkpoint(): Checkpoint | undefined;
  /** For tests of tamper evidence: raw SQL on the audit file. */
  unsafeExec(sql: string, ...params: unknown[]): void;
  close(): void;
}

const COLUMNS = 'seq, at, request_id, kind, key_id, key_name, client_ip, method, route, resource, action, decision, code, status, latency_ms, bytes_in, bytes_out, prev_hash, hash';

interface Row {
  seq: number; at: number; request_id: string; kind: AuditRow['kind']; key_id: string | null; key_name: string | null; client_ip: string | null;
  method: string; route: string; resource: string | null; action: string | null; decision: AuditDecision; code: string | null;
  status: number | null; latency_ms: number | null; bytes_in: number | null; bytes_out: number | null; prev_hash: string; hash: string;
}

function fromRow(r: Row): AuditRow {
  return {
    seq: r.seq, at: r.at, requestId: r.request_id, kind: r.kind, keyId: r.key_id, keyName: r.key_name, clientIp: r.client_ip, method: r.method,
    route: r.route, resource: r.resource, action: r.action, decision: r.decision, code: r.code, status: r.status, latencyMs: r.latency_ms,
    bytesIn: r.bytes_in, bytesOut: r.bytes_out, prevHash: r.prev_hash, hash: r.hash,
  };
}

export function openSqliteAudit(path: string, opts: { maxSizeMb?: number } = {}): AuditStore {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // better-sqlite3 waits synchronously: a locked audit file must fail fast (the write is then refused), not freeze the gateway.
  db.pragma('busy_timeout = 250');
  // A size cap: when the file is full, writes fail as on a full disk (SQLITE_FULL) until records are pruned.
  if (opts.maxSizeMb !== undefined) db.pragma(`max_page_count = ${Math.max(8, Math.floor((opts.maxSizeMb * 1024 * 1024) / (db.pragma('page_size', { simple: true }) as number)))}`);
  db.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT, key_name TEXT,
      client_ip TEXT, method TEXT NOT NULL, route TEXT NOT NULL, resource TEXT, action TEXT, decision TEXT NOT NULL, code TEXT,
      status INTEGER, latency_ms REAL, bytes_in INTEGER, bytes_out INTEGER, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS audit_key_at ON audit(key_id, at);
    CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
    CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);`);
  const insert = db.prepare(`INSERT INTO audit (${COLUMNS}) VALUES (${COLUMNS.split(', ').map(() => '?').join(', ')})`);
  const setMeta = db.prepare('INSERT INTO audit_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
  const getMeta = db.prepare('SELECT value FROM audit_meta WHERE name = ?').pluck();
  const appendTx = db.transaction((rows: readonly AuditRow[], head: SignedHead) => {
    for (const r of rows) {
      insert.run(r.seq, r.at, r.requestId, r.kind, r.keyId, r.keyName, r.clientIp, r.method, r.route, r.resource, r.action, r.decision, r.code, r.status, r.latencyMs, r.bytesIn, r.bytesOut, r.prevHash, r.hash);
    }
    setMeta.run('head', JSON.stringify(head));
  });
  const meta = <T>(name: string): T | undefined => {
    const v = getMeta.get(name) as string | undefined;
    return v === undefined ? undefined : (JSON.parse(v) as T);
  };
  return {
    append: (rows, head) => appendTx(rows, head),
    head: () => meta<SignedHead>('head'),
    *rows() {
      for (const r of db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY seq`).iterate() as IterableIterator<Row>) yield fromRow(r);
    },
    query(q) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.keyId) (where.push('key_id = ?'), args.push(q.keyId));
      if (q.since !== undefined) (where.push('at >= ?'), args.push(q.since));
      if (q.until !== undefined) (where.push('at < ?'), args.push(q.until));
      if (q.decision) (where.push('decision = ?'), args.push(q.decision));
      if (q.code) (where.push('code = ?'), args.push(q.code));
      if (q.afterSeq !== undefined) (where.push('seq > ?'), args.push(q.afterSeq));
      const sql = `SELECT ${COLUMNS} FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
      return (db.prepare(sql).all(...args, q.limit ?? 1_000_000) as Row[]).map(fromRow);
    },
    count: () => db.prepare('SELECT count(*) FROM audit').pluck().get() as number,
    prune(seq, checkpoint) {
      return db.transaction(() => {
        const n = db.prepare('DELETE FROM audit WHERE seq <= ?').run(seq).changes;
        setMeta.run('checkpoint', JSON.stringify(checkpoint));
        return n;
      })();
    },
    checkpoint: () => meta<Checkpoint>('checkpoint'),
    unsafeExec: (sql, ...params) => void db.prepare(sql).run(...params),
    close: () => db.close(),
  };
}

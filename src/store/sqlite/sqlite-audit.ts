import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AuditDecision, AuditRow, AuditStore, Checkpoint, SignedHead } from '../audit.js';

/**
 * The audit trail in its own SQLite file: WAL with synchronous=FULL, so a
 * committed batch survives a crash (intents are forwarded only after commit).
 * The file holds several chains, one per gateway process start, so that
 * several processes append to one file without sharing a chain position
 * (docs/security.md, "Several processes on one store"). Each chain has its
 * signed head and, once pruned, its signed checkpoint.
 */

const FIELDS =
  'at, request_id, kind, key_id, key_name, client_ip, method, route, resource, action, decision, code, status, latency_ms, bytes_in, bytes_out, detail, prev_hash, hash';
const COLUMNS = `chain, seq, ${FIELDS}`;
const TABLE = `CREATE TABLE audit (
      chain TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT, key_name TEXT,
      client_ip TEXT, method TEXT NOT NULL, route TEXT NOT NULL, resource TEXT, action TEXT, decision TEXT NOT NULL, code TEXT,
      status INTEGER, latency_ms REAL, bytes_in INTEGER, bytes_out INTEGER, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
      PRIMARY KEY (chain, seq));
    CREATE INDEX audit_key_at ON audit(key_id, at);
    CREATE INDEX audit_at ON audit(at);`;

interface Row {
  pos: number;
  chain: string;
  seq: number;
  at: number;
  request_id: string;
  kind: AuditRow['kind'];
  key_id: string | null;
  key_name: string | null;
  client_ip: string | null;
  method: string;
  route: string;
  resource: string | null;
  action: string | null;
  decision: AuditDecision;
  code: string | null;
  status: number | null;
  latency_ms: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

function fromRow(r: Row): AuditRow & { pos: number } {
  return {
    pos: r.pos,
    chain: r.chain,
    seq: r.seq,
    at: r.at,
    requestId: r.request_id,
    kind: r.kind,
    keyId: r.key_id,
    keyName: r.key_name,
    clientIp: r.client_ip,
    method: r.method,
    route: r.route,
    resource: r.resource,
    action: r.action,
    decision: r.decision,
    code: r.code,
    status: r.status,
    latencyMs: r.latency_ms,
    bytesIn: r.bytes_in,
    bytesOut: r.bytes_out,
    ...(r.detail === null ? {} : { detail: r.detail }),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Files written before chains (one `audit` table keyed by seq) become the chain '' unchanged. */
function migrate(db: Database.Database): void {
  const cols = db.prepare("SELECT name FROM pragma_table_info('audit')").pluck().all() as string[];
  db.exec('CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.exec(
    'CREATE TABLE IF NOT EXISTS audit_heads (chain TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL)',
  );
  db.exec('CREATE TABLE IF NOT EXISTS audit_checkpoints (chain TEXT PRIMARY KEY, value TEXT NOT NULL)');
  if (cols.length === 0) {
    db.exec(TABLE);
    return;
  }
  if (cols.includes('chain')) return;
  db.transaction(() => {
    db.exec('ALTER TABLE audit RENAME TO audit_v1; DROP INDEX IF EXISTS audit_key_at; DROP INDEX IF EXISTS audit_at;');
    db.exec(TABLE);
    db.exec(
      `INSERT INTO audit (${COLUMNS}) SELECT '', seq, ${FIELDS.replace('detail', 'NULL')} FROM audit_v1 ORDER BY seq; DROP TABLE audit_v1;`,
    );
    const meta = (name: string) => db.prepare('SELECT value FROM audit_meta WHERE name = ?').pluck().get(name) as string | undefined;
    const head = meta('head');
    if (head) {
      const h = JSON.parse(head) as { seq: number; hash: string; signature: string };
      db.prepare("INSERT INTO audit_heads (chain, seq, hash, signature) VALUES ('', ?, ?, ?)").run(h.seq, h.hash, h.signature);
    }
    const checkpoint = meta('checkpoint');
    if (checkpoint) db.prepare("INSERT INTO audit_checkpoints (chain, value) VALUES ('', ?)").run(checkpoint);
    db.exec("DELETE FROM audit_meta WHERE name IN ('head', 'checkpoint')");
  })();
}

export function openSqliteAudit(path: string, opts: { maxSizeMb?: number } = {}): AuditStore {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // better-sqlite3 waits synchronously: a locked audit file must fail fast (the write is then refused), not freeze the gateway.
    db.pragma('busy_timeout = 250');
    // A size cap: when the file is full, writes fail as on a full disk (SQLITE_FULL) until records are pruned.
    if (opts.maxSizeMb !== undefined)
      db.pragma(
        `max_page_count = ${Math.max(8, Math.floor((opts.maxSizeMb * 1024 * 1024) / (db.pragma('page_size', { simple: true }) as number)))}`,
      );
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  const getMeta = db.prepare('SELECT value FROM audit_meta WHERE name = ?').pluck();
  const setMeta = db.prepare('INSERT INTO audit_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
  let fileId = getMeta.get('file_id') as string | undefined;
  if (fileId === undefined) {
    fileId = randomUUID();
    setMeta.run('file_id', fileId);
  }
  const insert = db.prepare(
    `INSERT INTO audit (${COLUMNS}) VALUES (${COLUMNS.split(', ')
      .map(() => '?')
      .join(', ')})`,
  );
  const setHead = db.prepare(
    'INSERT INTO audit_heads (chain, seq, hash, signature) VALUES (?, ?, ?, ?) ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature',
  );
  const getHead = db.prepare('SELECT chain, seq, hash, signature FROM audit_heads WHERE chain = ?');
  const getCheckpoint = db.prepare('SELECT value FROM audit_checkpoints WHERE chain = ?').pluck();
  const setCheckpoint = db.prepare(
    'INSERT INTO audit_checkpoints (chain, value) VALUES (?, ?) ON CONFLICT(chain) DO UPDATE SET value = excluded.value',
  );
  const appendTx = db.transaction((chain: string, rows: readonly AuditRow[], head: SignedHead) => {
    for (const r of rows) {
      insert.run(
        chain,
        r.seq,
        r.at,
        r.requestId,
        r.kind,
        r.keyId,
        r.keyName,
        r.clientIp,
        r.method,
        r.route,
        r.resource,
        r.action,
        r.decision,
        r.code,
        r.status,
        r.latencyMs,
        r.bytesIn,
        r.bytesOut,
        r.detail ?? null,
        r.prevHash,
        r.hash,
      );
    }
    setHead.run(chain, head.seq, head.hash, head.signature);
  });
  const select = `SELECT rowid AS pos, ${COLUMNS} FROM audit`;
  return {
    fileId,
    append: (chain, rows, head) => {
      appendTx(chain, rows, head);
    },
    head: (chain) => getHead.get(chain) as SignedHead | undefined,
    heads: () => db.prepare('SELECT chain, seq, hash, signature FROM audit_heads ORDER BY chain').all() as SignedHead[],
    chains: () =>
      db
        .prepare(
          'SELECT chain FROM audit_heads UNION SELECT chain FROM audit_checkpoints UNION SELECT DISTINCT chain FROM audit ORDER BY 1',
        )
        .pluck()
        .all() as string[],
    *rows(chain) {
      const it =
        chain === undefined
          ? db.prepare(`${select} ORDER BY rowid`).iterate()
          : db.prepare(`${select} WHERE chain = ? ORDER BY seq`).iterate(chain);
      for (const r of it as IterableIterator<Row>) yield fromRow(r);
    },
    query(q) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.keyId) {
        where.push('key_id = ?');
        args.push(q.keyId);
      }
      if (q.since !== undefined) {
        where.push('at >= ?');
        args.push(q.since);
      }
      if (q.until !== undefined) {
        where.push('at < ?');
        args.push(q.until);
      }
      if (q.decision) {
        where.push('decision = ?');
        args.push(q.decision);
      }
      if (q.code) {
        where.push('code = ?');
        args.push(q.code);
      }
      if (q.afterPos !== undefined) {
        where.push('rowid > ?');
        args.push(q.afterPos);
      }
      if (q.chain !== undefined) {
        where.push('chain = ?');
        args.push(q.chain);
      }
      const order = q.chain !== undefined ? 'seq' : 'rowid';
      const sql = `${select} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
      return (db.prepare(sql).all(...args, q.limit ?? 1_000_000) as Row[]).map(fromRow);
    },
    tail: (n) => (db.prepare(`${select} ORDER BY rowid DESC LIMIT ?`).all(n) as Row[]).map(fromRow).reverse(),
    count: (chain) =>
      (chain === undefined
        ? db.prepare('SELECT count(*) FROM audit').pluck().get()
        : db.prepare('SELECT count(*) FROM audit WHERE chain = ?').pluck().get(chain)) as number,
    lastSeq: (chain) => (db.prepare('SELECT max(seq) FROM audit WHERE chain = ?').pluck().get(chain) as number | null) ?? undefined,
    row(chain, seq) {
      const r = db.prepare(`${select} WHERE chain = ? AND seq = ?`).get(chain, seq) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    prune(chain, seq, checkpoint) {
      return db.transaction(() => {
        const n = db.prepare('DELETE FROM audit WHERE chain = ? AND seq <= ?').run(chain, seq).changes;
        setCheckpoint.run(chain, JSON.stringify(checkpoint));
        return n;
      })();
    },
    checkpoint(chain) {
      const v = getCheckpoint.get(chain) as string | undefined;
      return v === undefined ? undefined : (JSON.parse(v) as Checkpoint);
    },
    probeWrite: (at) => void setMeta.run('last_opened_for_writing', String(at)),
    unsafeExec: (sql, ...params) => void db.prepare(sql).run(...params),
    close: () => db.close(),
  };
}

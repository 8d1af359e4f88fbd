import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { openDatabase } from './open.js';
import { threadWriter } from './sqlite-audit-writer.js';
import { chainedRows } from '../audit-chain.js';
import { AUDIT_PAGE, type AuditRow, type AuditStore, type Checkpoint, type SignedHead } from '../audit.js';
import { AUDIT_FIELDS, auditFromRow as fromRow, auditPages, auditValues, auditWhere, type AuditDbRow as Row } from '../rows.js';

/**
 * The audit trail in its own SQLite file: WAL with synchronous=FULL, so a
 * committed batch survives a crash (intents are forwarded only after commit).
 * The file holds several chains, one per gateway process start, so that
 * several processes append to one file without sharing a chain position
 * (docs/security.md, "Several processes on one store"). Each chain has its
 * signed head and, once pruned, its signed checkpoint.
 */

const FIELDS = AUDIT_FIELDS;
const COLUMNS = `chain, seq, ${FIELDS}`;
const TABLE = `CREATE TABLE audit (
      chain TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT, key_name TEXT,
      client_ip TEXT, method TEXT NOT NULL, route TEXT NOT NULL, resource TEXT, action TEXT, decision TEXT NOT NULL, code TEXT,
      status INTEGER, latency_ms REAL, bytes_in INTEGER, bytes_out INTEGER, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
      PRIMARY KEY (chain, seq));
    CREATE INDEX audit_key_at ON audit(key_id, at);
    CREATE INDEX audit_at ON audit(at);`;

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

/** The audit file's connection settings, the same for the reading and the writing connection. */
export interface SqliteAuditOptions {
  readonly maxSizeMb?: number;
}

/** The pragmas of every connection to an audit file: WAL, synchronous=FULL, a busy timeout, the size cap. */
function auditPragmas(opts: SqliteAuditOptions, pageSize: number): string[] {
  return [
    'journal_mode = WAL',
    'synchronous = FULL',
    // better-sqlite3 waits synchronously: a locked audit file must fail fast (the write is then refused), not freeze the gateway.
    'busy_timeout = 250',
    // A size cap: when the file is full, writes fail as on a full disk (SQLITE_FULL) until records are pruned.
    ...(opts.maxSizeMb !== undefined ? [`max_page_count = ${Math.max(8, Math.floor((opts.maxSizeMb * 1024 * 1024) / pageSize))}`] : []),
  ];
}

/** Opens (and on first use creates or migrates) an audit file with its pragmas. */
function openAuditDb(path: string, opts: SqliteAuditOptions): { db: Database.Database; pragmas: string[] } {
  const db = openDatabase(path, 'the audit file');
  try {
    const pragmas = auditPragmas(opts, db.pragma('page_size', { simple: true }) as number);
    for (const p of pragmas) db.pragma(p);
    migrate(db);
    return { db, pragmas };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The batch write's statements: each row, then the chain's new signed head, in one transaction (committed with fsync). */
const INSERT_ROW = `INSERT INTO audit (${COLUMNS}) VALUES (${COLUMNS.split(', ')
  .map(() => '?')
  .join(', ')})`;
const SET_HEAD =
  'INSERT INTO audit_heads (chain, seq, hash, signature) VALUES (?, ?, ?, ?) ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature';
/** A batch as statement parameters: what both the inline and the thread writer bind. */
export const batchParams = (chain: string, rows: readonly AuditRow[], head: SignedHead) => ({
  rows: rows.map((r) => [chain, r.seq, ...auditValues(r)]),
  head: [chain, head.seq, head.hash, head.signature],
});

/**
 * `writer: 'thread'` (the gateway's): batches are committed by a worker thread on its own connection
 * (sqlite-audit-writer.ts), so the commit's fsync never blocks the event loop that answers requests.
 * `inline` (tools, tests of the file itself): on this thread, as reads are.
 */
export function openSqliteAudit(path: string, opts: SqliteAuditOptions & { writer?: 'thread' | 'inline' } = {}): AuditStore {
  const { db, pragmas } = openAuditDb(path, opts);
  const getMeta = db.prepare('SELECT value FROM audit_meta WHERE name = ?').pluck();
  const setMeta = db.prepare('INSERT INTO audit_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
  let fileId = getMeta.get('file_id') as string | undefined;
  if (fileId === undefined) {
    fileId = randomUUID();
    setMeta.run('file_id', fileId);
  }
  const getHead = db.prepare('SELECT chain, seq, hash, signature FROM audit_heads WHERE chain = ?');
  const getCheckpoint = db.prepare('SELECT value FROM audit_checkpoints WHERE chain = ?').pluck();
  const setCheckpoint = db.prepare(
    'INSERT INTO audit_checkpoints (chain, value) VALUES (?, ?) ON CONFLICT(chain) DO UPDATE SET value = excluded.value',
  );
  const insert = db.prepare(INSERT_ROW);
  const setHead = db.prepare(SET_HEAD);
  const inline = db.transaction((b: ReturnType<typeof batchParams>) => {
    for (const r of b.rows) insert.run(...r);
    setHead.run(...b.head);
  });
  // Created by the probe itself (not at open), so a full file still opens for reading and pruning.
  const probe = db.transaction((at: number) => {
    setMeta.run('last_opened_for_writing', String(at));
    db.exec('CREATE TABLE IF NOT EXISTS audit_probe (at INTEGER NOT NULL, room BLOB NOT NULL)');
    db.prepare('INSERT INTO audit_probe (at, room) VALUES (?, zeroblob(4096))').run(at);
    db.prepare('DELETE FROM audit_probe').run();
  });
  const thread = opts.writer === 'thread' ? threadWriter({ path, pragmas, insert: INSERT_ROW, setHead: SET_HEAD }) : undefined;
  const select = `SELECT rowid AS pos, ${COLUMNS} FROM audit`;
  const pageByChain = db.prepare(`${select} WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ${AUDIT_PAGE}`);
  const pageAll = db.prepare(`${select} WHERE rowid > ? ORDER BY rowid LIMIT ${AUDIT_PAGE}`);
  // Methods are async for the port (a network database implements the same); better-sqlite3 answers at once.
  return {
    fileId,
    append: async (chain, rows, head) => {
      const b = batchParams(chain, rows, head);
      if (thread) await thread.append(b);
      else inline(b);
    },
    appendEntries: async (chain, from, texts, key) => {
      if (thread) return thread.appendEntries({ chain, from, texts: texts.join('\n'), key });
      const { rows, head } = chainedRows(key, chain, from, texts);
      inline(batchParams(chain, rows, head));
      return head;
    },
    head: async (chain) => getHead.get(chain) as SignedHead | undefined,
    heads: async () => db.prepare('SELECT chain, seq, hash, signature FROM audit_heads ORDER BY chain').all() as SignedHead[],
    chains: async () =>
      db
        .prepare(
          'SELECT chain FROM audit_heads UNION SELECT chain FROM audit_checkpoints UNION SELECT DISTINCT chain FROM audit ORDER BY 1',
        )
        .pluck()
        .all() as string[],
    // Paged by key, not one open iterator: the connection stays free for other statements between pages.
    rows: (chain) =>
      auditPages(chain, (after) => ((chain === undefined ? pageAll.all(after) : pageByChain.all(chain, after)) as Row[]).map(fromRow)),
    async query(q) {
      const w = auditWhere(q, 'rowid');
      const found = (db.prepare(`${select} ${w.sql} ORDER BY ${w.order} LIMIT ?`).all(...w.args, q.limit ?? 1_000_000) as Row[]).map(
        fromRow,
      );
      return q.newest ? found.reverse() : found;
    },
    tail: async (n) => (db.prepare(`${select} ORDER BY rowid DESC LIMIT ?`).all(n) as Row[]).map(fromRow).reverse(),
    count: async (chain) =>
      (chain === undefined
        ? db.prepare('SELECT count(*) FROM audit').pluck().get()
        : db.prepare('SELECT count(*) FROM audit WHERE chain = ?').pluck().get(chain)) as number,
    lastSeq: async (chain) => (db.prepare('SELECT max(seq) FROM audit WHERE chain = ?').pluck().get(chain) as number | null) ?? undefined,
    async row(chain, seq) {
      const r = db.prepare(`${select} WHERE chain = ? AND seq = ?`).get(chain, seq) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    async prune(chain, seq, checkpoint) {
      return db.transaction(() => {
        const n = db.prepare('DELETE FROM audit WHERE chain = ? AND seq <= ?').run(chain, seq).changes;
        setCheckpoint.run(chain, JSON.stringify(checkpoint));
        return n;
      })();
    },
    async checkpoint(chain) {
      const v = getCheckpoint.get(chain) as string | undefined;
      return v === undefined ? undefined : (JSON.parse(v) as Checkpoint);
    },
    // A committed write that needs room as a batch does: a page's worth is inserted (and deleted in the same
    // transaction), so a file full under max_page_count, or on a full disk, refuses it as it refuses a batch.
    probeWrite: async (at) => {
      probe(at);
    },
    unsafeExec: async (sql, ...params) => void db.prepare(sql).run(...params),
    close: async () => {
      await thread?.close();
      db.close();
    },
  };
}

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AUDIT_PAGE, type AuditRow, type AuditStore, type Checkpoint, type SignedHead } from '../audit.js';
import { chainedRows } from '../audit-chain.js';
import { AUDIT_FIELDS, auditFromRow, auditPages, auditValues, auditWhere, type AuditDbRow } from '../rows.js';
import { checkMigrations } from './pg-migrations.js';
import { inTransaction, numbered, openPool } from './pg-pool.js';

/**
 * The audit trail in the store's PostgreSQL database (tables audit,
 * audit_heads, audit_checkpoints, audit_meta; pg-migrations.ts). Each gateway
 * replica writes its own chain, so replicas never share a chain position;
 * a batch is one INSERT … SELECT FROM unnest(…) (one statement whatever its
 * size) and the chain's new head, committed together: PostgreSQL's commit is
 * durable (synchronous_commit on, its default), so an intent is forwarded
 * only once it is on disk.
 *
 * `pos` is an identity column: insertion order as `audit tail --follow` reads
 * it. Two replicas committing at once may commit a lower pos after a higher one,
 * so a follower can miss a row by a few ms; `audit verify` and `export` read
 * every row and are not affected.
 */
const SQL_TYPES = [
  'bigint', // at
  'text', // request_id
  'text', // kind
  'text', // key_id
  'text', // key_name
  'text', // client_ip
  'text', // method
  'text', // route
  'text', // resource
  'text', // action
  'text', // decision
  'text', // code
  'integer', // status
  'double precision', // latency_ms
  'bigint', // bytes_in
  'bigint', // bytes_out
  'text', // detail
  'text', // prev_hash
  'text', // hash
];
const INSERT = `INSERT INTO audit (chain, seq, ${AUDIT_FIELDS}) SELECT $1, * FROM unnest($2::bigint[], ${SQL_TYPES.map((t, i) => `$${i + 3}::${t}[]`).join(', ')})`;
const SELECT = `SELECT pos, chain, seq, ${AUDIT_FIELDS} FROM audit`;
const UPSERT_HEAD =
  'INSERT INTO audit_heads (chain, seq, hash, signature) VALUES ($1, $2, $3, $4) ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature';

export async function openPostgresAudit(url: string, pool: pg.Pool = openPool(url, 4)): Promise<AuditStore> {
  let fileId: string;
  try {
    await checkMigrations(pool);
    // The trail's identity, drawn once by whichever replica opens it first.
    await pool.query("INSERT INTO audit_meta (name, value) VALUES ('file_id', $1) ON CONFLICT (name) DO NOTHING", [randomUUID()]);
    fileId = ((await pool.query("SELECT value FROM audit_meta WHERE name = 'file_id'")).rows[0] as { value: string }).value;
  } catch (err) {
    await pool.end();
    throw err;
  }
  const rows = async (sql: string, args: unknown[] = []) => ((await pool.query(sql, args)).rows as AuditDbRow[]).map(auditFromRow);
  const value = async <T>(sql: string, args: unknown[] = []) => (await pool.query(sql, args)).rows[0] as T | undefined;
  async function append(chain: string, batch: readonly AuditRow[], head: SignedHead): Promise<void> {
    const values = batch.map(auditValues);
    const columns = SQL_TYPES.map((_, i) => values.map((v) => v[i]));
    await inTransaction(pool, async (c) => {
      if (batch.length > 0) await c.query(INSERT, [chain, batch.map((r) => r.seq), ...columns]);
      await c.query(UPSERT_HEAD, [chain, head.seq, head.hash, head.signature]);
    });
  }
  return {
    fileId,
    append,
    // Chained on the caller's thread, at the batch: a network database's commit waits on the network, not the CPU.
    async appendEntries(chain, from, texts, key) {
      const { rows, head } = chainedRows(key, chain, from, texts);
      await append(chain, rows, head);
      return head;
    },
    head: (chain) => value<SignedHead>('SELECT chain, seq, hash, signature FROM audit_heads WHERE chain = $1', [chain]),
    heads: async () =>
      (await pool.query('SELECT chain, seq, hash, signature FROM audit_heads ORDER BY chain COLLATE "C"')).rows as SignedHead[],
    chains: async () =>
      (
        (
          await pool.query(
            'SELECT chain FROM (SELECT chain FROM audit_heads UNION SELECT chain FROM audit_checkpoints UNION SELECT DISTINCT chain FROM audit) c ORDER BY chain COLLATE "C"',
          )
        ).rows as { chain: string }[]
      ).map((r) => r.chain),
    rows: (chain) =>
      auditPages(chain, (after) =>
        chain === undefined
          ? rows(`${SELECT} WHERE pos > $1 ORDER BY pos LIMIT ${AUDIT_PAGE}`, [after])
          : rows(`${SELECT} WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT ${AUDIT_PAGE}`, [chain, after]),
      ),
    async query(q) {
      const w = auditWhere(q, 'pos');
      const found = await rows(numbered(`${SELECT} ${w.sql} ORDER BY ${w.order} LIMIT ?`), [...w.args, q.limit ?? 1_000_000]);
      return q.newest ? found.reverse() : found;
    },
    tail: async (n) => (await rows(`${SELECT} ORDER BY pos DESC LIMIT $1`, [n])).reverse(),
    count: async (chain) =>
      (chain === undefined
        ? await value<{ n: number }>('SELECT count(*) AS n FROM audit')
        : await value<{ n: number }>('SELECT count(*) AS n FROM audit WHERE chain = $1', [chain]))!.n,
    lastSeq: async (chain) =>
      (await value<{ s: number | null }>('SELECT max(seq) AS s FROM audit WHERE chain = $1', [chain]))?.s ?? undefined,
    row: async (chain, seq) => (await rows(`${SELECT} WHERE chain = $1 AND seq = $2`, [chain, seq]))[0],
    prune: (chain, seq, checkpoint) =>
      inTransaction(pool, async (c) => {
        const n = (await c.query('DELETE FROM audit WHERE chain = $1 AND seq <= $2', [chain, seq])).rowCount ?? 0;
        await c.query(
          'INSERT INTO audit_checkpoints (chain, value) VALUES ($1, $2) ON CONFLICT (chain) DO UPDATE SET value = excluded.value',
          [chain, JSON.stringify(checkpoint)],
        );
        return n;
      }),
    async checkpoint(chain) {
      const v = await value<{ value: string }>('SELECT value FROM audit_checkpoints WHERE chain = $1', [chain]);
      return v === undefined ? undefined : (JSON.parse(v.value) as Checkpoint);
    },
    async probeWrite(at) {
      await pool.query(
        "INSERT INTO audit_meta (name, value) VALUES ('last_opened_for_writing', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [String(at)],
      );
    },
    async unsafeExec(sql, ...params) {
      await pool.query(numbered(sql), params);
    },
    close: () => pool.end(),
  };
}

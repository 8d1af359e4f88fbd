import Database from 'better-sqlite3';
import type pg from 'pg';
import { migrateSqliteStore } from '../store/sqlite/sqlite-store.js';
import { openSqliteAudit } from '../store/sqlite/sqlite-audit.js';
import { openSqliteDeliveryLog } from '../store/sqlite/sqlite-deliveries.js';
import { migratePostgres } from '../store/postgres/pg-migrations.js';
import { inTransaction, openPool } from '../store/postgres/pg-pool.js';

/**
 * `ghostgate migrate-store --from sqlite:FILE --to postgres://…`: moves a
 * SQLite deployment (the store file and its audit file) into an empty
 * PostgreSQL schema, row for row, in one transaction: keys (parents before
 * children), ledger, daily counts, settings (the sealed upstream credential,
 * the audit file's anchor), webhook relays, approvals, audit anchors, and the
 * audit trail itself (rows, heads, checkpoints, its file id) with the webhook
 * delivery log. The audit rows keep their chain, sequence and hashes, so the
 * chains verify on the target exactly as they did (`audit verify`).
 *
 * Reservations are not moved: the source must have no live gateway (checked:
 * no holder's lease runs), so each one is a dead holder's and is resolved as
 * the store resolves them: a use marked sent counts as an unknown use, an
 * unsent one is freed. The PostgreSQL columns mirror SQLite's
 * (pg-migrations.ts); a column the target lacks stops the move.
 */
export class MoveStoreError extends Error {
  override name = 'MoveStoreError';
}

export interface MoveReport {
  /** Rows moved, per table. */
  readonly tables: Record<string, number>;
  /** Uses of dead holders' sent reservations, counted as unknown uses. */
  readonly unknownUses: number;
}

// In dependency order: keys first (the key of a reservation, a parent of a key).
const STORE_TABLES = ['keys', 'settings', 'ledger', 'key_daily', 'webhook_relays', 'approvals', 'audit_anchors'] as const;
const AUDIT_TABLES = ['audit_meta', 'audit_heads', 'audit_checkpoints', 'audit', 'webhook_deliveries'] as const;
const BATCH = 500;

type Row = Record<string, unknown>;

export async function moveStore(from: { store: string; audit: string }, toUrl: string, now = Date.now()): Promise<MoveReport> {
  // Both files at this ghostgate's schema, as opening them for serving would leave them.
  migrateSqliteStore(from.store);
  await openSqliteAudit(from.audit).close();
  await openSqliteDeliveryLog(from.audit).close();
  const store = new Database(from.store, { readonly: true, fileMustExist: true });
  const audit = new Database(from.audit, { readonly: true, fileMustExist: true });
  const pool = openPool(toUrl, 2);
  try {
    const live = store.prepare('SELECT count(*) FROM holders WHERE lease_until > ?').pluck().get(now) as number;
    if (live > 0) throw new MoveStoreError(`${live} gateway process(es) still hold leases on ${from.store}: stop them first`);
    await migratePostgres(pool);
    const rows = (db: Database.Database, table: string, order: string) =>
      db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all() as Row[];
    const keys = depthOrder(rows(store, 'keys', 'created_at, id'));
    const unknown = new Map<string, number>();
    for (const r of store.prepare("SELECT key_id, count(*) AS n FROM reservations WHERE state = 'sent' GROUP BY key_id").all() as {
      key_id: string;
      n: number;
    }[])
      unknown.set(r.key_id, r.n);
    for (const k of keys) k.uses_unknown = Number(k.uses_unknown) + (unknown.get(k.id as string) ?? 0);
    const source: Record<string, Row[]> = {
      keys,
      settings: rows(store, 'settings', 'name'),
      ledger: rows(store, 'ledger', 'created_at, key_id, resource, record_id'),
      key_daily: rows(store, 'key_daily', 'key_id, day'),
      webhook_relays: rows(store, 'webhook_relays', 'created_at, id'),
      approvals: rows(store, 'approvals', 'created_at, id'),
      audit_anchors: rows(store, 'audit_anchors', 'chain'),
      audit_meta: rows(audit, 'audit_meta', 'name'),
      audit_heads: rows(audit, 'audit_heads', 'chain'),
      audit_checkpoints: rows(audit, 'audit_checkpoints', 'chain'),
      // Insertion order, which the target's pos keeps (`audit tail` reads by it).
      audit: rows(audit, 'audit', 'rowid'),
      webhook_deliveries: rows(audit, 'webhook_deliveries', 'seq'),
    };
    const tables: Record<string, number> = {};
    await inTransaction(pool, async (c) => {
      // One mover at a time, and only into a store nothing uses yet.
      await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ghostgate.migrate'))");
      for (const t of [...STORE_TABLES, ...AUDIT_TABLES]) {
        // CASE: the audit's file id is made when PostgreSQL's audit is first opened; the source's replaces it below.
        const filled = (await c.query(`SELECT count(*)::int AS n FROM ${t}${t === 'audit_meta' ? " WHERE name <> 'file_id'" : ''}`))
          .rows[0] as { n: number };
        if (filled.n > 0) throw new MoveStoreError(`the target already holds ${t} rows: migrate-store moves into an empty store only`);
      }
      await c.query("DELETE FROM audit_meta WHERE name = 'file_id'");
      for (const t of [...STORE_TABLES, ...AUDIT_TABLES]) tables[t] = await insertAll(c, t, source[t]!);
      // Identity columns continue after the moved rows.
      await c.query(
        "SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'seq'), GREATEST(1, (SELECT max(seq) FROM webhook_deliveries)))",
      );
    });
    return { tables, unknownUses: [...unknown.values()].reduce((a, b) => a + b, 0) };
  } finally {
    store.close();
    audit.close();
    await pool.end();
  }
}

/** Parents before their children (a key's parent_id references a key). */
function depthOrder(keys: Row[]): Row[] {
  const byId = new Map(keys.map((k) => [k.id as string, k]));
  const depth = (k: Row, seen = 0): number => {
    const p = k.parent_id as string | null;
    return p === null || seen > 64 || !byId.has(p) ? 0 : 1 + depth(byId.get(p)!, seen + 1);
  };
  return keys
    .map((k) => ({ k, d: depth(k) }))
    .sort((a, b) => a.d - b.d)
    .map((x) => x.k);
}

async function insertAll(c: pg.PoolClient, table: string, rows: Row[]): Promise<number> {
  if (rows.length === 0) return 0;
  const target = new Set(
    (
      (
        await c.query('SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [
          table,
        ])
      ).rows as { column_name: string }[]
    ).map((r) => r.column_name),
  );
  const columns = Object.keys(rows[0]!);
  const missing = columns.filter((col) => !target.has(col));
  if (missing.length > 0)
    throw new MoveStoreError(`the target's ${table} has no column ${missing.join(', ')}: is it this ghostgate's schema?`);
  const overriding = table === 'webhook_deliveries' ? ' OVERRIDING SYSTEM VALUE' : '';
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const values = batch.map((_, r) => `(${columns.map((_, col) => `$${r * columns.length + col + 1}`).join(', ')})`);
    await c.query(
      `INSERT INTO ${table} (${columns.join(', ')})${overriding} VALUES ${values.join(', ')}`,
      batch.flatMap((row) => columns.map((col) => row[col])),
    );
  }
  return rows.length;
}

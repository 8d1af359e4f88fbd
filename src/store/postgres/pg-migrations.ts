import type pg from 'pg';
import { PG_APPROVALS_MIGRATION } from './pg-approvals.js';
import { APPROVALS_CALL_MIGRATION, RECORD_LOCKS_MIGRATION } from '../rows.js';
import { PG_ADMIN_TOKENS_MIGRATION } from './pg-admin-tokens.js';
import { PG_ADMINS_MIGRATION } from './pg-admins.js';
import { TOTP_STEP_MIGRATION } from '../admin-rows.js';
import { StoreMigrationError } from '../store.js';
import { inTransaction, type Queryable } from './pg-pool.js';

/**
 * The PostgreSQL schema as numbered migrations, recorded in schema_migrations
 * (the same shape as the SQLite driver's). `ghostgate migrate` runs the
 * pending ones in one transaction (PostgreSQL's DDL is transactional: all or
 * nothing) under an advisory lock, so two replicas migrating at once do it
 * once; a gateway never migrates by itself and refuses a schema that is not
 * the one it was built for (checkMigrations). Never edit a migration that has
 * shipped: add one.
 *
 * Columns mirror sqlite-store.ts, sqlite-webhooks.ts and sqlite-audit.ts;
 * times are milliseconds (BIGINT). Ids are ordered with COLLATE "C" where an
 * order is returned, as SQLite compares text (byte order).
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE keys (
     id TEXT PRIMARY KEY CHECK (length(id) = 24),
     name TEXT NOT NULL,
     grant_json TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
     generation INTEGER NOT NULL DEFAULT 1,
     previous_generation INTEGER,
     grace_until BIGINT,
     created_at BIGINT NOT NULL,
     revoked_at BIGINT,
     expires_at BIGINT,
     not_before BIGINT,
     max_uses INTEGER,
     use_count BIGINT NOT NULL DEFAULT 0,
     uses_unknown BIGINT NOT NULL DEFAULT 0,
     last_used_at BIGINT,
     limits_json TEXT NOT NULL DEFAULT '{}',
     parent_id TEXT REFERENCES keys(id)
   );
   CREATE INDEX keys_parent ON keys(parent_id);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE ledger (
     key_id TEXT NOT NULL,
     resource TEXT NOT NULL,
     record_id TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     PRIMARY KEY (key_id, resource, record_id)
   );
   CREATE TABLE key_daily (key_id TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (key_id, day));
   CREATE TABLE holders (id TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, started_at BIGINT NOT NULL, lease_until BIGINT NOT NULL);
   CREATE TABLE reservations (
     id TEXT PRIMARY KEY,
     key_id TEXT NOT NULL REFERENCES keys(id),
     holder TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('reserved', 'sent')),
     request_id TEXT,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX reservations_key ON reservations(key_id);
   CREATE TABLE audit_anchors (chain TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE TABLE webhook_relays (
     id TEXT PRIMARY KEY CHECK (length(id) = 32),
     ghost_id TEXT UNIQUE,
     key_id TEXT NOT NULL,
     event TEXT NOT NULL,
     target_url TEXT NOT NULL,
     secret_sealed TEXT,
     relay_url TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'retired')),
     retired_reason TEXT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     retired_at BIGINT,
     ghost_removed_at BIGINT
   );
   CREATE INDEX webhook_relays_key ON webhook_relays(key_id);
   -- Key changes that matter to a request (not use counts) bump a version and notify every replica
   -- (pg-key-watch.ts). A trigger, so a change made by any writer, psql included, is seen.
   CREATE TABLE key_version (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version BIGINT NOT NULL);
   INSERT INTO key_version (version) VALUES (0);
   CREATE FUNCTION ghostgate_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     EXECUTE format('UPDATE %I.key_version SET version = version + 1', TG_TABLE_SCHEMA);
     PERFORM pg_notify('ghostgate_keys', TG_TABLE_SCHEMA || ' ' || COALESCE(NEW.id, OLD.id));
     RETURN NULL;
   END $$;
   CREATE TRIGGER keys_changed AFTER INSERT OR DELETE OR UPDATE OF
     name, grant_json, status, generation, previous_generation, grace_until, revoked_at, expires_at, not_before, max_uses, limits_json, parent_id
     ON keys FOR EACH ROW EXECUTE FUNCTION ghostgate_key_changed();
   -- The audit trail and the delivery log (pg-audit.ts, pg-deliveries.ts): one chain per gateway process.
   CREATE TABLE audit (
     pos BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
     chain TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT, key_name TEXT,
     client_ip TEXT, method TEXT NOT NULL, route TEXT NOT NULL, resource TEXT, action TEXT, decision TEXT NOT NULL, code TEXT,
     status INTEGER, latency_ms DOUBLE PRECISION, bytes_in BIGINT, bytes_out BIGINT, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
     PRIMARY KEY (chain, seq)
   );
   CREATE INDEX audit_key_at ON audit(key_id, at);
   CREATE INDEX audit_at ON audit(at);
   CREATE TABLE audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE audit_heads (chain TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL);
   CREATE TABLE audit_checkpoints (chain TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE webhook_deliveries (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, delivery_id TEXT NOT NULL, relay_id TEXT NOT NULL,
     ghost_id TEXT, key_id TEXT, event TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, status INTEGER,
     latency_ms DOUBLE PRECISION, error TEXT, view TEXT
   );
   CREATE INDEX webhook_deliveries_relay ON webhook_deliveries(relay_id, seq);
   CREATE INDEX webhook_deliveries_key ON webhook_deliveries(key_id, seq);`,
  PG_APPROVALS_MIGRATION,
  APPROVALS_CALL_MIGRATION,
  PG_ADMIN_TOKENS_MIGRATION,
  PG_ADMINS_MIGRATION,
  TOTP_STEP_MIGRATION,
  RECORD_LOCKS_MIGRATION('BIGINT'),
];

/** The version the schema is at (0: never migrated). */
export async function schemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return 0;
  return (await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
}

/** Throws StoreMigrationError unless the schema is exactly this ghostgate's. */
export async function checkMigrations(db: Queryable): Promise<void> {
  const applied = await schemaVersion(db);
  if (applied !== PG_MIGRATIONS.length) throw new StoreMigrationError(applied, PG_MIGRATIONS.length);
}

/** Runs the pending migrations; returns the versions before and after. */
export async function migratePostgres(pool: pg.Pool): Promise<{ from: number; to: number }> {
  return inTransaction(pool, async (c) => {
    // One migrator per schema at a time; the others wait and then find nothing to do.
    await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ghostgate.migrate'))");
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const from = await schemaVersion(c);
    if (from > PG_MIGRATIONS.length) throw new StoreMigrationError(from, PG_MIGRATIONS.length);
    for (let version = from + 1; version <= PG_MIGRATIONS.length; version++) {
      await c.query(PG_MIGRATIONS[version - 1]!);
      await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
    }
    return { from, to: PG_MIGRATIONS.length };
  });
}

import Database from 'better-sqlite3';
import { GrantSchema } from '../../grants/grant.js';
import type { KeyRecord, KeyStatus, NewKey, Store } from '../store.js';
import { WEBHOOK_RELAYS_MIGRATION, sqliteRelayStore } from './sqlite-webhooks.js';

/**
 * SQLite driver (better-sqlite3: synchronous, prepared statements, WAL).
 * Migrations are numbered and run in one transaction each at open.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE keys (
     id TEXT PRIMARY KEY CHECK (length(id) = 24),
     name TEXT NOT NULL,
     grant_json TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
     generation INTEGER NOT NULL DEFAULT 1,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER,
     last_used_at INTEGER,
     use_count INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE ledger (
     key_id TEXT NOT NULL,
     resource TEXT NOT NULL,
     record_id TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (key_id, resource, record_id)
   ) WITHOUT ROWID;`,
  `ALTER TABLE keys ADD COLUMN expires_at INTEGER;
   ALTER TABLE keys ADD COLUMN not_before INTEGER;
   ALTER TABLE keys ADD COLUMN max_uses INTEGER;
   ALTER TABLE keys ADD COLUMN uses_in_flight INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE keys ADD COLUMN limits_json TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE keys ADD COLUMN parent_id TEXT REFERENCES keys(id);
   ALTER TABLE keys ADD COLUMN previous_generation INTEGER;
   ALTER TABLE keys ADD COLUMN grace_until INTEGER;
   CREATE INDEX keys_parent ON keys(parent_id);
   CREATE TABLE key_daily (key_id TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (key_id, day)) WITHOUT ROWID;`,
  WEBHOOK_RELAYS_MIGRATION,
];

interface KeyRow {
  id: string;
  name: string;
  grant_json: string;
  status: KeyStatus;
  generation: number;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  use_count: number;
  expires_at: number | null;
  not_before: number | null;
  max_uses: number | null;
  limits_json: string;
  parent_id: string | null;
  previous_generation: number | null;
  grace_until: number | null;
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    // A row that does not parse fails closed: the key cannot be used.
    grant: GrantSchema.parse(JSON.parse(row.grant_json)),
    status: row.status,
    generation: row.generation,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    useCount: row.use_count,
    expiresAt: row.expires_at,
    notBefore: row.not_before,
    maxUses: row.max_uses,
    limits: JSON.parse(row.limits_json) as KeyRecord['limits'],
    parentId: row.parent_id,
    previousGeneration: row.previous_generation,
    graceUntil: row.grace_until,
  };
}

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  MIGRATIONS.forEach((sql, i) => {
    const version = i + 1;
    if (version <= current) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
    })();
  });
}

export function openSqliteStore(path: string): Store {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  // Reservations do not survive a restart of the (single) gateway that made them.
  db.exec('UPDATE keys SET uses_in_flight = 0 WHERE uses_in_flight <> 0');
  const insertKey = db.prepare(
    'INSERT INTO keys (id, name, grant_json, status, generation, created_at, expires_at, not_before, max_uses, limits_json, parent_id) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)',
  );
  const getKey = db.prepare('SELECT * FROM keys WHERE id = ?');
  const setGrant = db.prepare('UPDATE keys SET grant_json = ? WHERE id = ?');
  const listKeys = db.prepare('SELECT * FROM keys ORDER BY created_at, id');
  const descendants = db
    .prepare('WITH RECURSIVE d(id) AS (SELECT ? UNION ALL SELECT k.id FROM keys k JOIN d ON k.parent_id = d.id) SELECT id FROM d')
    .pluck();
  const revokeKey = db.prepare("UPDATE keys SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'");
  const revokeTree = db.transaction((id: string, at: number) => {
    const revoked: string[] = [];
    for (const k of descendants.all(id) as string[]) if (revokeKey.run(at, k).changes === 1) revoked.push(k);
    return revoked;
  });
  const rotateKey = db.prepare(
    "UPDATE keys SET previous_generation = generation, generation = generation + 1, grace_until = ? WHERE id = ? AND status = 'active'",
  );
  const useKeys = db.prepare('UPDATE keys SET use_count = use_count + ?, last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?');
  const recordUses = db.transaction((uses: readonly { id: string; count: number; lastAt: number }[]) => {
    for (const u of uses) useKeys.run(u.count, u.lastAt, u.id);
  });
  // Key rows are cached, and the cache is dropped whenever another connection (the CLI revoking a
  // key, another process) commits: PRAGMA data_version changes exactly then. Writes through this
  // store drop it too. So revocation takes effect on the very next request.
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const cache = new Map<string, KeyRecord | undefined>();
  let seenVersion = -1;
  const fresh = () => {
    const v = dataVersion.get() as number;
    if (v !== seenVersion) {
      cache.clear();
      seenVersion = v;
    }
  };
  const reserve = db.prepare('UPDATE keys SET uses_in_flight = uses_in_flight + 1 WHERE id = ? AND (max_uses IS NULL OR use_count + uses_in_flight < max_uses)');
  const settleOk = db.prepare('UPDATE keys SET uses_in_flight = max(uses_in_flight - 1, 0), use_count = use_count + 1, last_used_at = ? WHERE id = ?');
  const settleFail = db.prepare('UPDATE keys SET uses_in_flight = max(uses_in_flight - 1, 0) WHERE id = ?');
  const countDaily = db.prepare(
    'INSERT INTO key_daily (key_id, day, count) VALUES (?, ?, 1) ON CONFLICT(key_id, day) DO UPDATE SET count = count + 1 RETURNING count',
  ).pluck();
  const addLedger = db.prepare('INSERT OR IGNORE INTO ledger (key_id, resource, record_id, created_at) VALUES (?, ?, ?, ?)');
  const ledgerIds = db.prepare('SELECT record_id FROM ledger WHERE key_id = ? AND resource = ? ORDER BY created_at, record_id').pluck();
  const getSetting = db.prepare('SELECT value FROM settings WHERE name = ?');
  const setSetting = db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');

  return {
    keys: {
      async create(k: NewKey) {
        cache.clear();
        insertKey.run(k.id, k.name, JSON.stringify(k.grant), 'active', k.createdAt, k.expiresAt ?? null, k.notBefore ?? null, k.maxUses ?? null, JSON.stringify(k.limits ?? {}), k.parentId ?? null);
        return toRecord(getKey.get(k.id) as KeyRow);
      },
      async get(id) {
        fresh();
        if (cache.has(id)) return cache.get(id);
        const row = getKey.get(id) as KeyRow | undefined;
        const rec = row ? toRecord(row) : undefined;
        if (cache.size >= 10_000) cache.clear();
        cache.set(id, rec);
        return rec;
      },
      async list() {
        return (listKeys.all() as KeyRow[]).map(toRecord);
      },
      async setGrant(id, grant) {
        cache.clear();
        setGrant.run(JSON.stringify(GrantSchema.parse(grant)), id);
      },
      async revoke(id, at) {
        cache.clear();
        return revokeTree(id, at);
      },
      async rotate(id, graceUntil) {
        cache.clear();
        if (rotateKey.run(graceUntil, id).changes !== 1) return undefined;
        return toRecord(getKey.get(id) as KeyRow);
      },
      async reserveUse(id) {
        cache.delete(id);
        return reserve.run(id).changes === 1;
      },
      async settleUse(id, succeeded, at) {
        cache.delete(id);
        if (succeeded) settleOk.run(at, id);
        else settleFail.run(id);
      },
      async recordUses(uses) {
        for (const u of uses) cache.delete(u.id);
        recordUses(uses);
      },
      async countDaily(id, day) {
        return countDaily.get(id, day) as number;
      },
    },
    ledger: {
      async add(keyId, resource, recordId, at) {
        addLedger.run(keyId, resource, recordId, at);
      },
      async ids(keyId, resource) {
        return ledgerIds.all(keyId, resource) as string[];
      },
    },
    webhooks: sqliteRelayStore(db),
    settings: {
      async get(name) {
        return (getSetting.get(name) as { value: string } | undefined)?.value;
      },
      async set(name, value) {
        setSetting.run(name, value);
      },
    },
    async close() {
      db.close();
    },
  };
}

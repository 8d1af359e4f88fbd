import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { openDatabase } from './open.js';
import { GrantSchema } from '../../grants/grant.js';
import {
  APPROVALS_CALL_MIGRATION,
  KEY_UPDATE_SQL,
  RECORD_LOCK_STATE_SQL,
  RECORD_LOCKS_MIGRATION,
  RELEASE_RECORD_LOCK_SQL,
  TAKE_RECORD_LOCK_SQL,
  keyFromRow as toRecord,
  NEW_KEY_FIELDS,
  newKeyValues,
  type KeyRow,
} from '../rows.js';
import { guardStore, type AuditAnchor, type KeyRecord, type NewKey, type Store } from '../store.js';
import { WEBHOOK_RELAYS_MIGRATION, WEBHOOK_RELAYS_REMOVED_MIGRATION, sqliteRelayStore } from './sqlite-webhooks.js';
import { APPROVALS_MIGRATION, sqliteApprovalStore } from './sqlite-approvals.js';
import { ADMIN_TOKENS_MIGRATION, sqliteAdminTokenStore } from './sqlite-admin-tokens.js';
import { ADMINS_MIGRATION, sqliteAdminStore } from './sqlite-admins.js';
import { TOTP_STEP_MIGRATION } from '../admin-rows.js';

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
  // Reservations become durable rows held by a process with a lease (issue 18). Uses that were
  // in flight when this migration runs may have reached Ghost: they count as unknown, never given back.
  `ALTER TABLE keys ADD COLUMN uses_unknown INTEGER NOT NULL DEFAULT 0;
   UPDATE keys SET uses_unknown = uses_in_flight WHERE uses_in_flight > 0;
   ALTER TABLE keys DROP COLUMN uses_in_flight;
   CREATE TABLE holders (id TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, started_at INTEGER NOT NULL, lease_until INTEGER NOT NULL);
   CREATE TABLE reservations (
     id TEXT PRIMARY KEY,
     key_id TEXT NOT NULL REFERENCES keys(id),
     holder TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('reserved', 'sent')),
     request_id TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX reservations_key ON reservations(key_id);
   CREATE TABLE audit_anchors (chain TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  WEBHOOK_RELAYS_REMOVED_MIGRATION,
  APPROVALS_MIGRATION,
  APPROVALS_CALL_MIGRATION,
  ADMIN_TOKENS_MIGRATION,
  ADMINS_MIGRATION,
  TOTP_STEP_MIGRATION,
  RECORD_LOCKS_MIGRATION('INTEGER'),
];

export function migrate(db: Database.Database): { from: number; to: number } {
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
  return { from: current, to: Math.max(current, MIGRATIONS.length) };
}

/** `ghostgate migrate` on a SQLite store (which also migrates whenever it is opened: one host owns the file). */
export function migrateSqliteStore(path: string): { from: number; to: number } {
  const db = openDatabase(path, 'the key store');
  try {
    return migrate(db);
  } finally {
    db.close();
  }
}

export function openSqliteStore(path: string): Store {
  const db = openDatabase(path, 'the key store');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const insertKey = db.prepare(`INSERT INTO keys (status, generation, ${NEW_KEY_FIELDS}) VALUES ('active', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const getKey = db.prepare('SELECT * FROM keys WHERE id = ?');
  const setGrant = db.prepare('UPDATE keys SET grant_json = ? WHERE id = ?');
  const updateKey = db.prepare(KEY_UPDATE_SQL);
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
  // Max uses: a reservation is a row held by a live process (its lease in `holders`), settled by the
  // outcome. A row whose holder's lease ran out is resolved conservatively: marked sent -> an unknown
  // use (Ghost may have done the write); never marked sent -> freed (the write never left the gateway,
  // because a holder forwards only after marking its reservation sent, see markSent).
  const deadHolder = 'holder NOT IN (SELECT id FROM holders WHERE lease_until > ?)';
  const orphanedSent = db.prepare(`SELECT count(*) FROM reservations WHERE key_id = ? AND state = 'sent' AND ${deadHolder}`).pluck();
  const dropOrphans = db.prepare(`DELETE FROM reservations WHERE key_id = ? AND ${deadHolder}`);
  const addUnknown = db.prepare('UPDATE keys SET uses_unknown = uses_unknown + ? WHERE id = ?');
  const liveReservations = db.prepare('SELECT count(*) FROM reservations WHERE key_id = ?').pluck();
  const keyUses = db.prepare('SELECT max_uses, use_count, uses_unknown FROM keys WHERE id = ?');
  const insertReservation = db.prepare("INSERT INTO reservations (id, key_id, holder, state, created_at) VALUES (?, ?, ?, 'reserved', ?)");
  const reserveTx = db.transaction((keyId: string, holder: string, at: number): string | undefined => {
    const k = keyUses.get(keyId) as { max_uses: number | null; use_count: number; uses_unknown: number } | undefined;
    if (!k) return undefined;
    const unknown = orphanedSent.get(keyId, at) as number;
    if (unknown > 0) addUnknown.run(unknown, keyId);
    dropOrphans.run(keyId, at);
    if (k.max_uses !== null && k.use_count + k.uses_unknown + unknown + (liveReservations.get(keyId) as number) >= k.max_uses)
      return undefined;
    const id = randomUUID();
    insertReservation.run(id, keyId, holder, at);
    return id;
  });
  const markSent = db.prepare(
    "UPDATE reservations SET state = 'sent', request_id = ? WHERE id = ? AND state = 'reserved' AND holder IN (SELECT id FROM holders WHERE lease_until > ?)",
  );
  const reservationKey = db.prepare('SELECT key_id FROM reservations WHERE id = ?').pluck();
  const deleteReservation = db.prepare('DELETE FROM reservations WHERE id = ?');
  const settleOk = db.prepare('UPDATE keys SET use_count = use_count + 1, last_used_at = ? WHERE id = ?');
  const settleTx = db.transaction((reservation: string, outcome: 'succeeded' | 'failed' | 'unknown', at: number): string | undefined => {
    const keyId = reservationKey.get(reservation) as string | undefined;
    // CASE: resolved already (its holder's lease ran out): the resolution stands.
    if (keyId === undefined) return undefined;
    deleteReservation.run(reservation);
    if (outcome === 'succeeded') settleOk.run(at, keyId);
    else if (outcome === 'unknown') addUnknown.run(1, keyId);
    return keyId;
  });
  const reservedLive = db.prepare(`SELECT count(*) FROM reservations WHERE key_id = ? AND NOT ${deadHolder}`).pluck();
  const registerHolder = db.prepare('INSERT INTO holders (id, pid, host, started_at, lease_until) VALUES (?, ?, ?, ?, ?)');
  const renewHolder = db.prepare('UPDATE holders SET lease_until = max(lease_until, ?) WHERE id = ? AND lease_until > ?');
  const releaseHolder = db.prepare('UPDATE holders SET lease_until = 0 WHERE id = ?');
  const liveHolders = db.prepare('SELECT count(*) FROM holders WHERE lease_until > ?').pluck();
  // Holders without reservations and long dead are forgotten (a restart a day leaves no trail here).
  const forgetHolders = db.prepare('DELETE FROM holders WHERE lease_until < ? AND id NOT IN (SELECT holder FROM reservations)');
  const takeLock = db.prepare(TAKE_RECORD_LOCK_SQL).pluck();
  const lockState = db.prepare(RECORD_LOCK_STATE_SQL);
  const releaseLock = db.prepare(RELEASE_RECORD_LOCK_SQL);
  const listAnchors = db.prepare('SELECT chain, seq, hash, signature, updated_at FROM audit_anchors ORDER BY chain');
  const advanceAnchor = db.prepare(
    'INSERT INTO audit_anchors (chain, seq, hash, signature, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, updated_at = excluded.updated_at WHERE excluded.seq > audit_anchors.seq',
  );
  const setAnchor = db.prepare(
    'INSERT INTO audit_anchors (chain, seq, hash, signature, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, updated_at = excluded.updated_at',
  );
  const deleteAnchor = db.prepare('DELETE FROM audit_anchors WHERE chain = ?');
  const countDaily = db
    .prepare(
      'INSERT INTO key_daily (key_id, day, count) VALUES (?, ?, 1) ON CONFLICT(key_id, day) DO UPDATE SET count = count + 1 RETURNING count',
    )
    .pluck();
  const addLedger = db.prepare('INSERT OR IGNORE INTO ledger (key_id, resource, record_id, created_at) VALUES (?, ?, ?, ?)');
  const ledgerIds = db.prepare('SELECT record_id FROM ledger WHERE key_id = ? AND resource = ? ORDER BY created_at, record_id').pluck();
  const getSetting = db.prepare('SELECT value FROM settings WHERE name = ?');
  const setSetting = db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');

  return guardStore<Store>({
    keys: {
      async create(k: NewKey) {
        cache.clear();
        insertKey.run(...newKeyValues(k));
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
      async reserveUse(id, holder, at) {
        cache.delete(id);
        return reserveTx.immediate(id, holder, at);
      },
      async markSent(reservation, requestId) {
        return markSent.run(requestId, reservation, Date.now()).changes === 1;
      },
      async settleUse(reservation, outcome, at) {
        const keyId = settleTx.immediate(reservation, outcome, at);
        if (keyId !== undefined) cache.delete(keyId);
      },
      async uses(id, at) {
        const k = keyUses.get(id) as { max_uses: number | null; use_count: number; uses_unknown: number } | undefined;
        if (!k) return { spent: 0, reserved: 0, unknown: 0 };
        return {
          spent: k.use_count,
          reserved: reservedLive.get(id, at) as number,
          unknown: k.uses_unknown + (orphanedSent.get(id, at) as number),
        };
      },
      async recordUses(uses) {
        for (const u of uses) cache.delete(u.id);
        recordUses(uses);
      },
      async countDaily(id, day) {
        return countDaily.get(id, day) as number;
      },
      async update(id, change) {
        cache.clear();
        const limits = change.limits === undefined ? null : JSON.stringify(change.limits);
        if (updateKey.run(change.name ?? null, limits, id).changes !== 1) return undefined;
        return toRecord(getKey.get(id) as KeyRow);
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
    approvals: sqliteApprovalStore(db),
    adminTokens: sqliteAdminTokenStore(db),
    admins: sqliteAdminStore(db),
    settings: {
      async get(name) {
        return (getSetting.get(name) as { value: string } | undefined)?.value;
      },
      async set(name, value) {
        setSetting.run(name, value);
      },
    },
    holders: {
      async register(info, leaseUntil) {
        const id = randomUUID();
        forgetHolders.run(info.startedAt - 86_400_000);
        registerHolder.run(id, info.pid, info.host, info.startedAt, leaseUntil);
        return id;
      },
      async renew(id, leaseUntil, at) {
        return renewHolder.run(leaseUntil, id, at).changes === 1;
      },
      async release(id) {
        releaseHolder.run(id);
      },
      async live(at) {
        return liveHolders.get(at) as number;
      },
    },
    recordLocks: {
      async state(record, at) {
        const r = lockState.get(at, at, record) as { taken: number; held: number } | undefined;
        return { taken: r?.taken ?? 0, held: r?.held === 1 };
      },
      async take(record, holder, at, until, seen) {
        return takeLock.get(record, randomUUID(), until, holder, at, at, at, seen ?? null) as string | undefined;
      },
      async release(lock, forwarded, at) {
        releaseLock.run(forwarded ? 0 : 1, at, at, lock);
      },
    },
    auditAnchors: {
      async list() {
        return (listAnchors.all() as { chain: string; seq: number; hash: string; signature: string; updated_at: number }[]).map((r) => ({
          chain: r.chain,
          seq: r.seq,
          hash: r.hash,
          signature: r.signature,
          updatedAt: r.updated_at,
        }));
      },
      async advance(a: AuditAnchor) {
        advanceAnchor.run(a.chain, a.seq, a.hash, a.signature, a.updatedAt);
      },
      async reset(chain, a) {
        if (a) setAnchor.run(a.chain, a.seq, a.hash, a.signature, a.updatedAt);
        else deleteAnchor.run(chain);
      },
    },
    async close() {
      db.close();
    },
  });
}

import { randomUUID } from 'node:crypto';
import { GrantSchema } from '../../grants/grant.js';
import {
  KEY_UPDATE_SQL,
  keyFromRow,
  NEW_KEY_FIELDS,
  newKeyValues,
  RECORD_LOCK_STATE_SQL,
  RELEASE_RECORD_LOCK_SQL,
  TAKE_RECORD_LOCK_SQL,
  type KeyRow,
} from '../rows.js';
import { guardStore, type KeyStore, type NewKey, type Store } from '../store.js';
import { KeyWatch } from './pg-key-watch.js';
import { checkMigrations, migratePostgres } from './pg-migrations.js';
import { inTransaction, numbered, openPool } from './pg-pool.js';
import { pgRelayStore } from './pg-webhooks.js';
import { pgApprovalStore } from './pg-approvals.js';
import { pgAdminTokenStore } from './pg-admin-tokens.js';
import { pgAdminStore } from './pg-admins.js';

/**
 * PostgreSQL driver (node-postgres), for several gateway replicas on one
 * database. It keeps the SQLite driver's semantics (sqlite-store.ts) where
 * SQLite relied on its single writer:
 * - a max-uses reservation locks its key row (SELECT … FOR UPDATE), so the
 *   count and the insert are one step for every replica;
 * - a dead holder's reservations are resolved by one DELETE … RETURNING, so a
 *   reservation is counted at most once however many replicas resolve it;
 * - key rows are cached per replica and dropped on NOTIFY (pg-key-watch.ts).
 * Leases are compared with the replicas' own clocks, as on one host: keep
 * them in step (NTP); a lease is 15 s.
 */
export interface PostgresStoreOptions {
  /** The LISTEN/NOTIFY backstop's period (store.pollMs). */
  readonly pollMs?: number;
  readonly connections?: number;
  readonly onError?: (err: Error) => void;
  /** Tests: without the listener (the backstop alone). */
  readonly listen?: boolean;
}

/** `ghostgate migrate`. */
export async function migratePostgresStore(url: string): Promise<{ from: number; to: number }> {
  const pool = openPool(url, 1);
  try {
    return await migratePostgres(pool);
  } finally {
    await pool.end();
  }
}

// Reservations of a holder whose lease ran out (the same rule as sqlite-store.ts).
const LIVE = 'SELECT id FROM holders WHERE lease_until > $2';

export type PostgresStore = Store & { readonly keyWatch: KeyWatch };

export async function openPostgresStore(url: string, o: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const pool = openPool(url, o.connections ?? 10);
  let watch: KeyWatch | undefined;
  try {
    await checkMigrations(pool);
    watch = new KeyWatch(pool, {
      url,
      pollMs: o.pollMs ?? 500,
      ...(o.onError ? { onError: o.onError } : {}),
      ...(o.listen === false ? { listen: false } : {}),
    });
    await watch.start();
  } catch (err) {
    await watch?.close();
    await pool.end();
    throw err;
  }
  const w = watch;
  const q = async <R>(sql: string, args: unknown[] = []) => (await pool.query(sql, args)).rows as R[];
  const keyRow = async (id: string) => (await q<KeyRow>('SELECT * FROM keys WHERE id = $1', [id]))[0];
  type Uses = { max_uses: number | null; use_count: number; uses_unknown: number };

  const keys: KeyStore = {
    async create(k: NewKey) {
      w.invalidate(k.id);
      const rows = await q<KeyRow>(
        `INSERT INTO keys (status, generation, ${NEW_KEY_FIELDS}) VALUES ('active', 1, $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        newKeyValues(k),
      );
      return keyFromRow(rows[0]!);
    },
    async get(id) {
      const c = w.lookup(id);
      if (c.hit) return c.key;
      const row = await keyRow(id);
      const rec = row ? keyFromRow(row) : undefined;
      w.keep(id, rec, c.epoch);
      return rec;
    },
    async list() {
      return (await q<KeyRow>('SELECT * FROM keys ORDER BY created_at, id COLLATE "C"')).map(keyFromRow);
    },
    async setGrant(id, grant) {
      const json = JSON.stringify(GrantSchema.parse(grant));
      w.invalidate(id);
      await q('UPDATE keys SET grant_json = $1 WHERE id = $2', [json, id]);
      w.invalidate(id);
    },
    async revoke(id, at) {
      // The key and its descendants in one statement: one transaction, whoever else revokes at once.
      const rows = await q<{ id: string }>(
        `WITH RECURSIVE d(id) AS (SELECT $1::text UNION ALL SELECT k.id FROM keys k JOIN d ON k.parent_id = d.id)
         UPDATE keys SET status = 'revoked', revoked_at = $2 WHERE id IN (SELECT id FROM d) AND status = 'active' RETURNING id`,
        [id, at],
      );
      w.invalidate();
      return rows.map((r) => r.id);
    },
    async rotate(id, graceUntil) {
      const rows = await q<KeyRow>(
        "UPDATE keys SET previous_generation = generation, generation = generation + 1, grace_until = $1 WHERE id = $2 AND status = 'active' RETURNING *",
        [graceUntil, id],
      );
      w.invalidate(id);
      return rows[0] ? keyFromRow(rows[0]) : undefined;
    },
    async reserveUse(id, holder, at) {
      w.invalidate(id);
      return inTransaction(pool, async (c) => {
        // The key row's lock orders every reservation of this key, on every replica.
        const k = ((await c.query('SELECT max_uses, use_count, uses_unknown FROM keys WHERE id = $1 FOR UPDATE', [id])).rows as Uses[])[0];
        if (!k) return undefined;
        // A dead holder's reservations: one marked sent is an unknown use (Ghost may have done the write),
        // one never marked sent is freed (its write never left the gateway: markSent comes first).
        const dead = await c.query(
          `WITH gone AS (DELETE FROM reservations WHERE key_id = $1 AND holder NOT IN (${LIVE}) RETURNING state)
           SELECT count(*) FILTER (WHERE state = 'sent') AS sent FROM gone`,
          [id, at],
        );
        const unknown = (dead.rows[0] as { sent: number }).sent;
        if (unknown > 0) await c.query('UPDATE keys SET uses_unknown = uses_unknown + $1 WHERE id = $2', [unknown, id]);
        const live = ((await c.query('SELECT count(*) AS n FROM reservations WHERE key_id = $1', [id])).rows[0] as { n: number }).n;
        if (k.max_uses !== null && k.use_count + k.uses_unknown + unknown + live >= k.max_uses) return undefined;
        const reservation = randomUUID();
        await c.query("INSERT INTO reservations (id, key_id, holder, state, created_at) VALUES ($1, $2, $3, 'reserved', $4)", [
          reservation,
          id,
          holder,
          at,
        ]);
        return reservation;
      });
    },
    async markSent(reservation, requestId) {
      const r = await pool.query(
        `UPDATE reservations SET state = 'sent', request_id = $1 WHERE id = $3 AND state = 'reserved' AND holder IN (${LIVE})`,
        [requestId, Date.now(), reservation],
      );
      return r.rowCount === 1;
    },
    async settleUse(reservation, outcome, at) {
      const keyId = await inTransaction(pool, async (c) => {
        const found = (await c.query('SELECT key_id FROM reservations WHERE id = $1', [reservation])).rows[0] as
          { key_id: string } | undefined;
        if (!found) return undefined;
        // The key row first, as reserveUse locks it: the same order on every path, so no deadlock.
        await c.query('SELECT 1 FROM keys WHERE id = $1 FOR UPDATE', [found.key_id]);
        // CASE: resolved meanwhile (its holder's lease ran out): the resolution stands.
        const gone = await c.query('DELETE FROM reservations WHERE id = $1', [reservation]);
        if (gone.rowCount !== 1) return undefined;
        if (outcome === 'succeeded')
          await c.query('UPDATE keys SET use_count = use_count + 1, last_used_at = $1 WHERE id = $2', [at, found.key_id]);
        else if (outcome === 'unknown') await c.query('UPDATE keys SET uses_unknown = uses_unknown + 1 WHERE id = $1', [found.key_id]);
        return found.key_id;
      });
      if (keyId !== undefined) w.invalidate(keyId);
    },
    async uses(id, at) {
      const k = (await q<Uses>('SELECT max_uses, use_count, uses_unknown FROM keys WHERE id = $1', [id]))[0];
      if (!k) return { spent: 0, reserved: 0, unknown: 0 };
      const r = (
        await q<{ reserved: number; orphaned: number }>(
          `SELECT count(*) FILTER (WHERE holder IN (${LIVE})) AS reserved,
                  count(*) FILTER (WHERE state = 'sent' AND holder NOT IN (${LIVE})) AS orphaned
           FROM reservations WHERE key_id = $1`,
          [id, at],
        )
      )[0]!;
      return { spent: k.use_count, reserved: r.reserved, unknown: k.uses_unknown + r.orphaned };
    },
    async recordUses(uses) {
      if (uses.length === 0) return;
      for (const u of uses) w.invalidate(u.id);
      await q(
        `UPDATE keys SET use_count = use_count + u.count, last_used_at = GREATEST(COALESCE(last_used_at, 0), u.last_at)
         FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(id, count, last_at) WHERE keys.id = u.id`,
        [uses.map((u) => u.id), uses.map((u) => u.count), uses.map((u) => u.lastAt)],
      );
    },
    async countDaily(id, day) {
      const rows = await q<{ count: number }>(
        'INSERT INTO key_daily (key_id, day, count) VALUES ($1, $2, 1) ON CONFLICT (key_id, day) DO UPDATE SET count = key_daily.count + 1 RETURNING count',
        [id, day],
      );
      return rows[0]!.count;
    },
    async update(id, change) {
      const limits = change.limits === undefined ? null : JSON.stringify(change.limits);
      w.invalidate(id);
      const r = await pool.query(numbered(KEY_UPDATE_SQL), [change.name ?? null, limits, id]);
      w.invalidate(id);
      if (r.rowCount !== 1) return undefined;
      const row = await keyRow(id);
      return row ? keyFromRow(row) : undefined;
    },
  };

  const store: Store = {
    keys,
    ledger: {
      async add(keyId, resource, recordId, at) {
        await q('INSERT INTO ledger (key_id, resource, record_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
          keyId,
          resource,
          recordId,
          at,
        ]);
      },
      async ids(keyId, resource) {
        const rows = await q<{ record_id: string }>(
          'SELECT record_id FROM ledger WHERE key_id = $1 AND resource = $2 ORDER BY created_at, record_id COLLATE "C"',
          [keyId, resource],
        );
        return rows.map((r) => r.record_id);
      },
    },
    webhooks: pgRelayStore(pool),
    approvals: pgApprovalStore(pool),
    adminTokens: pgAdminTokenStore(pool),
    admins: pgAdminStore(pool),
    settings: {
      async get(name) {
        return (await q<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]))[0]?.value;
      },
      async set(name, value) {
        await q('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [
          name,
          value,
        ]);
      },
    },
    recordLocks: {
      async state(record, at) {
        const r = (await q<{ taken: string; held: number }>(numbered(RECORD_LOCK_STATE_SQL), [at, at, record]))[0];
        return { taken: Number(r?.taken ?? 0), held: r?.held === 1 };
      },
      async take(record, holder, at, until, seen) {
        const args = [record, randomUUID(), until, holder, at, at, at, seen ?? null];
        return (await q<{ id: string }>(numbered(TAKE_RECORD_LOCK_SQL), args))[0]?.id;
      },
      async release(lock, forwarded, at) {
        await q(numbered(RELEASE_RECORD_LOCK_SQL), [forwarded ? 0 : 1, at, at, lock]);
      },
    },
    holders: {
      async register(info, leaseUntil) {
        const id = randomUUID();
        // Holders without reservations and long dead are forgotten (a restart a day leaves no trail here).
        await q('DELETE FROM holders WHERE lease_until < $1 AND id NOT IN (SELECT holder FROM reservations)', [
          info.startedAt - 86_400_000,
        ]);
        await q('INSERT INTO holders (id, pid, host, started_at, lease_until) VALUES ($1, $2, $3, $4, $5)', [
          id,
          info.pid,
          info.host,
          info.startedAt,
          leaseUntil,
        ]);
        return id;
      },
      async renew(id, leaseUntil, at) {
        const r = await pool.query('UPDATE holders SET lease_until = GREATEST(lease_until, $1) WHERE id = $2 AND lease_until > $3', [
          leaseUntil,
          id,
          at,
        ]);
        return r.rowCount === 1;
      },
      async release(id) {
        await q('UPDATE holders SET lease_until = 0 WHERE id = $1', [id]);
      },
      async live(at) {
        return (await q<{ n: number }>('SELECT count(*)::int AS n FROM holders WHERE lease_until > $1', [at]))[0]!.n;
      },
    },
    auditAnchors: {
      async list() {
        const rows = await q<{ chain: string; seq: number; hash: string; signature: string; updated_at: number }>(
          'SELECT chain, seq, hash, signature, updated_at FROM audit_anchors ORDER BY chain COLLATE "C"',
        );
        return rows.map((r) => ({ chain: r.chain, seq: r.seq, hash: r.hash, signature: r.signature, updatedAt: r.updated_at }));
      },
      async advance(a) {
        await q(
          `INSERT INTO audit_anchors (chain, seq, hash, signature, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, updated_at = excluded.updated_at
           WHERE excluded.seq > audit_anchors.seq`,
          [a.chain, a.seq, a.hash, a.signature, a.updatedAt],
        );
      },
      async reset(chain, a) {
        if (!a) {
          await q('DELETE FROM audit_anchors WHERE chain = $1', [chain]);
          return;
        }
        await q(
          `INSERT INTO audit_anchors (chain, seq, hash, signature, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, updated_at = excluded.updated_at`,
          [a.chain, a.seq, a.hash, a.signature, a.updatedAt],
        );
      },
    },
    async close() {
      await w.close();
      await pool.end();
    },
  };
  return Object.assign(guardStore<Store>(store), { keyWatch: w });
}

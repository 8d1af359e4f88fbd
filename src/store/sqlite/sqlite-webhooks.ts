import type Database from 'better-sqlite3';
import { relayFromRow as toRecord, type RelayRow as Row } from '../rows.js';
import type { WebhookRelayStore } from '../store.js';

/** The relayed webhooks table (src/webhooks/), in the key store's database. */
export const WEBHOOK_RELAYS_MIGRATION = `CREATE TABLE webhook_relays (
     id TEXT PRIMARY KEY CHECK (length(id) = 32),
     ghost_id TEXT UNIQUE,
     key_id TEXT NOT NULL,
     event TEXT NOT NULL,
     target_url TEXT NOT NULL,
     secret_sealed TEXT,
     relay_url TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'retired')),
     retired_reason TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     retired_at INTEGER
   );
   CREATE INDEX webhook_relays_key ON webhook_relays(key_id);`;

/** Retiring a relay no longer forgets Ghost's copy: removal is retried until Ghost confirms it. */
export const WEBHOOK_RELAYS_REMOVED_MIGRATION = `ALTER TABLE webhook_relays ADD COLUMN ghost_removed_at INTEGER;`;

export function sqliteRelayStore(db: Database.Database): WebhookRelayStore {
  const insert = db.prepare(
    "INSERT INTO webhook_relays (id, key_id, event, target_url, secret_sealed, relay_url, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
  );
  const activate = db.prepare(
    "UPDATE webhook_relays SET ghost_id = ?, status = 'active', updated_at = ? WHERE id = ? AND status = 'pending'",
  );
  const discard = db.prepare("DELETE FROM webhook_relays WHERE id = ? AND status = 'pending'");
  const retire = db.prepare(
    "UPDATE webhook_relays SET status = 'retired', retired_reason = ?, retired_at = ?, updated_at = ? WHERE id = ? AND status <> 'retired'",
  );
  const markRemoved = db.prepare('UPDATE webhook_relays SET ghost_removed_at = ? WHERE id = ? AND ghost_removed_at IS NULL');
  const scrub = db.prepare(
    "UPDATE webhook_relays SET secret_sealed = NULL WHERE id = ? AND status = 'retired' AND ghost_removed_at IS NOT NULL",
  );
  const get = db.prepare('SELECT * FROM webhook_relays WHERE id = ?');
  const byGhost = db.prepare('SELECT * FROM webhook_relays WHERE ghost_id = ?');
  return {
    async add(r, limit) {
      return db
        .transaction(() => {
          if (limit) {
            const ids = [...new Set(limit.keyIds)];
            const live = db
              .prepare(
                `SELECT count(*) AS n FROM webhook_relays WHERE status <> 'retired' AND key_id IN (${ids.map(() => '?').join(', ')})`,
              )
              .get(...ids) as { n: number };
            if (live.n >= limit.max) return false;
          }
          insert.run(r.id, r.keyId, r.event, r.targetUrl, r.secretSealed, r.relayUrl, r.createdAt, r.createdAt);
          return true;
        })
        .immediate();
    },
    async activate(id, ghostId, at) {
      activate.run(ghostId, at, id);
    },
    async discard(id) {
      discard.run(id);
    },
    async update(id, changes, at) {
      const sets: string[] = ['updated_at = ?'];
      const args: unknown[] = [at];
      if (changes.event !== undefined) {
        sets.push('event = ?');
        args.push(changes.event);
      }
      if (changes.targetUrl !== undefined) {
        sets.push('target_url = ?');
        args.push(changes.targetUrl);
      }
      if (changes.secretSealed !== undefined) {
        sets.push('secret_sealed = ?');
        args.push(changes.secretSealed);
      }
      db.prepare(`UPDATE webhook_relays SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
    },
    async retire(id, reason, at) {
      return retire.run(reason, at, at, id).changes === 1;
    },
    async markRemoved(id, at) {
      markRemoved.run(at, id);
    },
    async scrub(id) {
      return scrub.run(id).changes === 1;
    },
    async get(id) {
      const row = get.get(id) as Row | undefined;
      return row ? toRecord(row) : undefined;
    },
    async byGhostId(ghostId) {
      const row = byGhost.get(ghostId) as Row | undefined;
      return row ? toRecord(row) : undefined;
    },
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.keyId) {
        where.push('key_id = ?');
        args.push(filter.keyId);
      }
      if (filter.status) {
        where.push('status = ?');
        args.push(filter.status);
      }
      const sql = `SELECT * FROM webhook_relays ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
      return (db.prepare(sql).all(...args) as Row[]).map(toRecord);
    },
  };
}

import type pg from 'pg';
import { relayFromRow as toRecord, type RelayRow as Row } from '../rows.js';
import type { WebhookRelayStore } from '../store.js';
import { inTransaction } from './pg-pool.js';

/** The relayed webhooks table (src/webhooks/) in PostgreSQL: sqlite-webhooks.ts, statement for statement. */
export function pgRelayStore(pool: pg.Pool): WebhookRelayStore {
  const one = async (sql: string, args: unknown[]) => {
    const row = (await pool.query(sql, args)).rows[0] as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  return {
    async add(r, limit) {
      return inTransaction(pool, async (c) => {
        if (limit) {
          // The count and the insert as one step across replicas: relay creations with a limit take turns.
          await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ghostgate.webhook_relays'))");
          const live = await c.query("SELECT count(*) AS n FROM webhook_relays WHERE status <> 'retired' AND key_id = ANY($1::text[])", [
            [...new Set(limit.keyIds)],
          ]);
          if ((live.rows[0] as { n: number }).n >= limit.max) return false;
        }
        await c.query(
          "INSERT INTO webhook_relays (id, key_id, event, target_url, secret_sealed, relay_url, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)",
          [r.id, r.keyId, r.event, r.targetUrl, r.secretSealed, r.relayUrl, r.createdAt],
        );
        return true;
      });
    },
    async activate(id, ghostId, at) {
      await pool.query("UPDATE webhook_relays SET ghost_id = $1, status = 'active', updated_at = $2 WHERE id = $3 AND status = 'pending'", [
        ghostId,
        at,
        id,
      ]);
    },
    async discard(id) {
      await pool.query("DELETE FROM webhook_relays WHERE id = $1 AND status = 'pending'", [id]);
    },
    async update(id, changes, at) {
      const sets: string[] = ['updated_at = $1'];
      const args: unknown[] = [at];
      const set = (column: string, v: unknown) => (args.push(v), sets.push(`${column} = $${args.length}`));
      if (changes.event !== undefined) set('event', changes.event);
      if (changes.targetUrl !== undefined) set('target_url', changes.targetUrl);
      if (changes.secretSealed !== undefined) set('secret_sealed', changes.secretSealed);
      args.push(id);
      await pool.query(`UPDATE webhook_relays SET ${sets.join(', ')} WHERE id = $${args.length}`, args);
    },
    async retire(id, reason, at) {
      const r = await pool.query(
        "UPDATE webhook_relays SET status = 'retired', retired_reason = $1, retired_at = $2, updated_at = $2 WHERE id = $3 AND status <> 'retired'",
        [reason, at, id],
      );
      return r.rowCount === 1;
    },
    async markRemoved(id, at) {
      await pool.query('UPDATE webhook_relays SET ghost_removed_at = $1 WHERE id = $2 AND ghost_removed_at IS NULL', [at, id]);
    },
    async scrub(id) {
      const r = await pool.query(
        "UPDATE webhook_relays SET secret_sealed = NULL WHERE id = $1 AND status = 'retired' AND ghost_removed_at IS NOT NULL",
        [id],
      );
      return r.rowCount === 1;
    },
    get: (id) => one('SELECT * FROM webhook_relays WHERE id = $1', [id]),
    byGhostId: (ghostId) => one('SELECT * FROM webhook_relays WHERE ghost_id = $1', [ghostId]),
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.keyId) {
        args.push(filter.keyId);
        where.push(`key_id = $${args.length}`);
      }
      if (filter.status) {
        args.push(filter.status);
        where.push(`status = $${args.length}`);
      }
      const sql = `SELECT * FROM webhook_relays ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id COLLATE "C"`;
      return ((await pool.query(sql, args)).rows as Row[]).map(toRecord);
    },
  };
}

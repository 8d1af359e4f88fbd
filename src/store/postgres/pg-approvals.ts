import type pg from 'pg';
import { APPROVAL_SQL as SQL, approvalFromRow as toRecord, type ApprovalRow as Row } from '../rows.js';
import type { ApprovalStore } from '../store.js';
import { inTransaction, numbered } from './pg-pool.js';

/** Approvals of confirmed calls in PostgreSQL: sqlite-approvals.ts, statement for statement. */
export const PG_APPROVALS_MIGRATION = `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     key_id TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     summary TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
     created_at BIGINT NOT NULL,
     decided_at BIGINT,
     used_at BIGINT,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX approvals_key ON approvals(key_id, fingerprint);`;

export function pgApprovalStore(pool: pg.Pool): ApprovalStore {
  const rows = async (sql: string, args: unknown[]) => (await pool.query(numbered(sql), args)).rows as Row[];
  return {
    async open(a) {
      return inTransaction(pool, async (c) => {
        // One family's approvals are opened one at a time across replicas: of two opening the same call, the
        // second finds the first's approval, and the pending count below cannot be outrun.
        await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ghostgate.approvals.' || $1))", [a.family]);
        const found = (
          await c.query(numbered(SQL.find), [a.family, a.fingerprint, a.subject, a.deniedSince, a.keyId, a.fingerprint, a.now])
        ).rows[0] as Row | undefined;
        if (found) return toRecord(found);
        const n = Number(((await c.query(numbered(SQL.pending), [a.family, a.now])).rows[0] as { n: string }).n);
        if (n >= a.maxPending) return undefined;
        await c.query(numbered(SQL.insert), [
          a.id,
          a.keyId,
          a.family,
          a.fingerprint,
          a.subject,
          a.summary,
          JSON.stringify(a.call),
          a.now,
          a.expiresAt,
        ]);
        return toRecord((await c.query(numbered(SQL.byId), [a.id])).rows[0] as Row);
      });
    },
    async get(id) {
      const r = (await rows(SQL.byId, [id]))[0];
      return r ? toRecord(r) : undefined;
    },
    async list(status) {
      return (status ? await rows(SQL.listStatus, [status]) : await rows(SQL.list, [])).map(toRecord);
    },
    async decide(id, decision, now) {
      return (await pool.query(numbered(SQL.decide), [decision, now, id, now])).rowCount === 1;
    },
    async use(id, now) {
      return (await pool.query(numbered(SQL.use), [now, id, now])).rowCount === 1;
    },
  };
}

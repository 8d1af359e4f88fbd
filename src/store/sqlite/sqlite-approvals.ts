import type Database from 'better-sqlite3';
import { APPROVAL_SQL as SQL, approvalFromRow as toRecord, type ApprovalRow as Row } from '../rows.js';
import type { ApprovalRecord, ApprovalStore } from '../store.js';

/** Approvals of confirmed calls (src/grants/confirm.ts), in the key store's database. */
export const APPROVALS_MIGRATION = `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     key_id TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     summary TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
     created_at INTEGER NOT NULL,
     decided_at INTEGER,
     used_at INTEGER,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX approvals_key ON approvals(key_id, fingerprint);`;

export function sqliteApprovalStore(db: Database.Database): ApprovalStore {
  const find = db.prepare(SQL.find);
  const insert = db.prepare(SQL.insert);
  const byId = db.prepare(SQL.byId);
  // One transaction: of two requests for the same call, the second finds the first's approval.
  const pending = db.prepare(SQL.pending).pluck();
  const open = db.transaction((a: Parameters<ApprovalStore['open']>[0]): ApprovalRecord | undefined => {
    const found = find.get(a.family, a.fingerprint, a.subject, a.deniedSince, a.keyId, a.fingerprint, a.now) as Row | undefined;
    if (found) return toRecord(found);
    if ((pending.get(a.family, a.now) as number) >= a.maxPending) return undefined;
    insert.run(a.id, a.keyId, a.family, a.fingerprint, a.subject, a.summary, JSON.stringify(a.call), a.now, a.expiresAt);
    return toRecord(byId.get(a.id) as Row);
  });
  const decide = db.prepare(SQL.decide);
  const use = db.prepare(SQL.use);
  return {
    async open(a) {
      return open(a);
    },
    async get(id) {
      const r = byId.get(id) as Row | undefined;
      return r ? toRecord(r) : undefined;
    },
    async list(status) {
      const rows = (status ? db.prepare(SQL.listStatus).all(status) : db.prepare(SQL.list).all()) as Row[];
      return rows.map(toRecord);
    },
    async decide(id, decision, now) {
      return decide.run(decision, now, id, now).changes === 1;
    },
    async use(id, now) {
      return use.run(now, id, now).changes === 1;
    },
  };
}

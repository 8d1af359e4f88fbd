import type Database from 'better-sqlite3';
import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from '../store.js';

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

interface Row {
  id: string;
  key_id: string;
  fingerprint: string;
  summary: string;
  status: ApprovalStatus;
  created_at: number;
  decided_at: number | null;
  used_at: number | null;
  expires_at: number;
}

const toRecord = (r: Row): ApprovalRecord => ({
  id: r.id,
  keyId: r.key_id,
  fingerprint: r.fingerprint,
  summary: r.summary,
  status: r.status,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  usedAt: r.used_at,
  expiresAt: r.expires_at,
});

export function sqliteApprovalStore(db: Database.Database): ApprovalStore {
  const find = db.prepare(
    "SELECT * FROM approvals WHERE key_id = ? AND fingerprint = ? AND status IN ('pending', 'approved') AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
  );
  const insert = db.prepare(
    "INSERT INTO approvals (id, key_id, fingerprint, summary, status, created_at, expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
  );
  const byId = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const open = db.transaction((a: Parameters<ApprovalStore['open']>[0]): ApprovalRecord => {
    const found = find.get(a.keyId, a.fingerprint, a.now) as Row | undefined;
    if (found) return toRecord(found);
    insert.run(a.id, a.keyId, a.fingerprint, a.summary, a.now, a.expiresAt);
    return toRecord(byId.get(a.id) as Row);
  });
  const decide = db.prepare("UPDATE approvals SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?");
  const use = db.prepare("UPDATE approvals SET status = 'used', used_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?");
  return {
    async open(a) {
      return open(a);
    },
    async get(id) {
      const r = byId.get(id) as Row | undefined;
      return r ? toRecord(r) : undefined;
    },
    async list(status) {
      const rows = (
        status
          ? db.prepare('SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, id').all(status)
          : db.prepare('SELECT * FROM approvals ORDER BY created_at DESC, id').all()
      ) as Row[];
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

import type Database from 'better-sqlite3';
import { ADMIN_TOKEN_SQL as SQL, ADMIN_TOKENS_TABLE, adminTokenFromRow as toRecord, type AdminTokenRow as Row } from '../rows.js';
import type { AdminTokenStore } from '../store.js';

/** Tokens of the management API (src/api/auth.ts), in the key store's database: only their secrets' hashes. */
export const ADMIN_TOKENS_MIGRATION = ADMIN_TOKENS_TABLE.replaceAll('%TIME%', 'INTEGER');

export function sqliteAdminTokenStore(db: Database.Database): AdminTokenStore {
  const insert = db.prepare(SQL.insert);
  const byId = db.prepare(SQL.byId);
  const list = db.prepare(SQL.list);
  const revoke = db.prepare(SQL.revoke);
  const touch = db.prepare(SQL.touch);
  return {
    async create(t) {
      insert.run(t.id, t.name, t.scope, t.secretHash, t.createdAt, t.expiresAt);
      return toRecord(byId.get(t.id) as Row);
    },
    async find(id) {
      const r = byId.get(id) as Row | undefined;
      return r ? { ...toRecord(r), secretHash: r.secret_hash } : undefined;
    },
    async list() {
      return (list.all() as Row[]).map(toRecord);
    },
    async revoke(id, at) {
      return revoke.run(at, id).changes === 1;
    },
    async touch(id, at) {
      touch.run(at, id, at);
    },
  };
}

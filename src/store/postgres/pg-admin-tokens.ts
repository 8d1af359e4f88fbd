import type pg from 'pg';
import { ADMIN_TOKEN_SQL as SQL, ADMIN_TOKENS_TABLE, adminTokenFromRow as toRecord, type AdminTokenRow as Row } from '../rows.js';
import type { AdminTokenStore } from '../store.js';
import { numbered } from './pg-pool.js';

/** Tokens of the management API in PostgreSQL: sqlite-admin-tokens.ts, statement for statement. */
export const PG_ADMIN_TOKENS_MIGRATION = ADMIN_TOKENS_TABLE.replaceAll('%TIME%', 'BIGINT');

export function pgAdminTokenStore(pool: pg.Pool): AdminTokenStore {
  const rows = async (sql: string, args: unknown[]) => (await pool.query(numbered(sql), args)).rows as Row[];
  return {
    async create(t) {
      await pool.query(numbered(SQL.insert), [t.id, t.name, t.scope, t.secretHash, t.createdAt, t.expiresAt]);
      return toRecord((await rows(SQL.byId, [t.id]))[0]!);
    },
    async find(id) {
      const r = (await rows(SQL.byId, [id]))[0];
      return r ? { ...toRecord(r), secretHash: r.secret_hash } : undefined;
    },
    async list() {
      return (await rows(SQL.list, [])).map(toRecord);
    },
    async revoke(id, at) {
      return (await pool.query(numbered(SQL.revoke), [at, id])).rowCount === 1;
    },
    async touch(id, at) {
      await pool.query(numbered(SQL.touch), [at, id, at]);
    },
  };
}

import type pg from 'pg';
import {
  ADMIN_SQL as SQL,
  accountFromRow,
  adminMigration,
  requestFromRow,
  sessionFromRow,
  type AccessRequestRow,
  type AdminAccountRow,
  type AdminSessionRow,
} from '../admin-rows.js';
import type { AdminStore } from '../store.js';
import { inTransaction, numbered } from './pg-pool.js';

/** The console's accounts, sessions and access requests in PostgreSQL: sqlite-admins.ts, statement for statement. */
export const PG_ADMINS_MIGRATION = adminMigration('BIGINT');

export function pgAdminStore(pool: pg.Pool): AdminStore {
  const run = async (sql: keyof typeof SQL, args: unknown[]) => pool.query(numbered(SQL[sql]), args);
  const first = async <T>(sql: keyof typeof SQL, args: unknown[], map: (r: never) => T): Promise<T | undefined> => {
    const r: unknown = (await run(sql, args)).rows[0];
    return r ? map(r as never) : undefined;
  };
  return {
    async addAccount(a) {
      return (await run('addAccount', [a.id, a.email, a.setupHash, a.setupExpiresAt, a.createdAt])).rowCount === 1;
    },
    account: async (id) => first('accountById', [id], accountFromRow),
    accountByEmail: async (email) => first('accountByEmail', [email], accountFromRow),
    accountBySetup: async (hash, now) => first('accountBySetup', [hash, now], accountFromRow),
    async listAccounts() {
      return ((await run('listAccounts', [])).rows as AdminAccountRow[]).map(accountFromRow);
    },
    async removeAccount(id) {
      return inTransaction(pool, async (c) => {
        await c.query(numbered(SQL.deleteSessionsOf), [id]);
        return (await c.query(numbered(SQL.removeAccount), [id])).rowCount === 1;
      });
    },
    completeSetup: async (hash, passwordHash, now) => first('completeSetup', [passwordHash, hash, now], accountFromRow),
    async setTotp(id, sealed) {
      await run('setTotp', [sealed, id]);
    },
    async useTotpStep(id, step) {
      return (await run('useTotpStep', [step, id, step])).rowCount === 1;
    },
    async addSession(s) {
      await run('addSession', [s.idHash, s.accountId, s.csrf, s.createdAt, s.lastSeenAt, s.expiresAt]);
    },
    session: async (idHash) => first('getSession', [idHash], (r: AdminSessionRow) => sessionFromRow(r)),
    async touchSession(idHash, at) {
      await run('touchSession', [at, idHash, at]);
    },
    async deleteSession(idHash) {
      await run('deleteSession', [idHash]);
    },
    async deleteSessionsOf(accountId) {
      await run('deleteSessionsOf', [accountId]);
    },
    async deleteOtherSessions(accountId, keepIdHash) {
      await run('deleteOtherSessions', [accountId, keepIdHash]);
    },
    async addRequest(r) {
      await run('addRequest', [r.id, r.tokenHash, r.name, JSON.stringify(r.spec), r.createdAt, r.expiresAt]);
    },
    request: async (id) => first('requestById', [id], requestFromRow),
    requestByToken: async (hash) => first('requestByToken', [hash], requestFromRow),
    async listRequests(status) {
      const rows = status ? (await run('listRequestsStatus', [status])).rows : (await run('listRequests', [])).rows;
      return (rows as AccessRequestRow[]).map(requestFromRow);
    },
    async decideRequest(id, decision, spec, by, now) {
      return (await run('decideRequest', [decision, JSON.stringify(spec), now, by, id, now])).rowCount === 1;
    },
    async collectRequest(id, now) {
      return (await run('collectRequest', [now, id, now])).rowCount === 1;
    },
    async setRequestKey(id, keyId) {
      await run('setRequestKey', [keyId, id]);
    },
    async releaseRequest(id) {
      return (await run('releaseRequest', [id])).rowCount === 1;
    },
  };
}

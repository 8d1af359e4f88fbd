import type Database from 'better-sqlite3';
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

/** The console's accounts, sessions and access requests, in the key store's database. */
export const ADMINS_MIGRATION = adminMigration('INTEGER');

export function sqliteAdminStore(db: Database.Database): AdminStore {
  const q = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Record<keyof typeof SQL, Database.Statement>;
  const one = <T>(row: unknown, map: (r: never) => T): T | undefined => (row ? map(row as never) : undefined);
  return {
    async addAccount(a) {
      return q.addAccount.run(a.id, a.email, a.setupHash, a.setupExpiresAt, a.createdAt).changes === 1;
    },
    async account(id) {
      return one(q.accountById.get(id), accountFromRow);
    },
    async accountByEmail(email) {
      return one(q.accountByEmail.get(email), accountFromRow);
    },
    async accountBySetup(hash, now) {
      return one(q.accountBySetup.get(hash, now), accountFromRow);
    },
    async listAccounts() {
      return (q.listAccounts.all() as AdminAccountRow[]).map(accountFromRow);
    },
    async removeAccount(id) {
      return db.transaction(() => {
        q.deleteSessionsOf.run(id);
        return q.removeAccount.run(id).changes === 1;
      })();
    },
    async completeSetup(hash, passwordHash, now) {
      return one(q.completeSetup.get(passwordHash, hash, now), accountFromRow);
    },
    async setTotp(id, sealed) {
      q.setTotp.run(sealed, id);
    },
    async useTotpStep(id, step) {
      return q.useTotpStep.run(step, id, step).changes === 1;
    },
    async addSession(s) {
      q.addSession.run(s.idHash, s.accountId, s.csrf, s.createdAt, s.lastSeenAt, s.expiresAt);
    },
    async session(idHash) {
      return one(q.getSession.get(idHash), (r: AdminSessionRow) => sessionFromRow(r));
    },
    async touchSession(idHash, at) {
      q.touchSession.run(at, idHash, at);
    },
    async deleteSession(idHash) {
      q.deleteSession.run(idHash);
    },
    async deleteSessionsOf(accountId) {
      q.deleteSessionsOf.run(accountId);
    },
    async deleteOtherSessions(accountId, keepIdHash) {
      q.deleteOtherSessions.run(accountId, keepIdHash);
    },
    async addRequest(r) {
      q.addRequest.run(r.id, r.tokenHash, r.name, JSON.stringify(r.spec), r.createdAt, r.expiresAt);
    },
    async request(id) {
      return one(q.requestById.get(id), requestFromRow);
    },
    async requestByToken(hash) {
      return one(q.requestByToken.get(hash), requestFromRow);
    },
    async listRequests(status) {
      return ((status ? q.listRequestsStatus.all(status) : q.listRequests.all()) as AccessRequestRow[]).map(requestFromRow);
    },
    async decideRequest(id, decision, spec, by, now) {
      return q.decideRequest.run(decision, JSON.stringify(spec), now, by, id, now).changes === 1;
    },
    async collectRequest(id, now) {
      return q.collectRequest.run(now, id, now).changes === 1;
    },
    async setRequestKey(id, keyId) {
      q.setRequestKey.run(keyId, id);
    },
    async releaseRequest(id) {
      return q.releaseRequest.run(id).changes === 1;
    },
  };
}

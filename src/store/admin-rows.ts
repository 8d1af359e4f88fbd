import type { AccessRequestRecord, AccessRequestStatus, AdminAccount, AdminSession } from './store.js';

/**
 * The console's tables (admin accounts, their sessions, access requests): rows
 * mapped to records and the statements written once with `?` placeholders
 * (pg-pool.ts numbered() for PostgreSQL), shared by sqlite-admins.ts and pg-admins.ts.
 */
export interface AdminAccountRow {
  id: string;
  email: string;
  password_hash: string | null;
  totp_sealed: string | null;
  setup_hash: string | null;
  setup_expires_at: number | null;
  created_at: number;
}

export const accountFromRow = (r: AdminAccountRow): AdminAccount => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  totpSealed: r.totp_sealed,
  setupExpiresAt: r.setup_hash === null ? null : r.setup_expires_at,
  createdAt: r.created_at,
});

export interface AdminSessionRow {
  id_hash: string;
  account_id: string;
  csrf: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export const sessionFromRow = (r: AdminSessionRow): AdminSession => ({
  idHash: r.id_hash,
  accountId: r.account_id,
  csrf: r.csrf,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
});

export interface AccessRequestRow {
  id: string;
  token_hash: string;
  name: string;
  spec_json: string;
  status: AccessRequestStatus;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  collected_at: number | null;
  key_id: string | null;
}

export const requestFromRow = (r: AccessRequestRow): AccessRequestRecord => ({
  id: r.id,
  tokenHash: r.token_hash,
  name: r.name,
  spec: JSON.parse(r.spec_json) as Record<string, unknown>,
  status: r.status,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  collectedAt: r.collected_at,
  keyId: r.key_id,
});

/** One migration for both drivers: INTEGER in SQLite, BIGINT in PostgreSQL for the times. */
export const adminMigration = (time: 'INTEGER' | 'BIGINT') => `CREATE TABLE admin_accounts (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE,
     password_hash TEXT,
     totp_sealed TEXT,
     setup_hash TEXT UNIQUE,
     setup_expires_at ${time},
     created_at ${time} NOT NULL
   );
   CREATE TABLE admin_sessions (
     id_hash TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES admin_accounts(id) ON DELETE CASCADE,
     csrf TEXT NOT NULL,
     created_at ${time} NOT NULL,
     last_seen_at ${time} NOT NULL,
     expires_at ${time} NOT NULL
   );
   CREATE INDEX admin_sessions_account ON admin_sessions(account_id);
   CREATE TABLE access_requests (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     spec_json TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'collected')),
     created_at ${time} NOT NULL,
     expires_at ${time} NOT NULL,
     decided_at ${time},
     decided_by TEXT,
     collected_at ${time},
     key_id TEXT
   );`;

/**
 * The last TOTP step each account signed in with (or enrolled with), so a code is taken once:
 * appended to both drivers' migration lists after adminMigration.
 */
export const TOTP_STEP_MIGRATION = 'ALTER TABLE admin_accounts ADD COLUMN totp_last_step BIGINT';

export const ADMIN_SQL = {
  addAccount:
    'INSERT INTO admin_accounts (id, email, setup_hash, setup_expires_at, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING',
  accountById: 'SELECT * FROM admin_accounts WHERE id = ?',
  accountByEmail: 'SELECT * FROM admin_accounts WHERE email = ?',
  accountBySetup: 'SELECT * FROM admin_accounts WHERE setup_hash = ? AND setup_expires_at > ?',
  listAccounts: 'SELECT * FROM admin_accounts ORDER BY created_at, email',
  removeAccount: 'DELETE FROM admin_accounts WHERE id = ?',
  // Single use: the set-up token is cleared by the statement that sets the password, only while it is valid.
  completeSetup:
    'UPDATE admin_accounts SET password_hash = ?, setup_hash = NULL, setup_expires_at = NULL WHERE setup_hash = ? AND setup_expires_at > ? RETURNING *',
  // A new secret (or none) starts with no step used.
  setTotp: 'UPDATE admin_accounts SET totp_sealed = ?, totp_last_step = NULL WHERE id = ?',
  // Single use: a step is taken only when it is later than the last one taken (src/admin/accounts.ts).
  useTotpStep: 'UPDATE admin_accounts SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)',
  addSession: 'INSERT INTO admin_sessions (id_hash, account_id, csrf, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  getSession: 'SELECT * FROM admin_sessions WHERE id_hash = ?',
  touchSession: 'UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?',
  deleteSession: 'DELETE FROM admin_sessions WHERE id_hash = ?',
  deleteSessionsOf: 'DELETE FROM admin_sessions WHERE account_id = ?',
  deleteOtherSessions: 'DELETE FROM admin_sessions WHERE account_id = ? AND id_hash <> ?',
  addRequest:
    "INSERT INTO access_requests (id, token_hash, name, spec_json, status, created_at, expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
  requestById: 'SELECT * FROM access_requests WHERE id = ?',
  requestByToken: 'SELECT * FROM access_requests WHERE token_hash = ?',
  listRequests: 'SELECT * FROM access_requests ORDER BY created_at DESC, id',
  listRequestsStatus: 'SELECT * FROM access_requests WHERE status = ? ORDER BY created_at DESC, id',
  decideRequest:
    "UPDATE access_requests SET status = ?, spec_json = ?, decided_at = ?, decided_by = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
  collectRequest:
    "UPDATE access_requests SET status = 'collected', collected_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?",
  setRequestKey: 'UPDATE access_requests SET key_id = ? WHERE id = ?',
  // A collection whose key could not be made is given back: approved again, for the requester to retry.
  releaseRequest:
    "UPDATE access_requests SET status = 'approved', collected_at = NULL WHERE id = ? AND status = 'collected' AND key_id IS NULL",
} as const;

import { GrantSchema } from '../grants/grant.js';
import { AUDIT_PAGE, type AuditDecision, type AuditQuery, type AuditRow } from './audit.js';
import { FIELDS } from './audit-chain.js';
import type { DeliveryEntry } from './deliveries.js';
import type {
  AdminScope,
  AdminTokenRecord,
  ApprovalCall,
  ApprovalRecord,
  ApprovalStatus,
  KeyRecord,
  KeyStatus,
  NewKey,
  RelayRecord,
  RelayStatus,
} from './store.js';

/**
 * The tables' rows as every SQL driver reads them (the same column names in
 * SQLite and PostgreSQL), and the port's records made from them, written once.
 */
export interface KeyRow {
  id: string;
  name: string;
  grant_json: string;
  status: KeyStatus;
  generation: number;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  use_count: number;
  uses_unknown: number;
  expires_at: number | null;
  not_before: number | null;
  max_uses: number | null;
  limits_json: string;
  parent_id: string | null;
  previous_generation: number | null;
  grace_until: number | null;
}

export function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    // A row that does not parse fails closed: the key cannot be used.
    grant: GrantSchema.parse(JSON.parse(row.grant_json)),
    status: row.status,
    generation: row.generation,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    useCount: row.use_count,
    expiresAt: row.expires_at,
    notBefore: row.not_before,
    maxUses: row.max_uses,
    limits: JSON.parse(row.limits_json) as KeyRecord['limits'],
    parentId: row.parent_id,
    previousGeneration: row.previous_generation,
    graceUntil: row.grace_until,
  };
}

export interface RelayRow {
  id: string;
  ghost_id: string | null;
  key_id: string;
  event: string;
  target_url: string;
  secret_sealed: string | null;
  relay_url: string;
  status: RelayStatus;
  retired_reason: string | null;
  created_at: number;
  updated_at: number;
  retired_at: number | null;
  ghost_removed_at: number | null;
}

export const relayFromRow = (r: RelayRow): RelayRecord => ({
  id: r.id,
  ghostId: r.ghost_id,
  keyId: r.key_id,
  event: r.event,
  targetUrl: r.target_url,
  secretSealed: r.secret_sealed,
  relayUrl: r.relay_url,
  status: r.status,
  retiredReason: r.retired_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  retiredAt: r.retired_at,
  ghostRemovedAt: r.ghost_removed_at,
});

/** The audit table's columns after the chain and seq, in the order both drivers insert them. */
export const AUDIT_FIELDS =
  'at, request_id, kind, key_id, key_name, client_ip, method, route, resource, action, decision, code, status, latency_ms, bytes_in, bytes_out, detail, prev_hash, hash';

/** A row's values in AUDIT_FIELDS order: the chain's fields (audit-chain.ts), `detail`, then its place in the chain. */
export const auditValues = (r: AuditRow): unknown[] => [...FIELDS.map((f) => r[f]), r.detail ?? null, r.prevHash, r.hash];

export interface AuditDbRow {
  pos: number;
  chain: string;
  seq: number;
  at: number;
  request_id: string;
  kind: AuditRow['kind'];
  key_id: string | null;
  key_name: string | null;
  client_ip: string | null;
  method: string;
  route: string;
  resource: string | null;
  action: string | null;
  decision: AuditDecision;
  code: string | null;
  status: number | null;
  latency_ms: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export function auditFromRow(r: AuditDbRow): AuditRow & { pos: number } {
  return {
    pos: r.pos,
    chain: r.chain,
    seq: r.seq,
    at: r.at,
    requestId: r.request_id,
    kind: r.kind,
    keyId: r.key_id,
    keyName: r.key_name,
    clientIp: r.client_ip,
    method: r.method,
    route: r.route,
    resource: r.resource,
    action: r.action,
    decision: r.decision,
    code: r.code,
    status: r.status,
    latencyMs: r.latency_ms,
    bytesIn: r.bytes_in,
    bytesOut: r.bytes_out,
    ...(r.detail === null ? {} : { detail: r.detail }),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface DeliveryDbRow {
  at: number;
  delivery_id: string;
  relay_id: string;
  ghost_id: string | null;
  key_id: string | null;
  event: string;
  attempt: number;
  outcome: DeliveryEntry['outcome'];
  status: number | null;
  latency_ms: number | null;
  error: string | null;
  view: string | null;
}

export const deliveryFromRow = (r: DeliveryDbRow): DeliveryEntry => ({
  at: r.at,
  deliveryId: r.delivery_id,
  relayId: r.relay_id,
  ghostId: r.ghost_id,
  keyId: r.key_id,
  event: r.event,
  attempt: r.attempt,
  outcome: r.outcome,
  status: r.status,
  latencyMs: r.latency_ms,
  error: r.error,
  view: r.view,
});

/** A delivery's values in the column order of DELIVERY_FIELDS. */
export const DELIVERY_FIELDS = 'at, delivery_id, relay_id, ghost_id, key_id, event, attempt, outcome, status, latency_ms, error, view';
export const deliveryValues = (e: DeliveryEntry): unknown[] => [
  e.at,
  e.deliveryId,
  e.relayId,
  e.ghostId,
  e.keyId,
  e.event,
  e.attempt,
  e.outcome,
  e.status,
  e.latencyMs,
  e.error,
  e.view,
];

/** A new key's values in NEW_KEY_FIELDS order (status 'active', generation 1 are the drivers' own). */
export const NEW_KEY_FIELDS = 'id, name, grant_json, created_at, expires_at, not_before, max_uses, limits_json, parent_id';
export const newKeyValues = (k: NewKey): unknown[] => [
  k.id,
  k.name,
  JSON.stringify(k.grant),
  k.createdAt,
  k.expiresAt ?? null,
  k.notBefore ?? null,
  k.maxUses ?? null,
  JSON.stringify(k.limits ?? {}),
  k.parentId ?? null,
];

/** An audit query as a WHERE clause with `?` placeholders, its values, and the order of its rows. */
export function auditWhere(q: AuditQuery, posColumn: string): { sql: string; args: unknown[]; order: string } {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (cond: string, v: unknown) => (where.push(cond), args.push(v));
  if (q.keyId) add('key_id = ?', q.keyId);
  if (q.since !== undefined) add('at >= ?', q.since);
  if (q.until !== undefined) add('at < ?', q.until);
  if (q.decision) add('decision = ?', q.decision);
  if (q.code) add('code = ?', q.code);
  if (q.afterPos !== undefined) add(`${posColumn} > ?`, q.afterPos);
  if (q.chain !== undefined) add('chain = ?', q.chain);
  if (q.route) add("lower(route) LIKE ? ESCAPE '\\'", `%${q.route.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const order = q.chain !== undefined ? 'seq' : posColumn;
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args, order: q.newest ? `${order} DESC` : order };
}

/** A chain's rows (by seq), or every row (by pos), read a page at a time: no cursor held between pages. */
export async function* auditPages(
  chain: string | undefined,
  page: (after: number) => Promise<(AuditRow & { pos: number })[]> | (AuditRow & { pos: number })[],
): AsyncIterableIterator<AuditRow & { pos: number }> {
  for (let after = 0; ;) {
    const rows = await page(after);
    yield* rows;
    if (rows.length < AUDIT_PAGE) return;
    const last = rows[rows.length - 1]!;
    after = chain === undefined ? last.pos : last.seq;
  }
}

/** An approval row (sqlite-approvals.ts, pg-approvals.ts). */
export interface ApprovalRow {
  id: string;
  key_id: string;
  fingerprint: string;
  summary: string;
  held_call: string | null;
  status: ApprovalStatus;
  created_at: number;
  decided_at: number | null;
  used_at: number | null;
  expires_at: number;
}

export const approvalFromRow = (r: ApprovalRow): ApprovalRecord => ({
  id: r.id,
  keyId: r.key_id,
  fingerprint: r.fingerprint,
  summary: r.summary,
  call: r.held_call === null ? null : (JSON.parse(r.held_call) as ApprovalCall),
  status: r.status,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  usedAt: r.used_at,
  expiresAt: r.expires_at,
});

/** The statements of the approvals table, written once with `?` placeholders (pg-pool.ts numbered() for PostgreSQL). */
export const APPROVAL_SQL = {
  // A denial stands whatever its age; an open approval until it expires. A denied row sorts first.
  // A denial of the exact call stands whatever its age, and one of the same subject (key, route, record, item:
  // the same call with its keys reordered, say) since `deniedSince`; else an open approval until it expires.
  // A denied row sorts first.
  find: "SELECT * FROM approvals WHERE (family = ? AND status = 'denied' AND (fingerprint = ? OR (subject = ? AND decided_at > ?))) OR (key_id = ? AND fingerprint = ? AND status IN ('pending', 'approved') AND expires_at > ?) ORDER BY status = 'denied' DESC, created_at DESC LIMIT 1",
  pending: "SELECT count(*) AS n FROM approvals WHERE family = ? AND status = 'pending' AND expires_at > ?",
  insert:
    "INSERT INTO approvals (id, key_id, family, fingerprint, subject, summary, held_call, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
  byId: 'SELECT * FROM approvals WHERE id = ?',
  list: 'SELECT * FROM approvals ORDER BY created_at DESC, id',
  listStatus: 'SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, id',
  decide: "UPDATE approvals SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
  use: "UPDATE approvals SET status = 'used', used_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?",
} as const;

/**
 * The approvals table's `held_call` (the held call, for the person deciding), `subject` (what a
 * denial covers beyond the exact call) and `family` (the root of the key's chain: a denial and the
 * pending cap cover every key of it) columns, added after the table.
 */
export const APPROVALS_CALL_MIGRATION = `ALTER TABLE approvals ADD COLUMN held_call TEXT;
   ALTER TABLE approvals ADD COLUMN subject TEXT;
   ALTER TABLE approvals ADD COLUMN family TEXT;
   UPDATE approvals SET family = key_id;`;

/** An admin API token row (sqlite-admin-tokens.ts, pg-admin-tokens.ts). */
export interface AdminTokenRow {
  id: string;
  name: string;
  scope: AdminScope;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export const adminTokenFromRow = (r: AdminTokenRow): AdminTokenRecord => ({
  id: r.id,
  name: r.name,
  scope: r.scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

/** The admin_tokens table, the same in both databases but for the time columns' type (`%TIME%`). */
export const ADMIN_TOKENS_TABLE = `CREATE TABLE admin_tokens (
     id TEXT PRIMARY KEY CHECK (length(id) = 24),
     name TEXT NOT NULL,
     scope TEXT NOT NULL CHECK (scope IN ('admin:read', 'admin:write')),
     secret_hash TEXT NOT NULL CHECK (length(secret_hash) = 64),
     created_at %TIME% NOT NULL,
     expires_at %TIME%,
     revoked_at %TIME%,
     last_used_at %TIME%
   );`;

/** The statements of the admin_tokens table, with `?` placeholders (pg-pool.ts numbered() for PostgreSQL). */
export const ADMIN_TOKEN_SQL = {
  insert: 'INSERT INTO admin_tokens (id, name, scope, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  byId: 'SELECT * FROM admin_tokens WHERE id = ?',
  list: 'SELECT * FROM admin_tokens ORDER BY created_at, id',
  revoke: 'UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  touch: 'UPDATE admin_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
} as const;

/** A key's name and limits, as the management API changes them (KeyStore.update). */
export const KEY_UPDATE_SQL = 'UPDATE keys SET name = coalesce(?, name), limits_json = coalesce(?, limits_json) WHERE id = ?';

/**
 * Record locks (RecordLockStore), the same table and statements on both drivers: one row per record a
 * write through the gateway has named, kept (its `taken` count only grows); a lock is held while `id` is
 * set, `expires_at` is ahead and its holder's lease runs, and only a holder whose lease runs takes one.
 * Take's arguments: record, lock id, expiry, holder, now, now, now, seen (or null); state's: now, now, record.
 */
export const RECORD_LOCKS_MIGRATION = (int: 'INTEGER' | 'BIGINT') =>
  `CREATE TABLE record_locks (record TEXT PRIMARY KEY, id TEXT UNIQUE, holder TEXT, expires_at ${int} NOT NULL, taken ${int} NOT NULL);`;
const LOCK_HELD = (t: string) =>
  `(${t}.id IS NOT NULL AND ${t}.expires_at > ? AND ${t}.holder IN (SELECT id FROM holders WHERE lease_until > ?))`;
export const TAKE_RECORD_LOCK_SQL = `INSERT INTO record_locks (record, id, holder, expires_at, taken)
   SELECT ?, ?, h.id, ?, 1 FROM holders h WHERE h.id = ? AND h.lease_until > ?
   ON CONFLICT (record) DO UPDATE SET id = excluded.id, holder = excluded.holder, expires_at = excluded.expires_at, taken = record_locks.taken + 1
   WHERE NOT ${LOCK_HELD('record_locks')} AND COALESCE(?, record_locks.taken) = record_locks.taken
   RETURNING id`;
export const RECORD_LOCK_STATE_SQL = `SELECT taken, CASE WHEN ${LOCK_HELD('l')} THEN 1 ELSE 0 END AS held FROM record_locks l WHERE record = ?`;
/**
 * Arguments: 1 when the call was never forwarded, else 0; now, now; the lock id. A take is given back only
 * while its lock is still held (SET reads the row as it was).
 */
export const RELEASE_RECORD_LOCK_SQL = `UPDATE record_locks SET id = NULL, holder = NULL, expires_at = 0,
   taken = taken - CASE WHEN ? = 1 AND ${LOCK_HELD('record_locks')} THEN 1 ELSE 0 END WHERE id = ?`;

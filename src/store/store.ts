import type { Grant } from '../grants/grant.js';

/**
 * The Store interface: one per database driver (sqlite/, postgres/), each
 * passing store.contract.ts. Methods are async so that a network
 * database fits without changing callers.
 */
export type KeyStatus = 'active' | 'revoked';

/** Per-key limits beyond the grant (issue: key lifecycle). */
export interface KeyLimits {
  /** CIDRs (IPv4 and IPv6) the key may be used from. */
  readonly ipAllow?: readonly string[];
  readonly rate?: { readonly perSecond?: number; readonly perMinute?: number; readonly burst?: number };
  /** Requests per UTC day. */
  readonly dailyQuota?: number;
  /** What the key's webhooks do when the key expires: keep delivering (default) or stop (docs/webhooks.md). */
  readonly webhooks?: 'outlive' | 'stop';
}

export interface KeyRecord {
  readonly id: string;
  readonly name: string;
  readonly grant: Grant;
  readonly status: KeyStatus;
  /** Secret generation: the secret is derived from (master, id, generation). */
  readonly generation: number;
  /** After a rotation, the previous generation still verifies until `graceUntil`. */
  readonly previousGeneration: number | null;
  readonly graceUntil: number | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly expiresAt: number | null;
  readonly notBefore: number | null;
  /** Uses allowed (requests that reached Ghost and succeeded); null = unlimited. */
  readonly maxUses: number | null;
  readonly limits: KeyLimits;
  readonly parentId: string | null;
  readonly lastUsedAt: number | null;
  /** Requests that reached Ghost and succeeded (2xx). */
  readonly useCount: number;
}

export type UseOutcome = 'succeeded' | 'failed' | 'unknown';

export interface KeyUses {
  /** Ghost answered with success. */
  readonly spent: number;
  /** Held now by a live gateway process. */
  readonly reserved: number;
  /** Sent to Ghost with no answer (a hang-up, a timeout, a crash): counted as spent. */
  readonly unknown: number;
}

export interface NewKey {
  readonly id: string;
  readonly name: string;
  readonly grant: Grant;
  readonly createdAt: number;
  readonly expiresAt?: number | null;
  readonly notBefore?: number | null;
  readonly maxUses?: number | null;
  readonly limits?: KeyLimits;
  readonly parentId?: string | null;
}

export interface KeyStore {
  create(key: NewKey): Promise<KeyRecord>;
  /**
   * One key. Drivers may cache, but never past a change made through this
   * store, and a change made by another process within the driver's bound:
   * SQLite's very next get() (PRAGMA data_version), PostgreSQL's within 1 s
   * (LISTEN/NOTIFY, a polling backstop, and no cached answer once the
   * backstop has not confirmed the cache for that long).
   */
  get(id: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  /**
   * Replaces a key's grant with the same grant made more precise: constraint anchors pinned to
   * record ids (src/grants/anchors.ts). Never used to change what a key may do.
   */
  setGrant(id: string, grant: Grant): Promise<void>;
  /** Revokes the key and every descendant; returns the ids it revoked (empty when none was active). */
  revoke(id: string, at: number): Promise<string[]>;
  /** New secret generation; the current one keeps working until `graceUntil`. */
  rotate(id: string, graceUntil: number): Promise<KeyRecord | undefined>;
  /**
   * Takes one use of a key with max uses, atomically, for the process `holder`
   * (HolderStore): the reservation's id, or undefined when none is left
   * (spent + unknown + reserved >= max). A reservation is a durable row, not
   * process state: nothing a new process or a CLI command does gives it back.
   * Reservations of a holder whose lease ran out are resolved first: one
   * never marked sent is freed (its write never left the gateway), one marked
   * sent counts as an unknown use (Ghost may have done the write).
   */
  reserveUse(id: string, holder: string, at: number): Promise<string | undefined>;
  /**
   * The fence before forwarding: marks the reservation sent; false when it is
   * no longer this holder's (resolved after its lease ran out): then the
   * request must not be forwarded.
   */
  markSent(reservation: string, requestId: string): Promise<boolean>;
  /**
   * Ends a reservation: `succeeded` counts the use (Ghost answered 2xx),
   * `failed` gives it back (Ghost answered otherwise, or the write never left),
   * `unknown` counts it as an unknown use (sent, and no answer came).
   */
  settleUse(reservation: string, outcome: UseOutcome, at: number): Promise<void>;
  /** Spent, reserved and unknown uses of a key, as `token show` reports them (read only: resolves nothing). */
  uses(id: string, at: number): Promise<KeyUses>;
  /** Counts successful uses of keys without max uses, batched by the caller. */
  recordUses(uses: readonly { id: string; count: number; lastAt: number }[]): Promise<void>;
  /** Adds one request to the key's count for the UTC day; returns the new count. */
  countDaily(id: string, day: string): Promise<number>;
  /**
   * Renames a key or replaces its limits (the management API's update); never its grant, window or
   * uses. Undefined when there is no such key.
   */
  update(id: string, change: KeyUpdate): Promise<KeyRecord | undefined>;
}

/** What an administrator may change on an existing key: its name and its limits (IP, rate, quota, webhooks at expiry). */
export interface KeyUpdate {
  readonly name?: string;
  readonly limits?: KeyLimits;
}

/**
 * The ledger: ids of the records each key created, taken from Ghost's
 * answers. It backs "created by this key" constraints and webhook ownership.
 */
export interface LedgerStore {
  add(keyId: string, resource: string, recordId: string, at: number): Promise<void>;
  ids(keyId: string, resource: string): Promise<string[]>;
}

/**
 * Gateway processes holding reservations, each with a lease it renews while
 * alive. A reservation whose holder's lease ran out belongs to a dead process.
 */
export interface HolderInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
}

export interface HolderStore {
  /** Registers a live process; returns its holder id. */
  register(info: HolderInfo, leaseUntil: number): Promise<string>;
  /**
   * Extends the lease while it still runs at `at`; false when it has run out (or the holder is unknown).
   * A lease that ran out stays out: others have resolved its reservations and locks as a dead process's,
   * so the process takes a new lease (register) to go on.
   */
  renew(id: string, leaseUntil: number, at: number): Promise<boolean>;
  /** Ends the lease now: the holder's reservations are resolved as a dead holder's. */
  release(id: string): Promise<void>;
  /** How many holders' leases run past `at`: the live gateway processes on this store (they split a key's rate, src/ratelimit/local.ts). */
  live(at: number): Promise<number>;
}

/**
 * Locks on Ghost records, one write at a time per record across every gateway
 * process on this store (`serve --workers`, replicas), and a count of the
 * writes that took each: a write is forwarded only while it holds its
 * record's lock, taken once its decision allows it and released once Ghost
 * has answered; a decision that read the record holds only if no write took
 * the lock since (`seen`, src/pipeline/pipeline.ts). A lock ends when it is
 * released, when its `until` passes, or when its holder's lease runs out (a
 * dead process's lock is free at once).
 */
export interface RecordLockStore {
  /** How many writes have taken the record's lock, and whether a live one holds it now. */
  state(record: string, at: number): Promise<{ taken: number; held: boolean }>;
  /**
   * Takes the lock for `holder` until `until`, atomically, while no live write holds it and, when `seen`
   * is given, no write has taken it since state() answered `taken: seen`: the lock's id, or undefined.
   */
  take(record: string, holder: string, at: number, until: number, seen?: number): Promise<string | undefined>;
  /**
   * Ends a lock taken by take(); one that ran out and was taken by another is left to it. A lock whose
   * call was never forwarded (`forwarded: false`) gives its take back, it changed nothing a decision read,
   * but only while it is still held at `at`: once it has lapsed, others may have read the count it made.
   */
  release(lock: string, forwarded: boolean, at: number): Promise<void>;
}

/**
 * The audit chains' anchors, kept outside the audit file: each chain's last
 * signed head (its sequence number is the chain's record count). The audit
 * file must always hold at least what its anchor names.
 */
export interface AuditAnchor {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  readonly signature: string;
  readonly updatedAt: number;
}

export interface AuditAnchorStore {
  list(): Promise<AuditAnchor[]>;
  /** Records a chain's newer head; never moves an anchor backwards. */
  advance(anchor: AuditAnchor): Promise<void>;
  /** After an acknowledged discontinuity: sets the anchor to what the file holds, or forgets it (undefined). */
  reset(chain: string, anchor: AuditAnchor | undefined): Promise<void>;
}

/** Small named values: the encrypted upstream credential, and the like. */
export interface SettingStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
}

/**
 * Webhooks relayed through the gateway (src/webhooks/): Ghost calls the relay
 * URL, the gateway delivers to the client's target. The client's secret is
 * kept sealed; the relay's own secret is derived from the master secret.
 */
export type RelayStatus = 'pending' | 'active' | 'retired';

export interface RelayRecord {
  /** The relay id: the unguessable last segment of the URL Ghost calls. */
  readonly id: string;
  /** Ghost's webhook id; null until Ghost has answered the creation. */
  readonly ghostId: string | null;
  /** The key that created the webhook: deliveries follow its grant and lifecycle. */
  readonly keyId: string;
  readonly event: string;
  /** The client's own target. */
  readonly targetUrl: string;
  /** The client's secret sealed with the master secret; null: deliveries are unsigned. */
  readonly secretSealed: string | null;
  /** The URL registered in Ghost (publicUrl + the relay path). */
  readonly relayUrl: string;
  readonly status: RelayStatus;
  readonly retiredReason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly retiredAt: number | null;
  /** When Ghost confirmed its webhook gone (DELETE answered 204 or 404); null while Ghost may still hold it. */
  readonly ghostRemovedAt: number | null;
}

export interface NewRelay {
  readonly id: string;
  readonly keyId: string;
  readonly event: string;
  readonly targetUrl: string;
  readonly secretSealed: string | null;
  readonly relayUrl: string;
  readonly createdAt: number;
}

export interface WebhookRelayStore {
  /**
   * A pending relay, made before Ghost is asked, so an early delivery finds it. With `limit`: only
   * while fewer than `max` relays of these keys are pending or active, checked and added atomically;
   * false when the limit is reached.
   */
  add(r: NewRelay, limit?: { keyIds: readonly string[]; max: number }): Promise<boolean>;
  /** Ghost created the webhook: the relay is active under Ghost's id. */
  activate(id: string, ghostId: string, at: number): Promise<void>;
  /** Ghost refused the creation: the pending relay goes. */
  discard(id: string): Promise<void>;
  update(id: string, changes: { event?: string; targetUrl?: string; secretSealed?: string | null }, at: number): Promise<void>;
  /** Marks the relay retired; false when it already was. */
  retire(id: string, reason: string, at: number): Promise<boolean>;
  /** Ghost confirmed the webhook gone (or never had it): a retired relay whose removal is no longer retried. */
  markRemoved(id: string, at: number): Promise<void>;
  /** Erases the client's sealed secret of a relay that is retired and removed from Ghost; false otherwise. */
  scrub(id: string): Promise<boolean>;
  get(id: string): Promise<RelayRecord | undefined>;
  byGhostId(ghostId: string): Promise<RelayRecord | undefined>;
  list(filter?: { keyId?: string; status?: RelayStatus }): Promise<RelayRecord[]>;
}

/** A call a grant's `confirm` holds for a person (src/grants/confirm.ts): pending, then approved or denied, then used once. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used';

export interface ApprovalRecord {
  readonly id: string;
  readonly keyId: string;
  /** What the call is, exactly (method, path, query, body): the retry must be the same call. */
  readonly fingerprint: string;
  /** For the person deciding: the route, the confirm item, the record's title, in one line. */
  readonly summary: string;
  /** The call itself, as it will be forwarded, for the person deciding (`approvals show`); null on rows older than it. */
  readonly call: ApprovalCall | null;
  readonly status: ApprovalStatus;
  readonly createdAt: number;
  readonly decidedAt: number | null;
  readonly usedAt: number | null;
  /** After this, the approval no longer lets the call through (pending or approved). */
  readonly expiresAt: number;
}

/** A held call as the gateway will forward it: the body's bytes as text (UTF-8), or base64 when they are not UTF-8. */
export interface ApprovalCall {
  readonly method: string;
  readonly pathAndQuery: string;
  readonly body: string | null;
  readonly bodyEncoding: 'utf8' | 'base64';
  /** The `updated_at` of the record the call acts on when it was held (null: Ghost had none); the approval holds for it only. */
  readonly recordVersion?: string | null;
}

export interface ApprovalStore {
  /**
   * This key's approval of this call: a denied one (a denial of the call stands; one of its subject,
   * decided after `deniedSince`, too), else the open one (pending or
   * approved, unused, not expired), else a new pending one — unless the key's family already has
   * `maxPending` pending approvals: undefined (an agent cannot bury the person deciding under requests).
   */
  open(a: {
    id: string;
    keyId: string;
    fingerprint: string;
    /** The root key of the key's chain: denials (of the call, or of its subject) and the pending cap are the family's. */
    family: string;
    /** The family, route, record and confirm item, whatever the body's bytes: a denial covers it since `deniedSince`. */
    subject: string;
    deniedSince: number;
    summary: string;
    call: ApprovalCall;
    now: number;
    expiresAt: number;
    maxPending: number;
  }): Promise<ApprovalRecord | undefined>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest first. */
  list(status?: ApprovalStatus): Promise<ApprovalRecord[]>;
  /** pending -> approved or denied; false when it is not pending (or expired). */
  decide(id: string, decision: 'approved' | 'denied', now: number): Promise<boolean>;
  /** approved -> used, atomically: true for one caller only, so an approved call is forwarded once. */
  use(id: string, now: number): Promise<boolean>;
}

/** What an admin API token may do: `admin:read` only reads (GET); `admin:write` everything. */
export type AdminScope = 'admin:read' | 'admin:write';
export const ADMIN_SCOPES: readonly AdminScope[] = ['admin:read', 'admin:write'];

/** An admin API token (src/admin/admin-tokens.ts): never its secret, which is stored only as a hash. */
export interface AdminTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly scope: AdminScope;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

export interface NewAdminToken {
  readonly id: string;
  readonly name: string;
  readonly scope: AdminScope;
  /** SHA-256 of the token's secret, hex (secrets/admin-tokens.ts). */
  readonly secretHash: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface AdminTokenStore {
  create(t: NewAdminToken): Promise<AdminTokenRecord>;
  /** One token with its stored hash, for verification only. */
  find(id: string): Promise<(AdminTokenRecord & { readonly secretHash: string }) | undefined>;
  /** Oldest first. */
  list(): Promise<AdminTokenRecord[]>;
  /** false when there is no such token or it was revoked already. */
  revoke(id: string, at: number): Promise<boolean>;
  /** Records a use (the time it was last used). */
  touch(id: string, at: number): Promise<void>;
}

/** A person who signs in to the console (src/console/): an email, a scrypt hash once set up, an optional TOTP secret (sealed). */
export interface AdminAccount {
  readonly id: string;
  readonly email: string;
  /** src/admin/password.ts's encoded scrypt hash; null until the set-up link is used. */
  readonly passwordHash: string | null;
  /** The TOTP secret sealed with the master secret; null: no second factor. */
  readonly totpSealed: string | null;
  /** When the open set-up link expires; null when none is open. */
  readonly setupExpiresAt: number | null;
  readonly createdAt: number;
}

/** A console session: stored under the SHA-256 of its id (the cookie holds the id), with its CSRF token. */
export interface AdminSession {
  readonly idHash: string;
  readonly accountId: string;
  readonly csrf: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** The absolute expiry; the idle expiry is lastSeenAt + the configured idle time. */
  readonly expiresAt: number;
}

/** An access request (`ghostgate request-link`): pending, then approved (possibly narrowed) or denied, then collected once. */
export type AccessRequestStatus = 'pending' | 'approved' | 'denied' | 'collected';

export interface AccessRequestRecord {
  readonly id: string;
  /** SHA-256 of the link's token: the link is the requester's only credential. */
  readonly tokenHash: string;
  readonly name: string;
  /** What is asked (or, once approved, what was granted): { grant, expiresInMs?, maxUses? }. */
  readonly spec: Record<string, unknown>;
  readonly status: AccessRequestStatus;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
  /** The admin who decided (AdminActor id). */
  readonly decidedBy: string | null;
  readonly collectedAt: number | null;
  readonly keyId: string | null;
}

export interface AdminStore {
  /** A new account with an open set-up link (its token's hash); false when the email is taken. */
  addAccount(a: { id: string; email: string; setupHash: string; setupExpiresAt: number; createdAt: number }): Promise<boolean>;
  account(id: string): Promise<AdminAccount | undefined>;
  accountByEmail(email: string): Promise<AdminAccount | undefined>;
  /** The account whose set-up link this is, while it is open. */
  accountBySetup(setupHash: string, now: number): Promise<AdminAccount | undefined>;
  listAccounts(): Promise<AdminAccount[]>;
  /** Removes the account and its sessions; false when there was none. */
  removeAccount(id: string): Promise<boolean>;
  /** Sets the password and closes the set-up link, atomically, once: undefined when the link is used or expired. */
  completeSetup(setupHash: string, passwordHash: string, now: number): Promise<AdminAccount | undefined>;
  /** Sets (or clears) the sealed TOTP secret; no step of it is used yet. */
  setTotp(id: string, sealed: string | null): Promise<void>;
  /** Takes a TOTP step, atomically: false when this step or a later one was taken already (a replayed code). */
  useTotpStep(id: string, step: number): Promise<boolean>;
  addSession(s: AdminSession): Promise<void>;
  session(idHash: string): Promise<AdminSession | undefined>;
  /** Moves last_seen_at forward (never back). */
  touchSession(idHash: string, at: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  deleteSessionsOf(accountId: string): Promise<void>;
  /** Ends every session of the account but the one given (a change of its sign-in factors). */
  deleteOtherSessions(accountId: string, keepIdHash: string): Promise<void>;
  addRequest(r: {
    id: string;
    tokenHash: string;
    name: string;
    spec: Record<string, unknown>;
    createdAt: number;
    expiresAt: number;
  }): Promise<void>;
  request(id: string): Promise<AccessRequestRecord | undefined>;
  requestByToken(tokenHash: string): Promise<AccessRequestRecord | undefined>;
  /** Newest first. */
  listRequests(status?: AccessRequestStatus): Promise<AccessRequestRecord[]>;
  /** pending -> approved (with the spec granted) or denied, before it expires; false otherwise. */
  decideRequest(id: string, decision: 'approved' | 'denied', spec: Record<string, unknown>, by: string, now: number): Promise<boolean>;
  /** approved -> collected, atomically: true for one caller only. */
  collectRequest(id: string, now: number): Promise<boolean>;
  setRequestKey(id: string, keyId: string): Promise<void>;
  /** collected (with no key yet) -> approved again: the key could not be made; false otherwise. */
  releaseRequest(id: string): Promise<boolean>;
}

export interface Store {
  readonly keys: KeyStore;
  readonly ledger: LedgerStore;
  readonly settings: SettingStore;
  readonly webhooks: WebhookRelayStore;
  readonly holders: HolderStore;
  readonly recordLocks: RecordLockStore;
  /** Approvals of the calls a grant's `confirm` holds (src/pipeline/approval.ts). */
  readonly approvals: ApprovalStore;
  /** Tokens of the management API (src/api/, docs/api.md). */
  readonly adminTokens: AdminTokenStore;
  /** The console's admin accounts, sessions and access requests (src/console/, src/admin/accounts.ts). */
  readonly admins: AdminStore;
  readonly auditAnchors: AuditAnchorStore;
  close(): Promise<void>;
}

/**
 * A failure of the store itself (the database closed, locked, full or gone),
 * as opposed to a bug in the code that called it. The gateway answers the
 * first with STORE_UNAVAILABLE (503) and anything else with INTERNAL (500).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(cause: unknown) {
    super(`the store failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The store's schema is not the one this ghostgate was built for: migrations
 * not run yet (`ghostgate migrate`), or run by a newer ghostgate. A gateway
 * does not start on it (STORE_MIGRATIONS_PENDING).
 */
export class StoreMigrationError extends Error {
  override readonly name = 'StoreMigrationError';
  constructor(
    readonly applied: number,
    readonly expected: number,
  ) {
    super(
      applied < expected
        ? `the store's schema is at version ${applied}, this ghostgate needs ${expected}: run \`ghostgate migrate\``
        : `the store's schema is at version ${applied}, newer than this ghostgate knows (${expected}): run a newer ghostgate`,
    );
  }
}

/**
 * Wraps an adapter so that every failure of its methods (thrown or rejected)
 * is a StoreUnavailableError. Each adapter returns its store through this, so
 * callers never need to know the driver's error classes.
 */
export function guardStore<S extends object>(store: S): S {
  const wrap =
    (fn: (...a: unknown[]) => unknown, self: unknown) =>
    async (...args: unknown[]) => {
      try {
        return await fn.apply(self, args);
      } catch (err) {
        throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
      }
    };
  const guardPart = (part: object): object =>
    Object.fromEntries(
      Object.entries(part).map(([name, v]) => [name, typeof v === 'function' ? wrap(v as (...a: unknown[]) => unknown, part) : v]),
    );
  return Object.fromEntries(
    Object.entries(store as Record<string, unknown>).map(([name, v]) => [
      name,
      typeof v === 'function' ? wrap(v as (...a: unknown[]) => unknown, store) : v && typeof v === 'object' ? guardPart(v) : v,
    ]),
  ) as S;
}

/** How deep a chain of child keys may be. */
export const MAX_KEY_DEPTH = 8;

/**
 * A key's ancestors, parent first; undefined when one is gone (or the chain is
 * deeper than MAX_KEY_DEPTH): such a key is refused as revoked.
 */
export async function loadAncestors(key: KeyRecord, get: (id: string) => Promise<KeyRecord | undefined>): Promise<KeyRecord[] | undefined> {
  const ancestors: KeyRecord[] = [];
  for (let p = key.parentId; p !== null;) {
    const parent = await get(p);
    if (!parent || ancestors.length >= MAX_KEY_DEPTH) return undefined;
    ancestors.push(parent);
    p = parent.parentId;
  }
  return ancestors;
}

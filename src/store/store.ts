import type { Grant } from '../grants/grant.js';

/**
 * The Store interface: one per database driver (sqlite/ today, postgres/
 * next), each passing store.contract.ts. Methods are async so that a network
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
   * One key. Drivers may cache, but never past a change: a revocation made by
   * any process is seen by the very next get().
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
   * Takes one use of a key with max uses, atomically: false when none is left
   * (uses + uses in flight >= max). Settle it with `settleUse`.
   */
  reserveUse(id: string): Promise<boolean>;
  /** Ends a reservation: counts the use when the request succeeded, frees it otherwise. */
  settleUse(id: string, succeeded: boolean, at: number): Promise<void>;
  /** Counts successful uses of keys without max uses, batched by the caller. */
  recordUses(uses: readonly { id: string; count: number; lastAt: number }[]): Promise<void>;
  /** Adds one request to the key's count for the UTC day; returns the new count. */
  countDaily(id: string, day: string): Promise<number>;
}

/**
 * The ledger: ids of the records each key created, taken from Ghost's
 * answers. It backs "created by this key" constraints and webhook ownership.
 */
export interface LedgerStore {
  add(keyId: string, resource: string, recordId: string, at: number): Promise<void>;
  ids(keyId: string, resource: string): Promise<string[]>;
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
  /** A pending relay, made before Ghost is asked, so an early delivery finds it. */
  add(r: NewRelay): Promise<void>;
  /** Ghost created the webhook: the relay is active under Ghost's id. */
  activate(id: string, ghostId: string, at: number): Promise<void>;
  /** Ghost refused the creation: the pending relay goes. */
  discard(id: string): Promise<void>;
  update(id: string, changes: { event?: string; targetUrl?: string; secretSealed?: string | null }, at: number): Promise<void>;
  /** Marks the relay retired; false when it already was. */
  retire(id: string, reason: string, at: number): Promise<boolean>;
  get(id: string): Promise<RelayRecord | undefined>;
  byGhostId(ghostId: string): Promise<RelayRecord | undefined>;
  list(filter?: { keyId?: string; status?: RelayStatus }): Promise<RelayRecord[]>;
}

export interface Store {
  readonly keys: KeyStore;
  readonly ledger: LedgerStore;
  readonly settings: SettingStore;
  readonly webhooks: WebhookRelayStore;
  close(): Promise<void>;
}

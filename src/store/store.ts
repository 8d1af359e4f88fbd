import type { Grant } from '../grants/grant.js';

/**
 * The Store interface: one per database driver (sqlite/ today, postgres/
 * next), each passing store.contract.ts. Methods are async so that a network
 * database fits without changing callers.
 */
export type KeyStatus = 'active' | 'revoked';

export interface KeyRecord {
  readonly id: string;
  readonly name: string;
  readonly grant: Grant;
  readonly status: KeyStatus;
  /** Secret generation: the secret is derived from (master, id, generation). */
  readonly generation: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  readonly useCount: number;
}

export interface NewKey {
  readonly id: string;
  readonly name: string;
  readonly grant: Grant;
  readonly createdAt: number;
}

export interface KeyStore {
  create(key: NewKey): Promise<KeyRecord>;
  get(id: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  /** Returns false when no active key had that id. */
  revoke(id: string, at: number): Promise<boolean>;
  /** Records a use that reached Ghost. */
  recordUse(id: string, at: number): Promise<void>;
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

export interface Store {
  readonly keys: KeyStore;
  readonly ledger: LedgerStore;
  readonly settings: SettingStore;
  close(): Promise<void>;
}

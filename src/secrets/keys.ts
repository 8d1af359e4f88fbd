import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSigner } from 'fast-jwt';

/**
 * The one home of key material. ghostgate keys look exactly like Ghost's
 * Admin API keys: 24 hex id, colon, 64 hex secret (core/server/models/api-key.js; @tryghost/admin-api checks the same format).
 *
 * No key secret is stored. A key's secret is derived from the master secret,
 * the key id and the key's secret generation (bumped by rotation):
 *   secret = HMAC-SHA256(master, "ghostgate/key/v1" 0x00 id 0x00 generation)
 * so a copy of the database mints nothing, and revoking a key is a row state.
 */
export const KEY_ID_PATTERN = /^[0-9a-f]{24}$/;
export const KEY_PATTERN = /^([0-9a-f]{24}):([0-9a-f]{64})$/;
export const MASTER_SECRET_BYTES = 32;

export class MasterSecret {
  private readonly bytes: Buffer;

  constructor(hex: string) {
    const clean = hex.trim();
    if (!/^[0-9a-f]+$/i.test(clean) || clean.length < MASTER_SECRET_BYTES * 2 || clean.length % 2 !== 0) {
      throw new Error(`the master secret must be at least ${MASTER_SECRET_BYTES * 2} hex characters`);
    }
    this.bytes = Buffer.from(clean, 'hex');
  }

  static generateHex(): string {
    return randomBytes(MASTER_SECRET_BYTES).toString('hex');
  }

  // Derived secrets, kept in memory only (they are recomputable from the master secret anyway).
  private readonly derived = new Map<string, Buffer>();

  /** The 32 raw bytes a client hex-decodes and signs with (@tryghost/admin-api lib/token.js: `Buffer.from(secret, 'hex')`). */
  keySecret(keyId: string, generation: number): Buffer {
    const id = `${keyId}\0${generation}`;
    let secret = this.derived.get(id);
    if (!secret) {
      if (this.derived.size >= 10_000) this.derived.clear();
      secret = createHmac('sha256', this.bytes).update(`ghostgate/key/v1\0${id}`).digest();
      this.derived.set(id, secret);
    }
    return secret;
  }

  /** A sub-key for another purpose (e.g. encrypting the upstream credential at rest). */
  subKey(purpose: string): Buffer {
    return createHmac('sha256', this.bytes).update(`ghostgate/subkey/v1\0${purpose}`).digest();
  }

  /** Never print the secret, even by accident. */
  toJSON(): string {
    return '[master secret]';
  }
}

export function newKeyId(): string {
  return randomBytes(12).toString('hex');
}

/** The string handed to the tool, once. */
export function formatKey(keyId: string, secret: Buffer): string {
  return `${keyId}:${secret.toString('hex')}`;
}

export function parseKey(key: string): { id: string; secret: Buffer } | undefined {
  const m = KEY_PATTERN.exec(key.trim());
  if (!m) return undefined;
  return { id: m[1]!, secret: Buffer.from(m[2]!, 'hex') };
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Signs Ghost Admin API tokens with a key, exactly as the official client does
 * (@tryghost/admin-api lib/token.js): HS256, `kid` the key id, the given `aud`
 * (`/admin/` or `/<version>/admin/`), `exp` 5 minutes after `iat`. `iat` is
 * taken from `nowMs` when given (deterministic), else from the clock.
 */
export function adminTokenSigner(key: string | { readonly id: string; readonly secret: Buffer }): (aud: string, nowMs?: number) => string {
  const parsed = typeof key === 'string' ? parseKey(key) : key;
  if (!parsed) throw new Error('the key is not <24 hex id>:<64 hex secret>');
  const sign: (p: Record<string, unknown>) => string = createSigner({
    key: parsed.secret,
    algorithm: 'HS256',
    kid: parsed.id,
    expiresIn: 300_000,
  });
  return (aud, nowMs) => sign(nowMs === undefined ? { aud } : { aud, iat: Math.floor(nowMs / 1000) });
}

import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './keys.js';

/**
 * The one home of admin API token material (the management API, docs/api.md).
 * A token is `ggadm_<24 hex id>_<64 hex secret>`: the id finds the row, the
 * secret is 256 random bits shown once and stored only as its SHA-256. A
 * random 256-bit secret needs no slow hash (nothing to guess), and a copy of
 * the store cannot be turned back into a token. The `ggadm_` prefix lets
 * secret scanners (GitHub's, gitleaks) recognise a leaked token.
 */
export const ADMIN_TOKEN_PREFIX = 'ggadm_';
const TOKEN_PATTERN = /^ggadm_([0-9a-f]{24})_([0-9a-f]{64})$/;

export function newAdminToken(): { id: string; token: string; secretHash: string } {
  const id = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { id, token: `${ADMIN_TOKEN_PREFIX}${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The id and secret of a well-formed token; undefined for anything else. */
export function parseAdminToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Whether a presented secret is the one whose hash is stored: compared in constant time. */
export function adminSecretMatches(secret: string, storedHash: string): boolean {
  return constantTimeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(storedHash, 'hex'));
}

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Admin passwords, hashed with scrypt (node:crypto; RFC 7914). Parameters:
 * N = 2^15, r = 8, p = 1 (32 MiB, about 60 ms on this machine's cores), a
 * 16-byte random salt, a 32-byte hash; OWASP's password storage cheat sheet
 * gives N = 2^17 as its first choice and N = 2^15 with p = 3 as equal; we keep
 * p = 1 and N = 2^15 so that sign-ins stay cheap for a small server, and the
 * parameters are stored in each hash so they can be raised later.
 * Encoded as `scrypt$N$r$p$salt$hash` (base64url).
 */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

const derive = (password: string, salt: Buffer, N: number, r: number, p: number, keyLen: number) =>
  new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLen, { N, r, p, maxmem: 128 * N * r * 2 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });

/** Why a password cannot be used, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `a password has at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `a password has at most ${PASSWORD_MAX} characters`;
  return undefined;
}

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLen);
  const hash = await derive(password, salt, params.N, params.r, params.p, SCRYPT.keyLen);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Constant-time comparison; a malformed stored hash never verifies. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = encoded.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (![N, R, P].every((x) => Number.isInteger(x) && x > 0) || N > 2 ** 20) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), N, R, P, want.length);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash to verify against when the account does not exist, so a sign-in costs the same either way. */
export const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

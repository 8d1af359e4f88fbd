import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226) with node:crypto: HMAC-SHA1, 30-second
 * steps, 6 digits: what Google Authenticator, 1Password and the like accept
 * from an otpauth:// URI. One step either side is accepted for clock drift.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const TOTP_STEP_MS = 30_000;

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET.charAt((value << (5 - bits)) & 31);
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new secret: 20 random bytes (RFC 4226 recommends 160 bits), base32. */
export const newTotpSecret = (): string => base32Encode(randomBytes(20));

/** RFC 4226 section 5.3: dynamic truncation of HMAC-SHA1(secret, counter). */
export function hotp(secret: Buffer, counter: number, digits = 6): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, '0');
}

export const totp = (secret: Buffer, at: number, digits = 6) => hotp(secret, Math.floor(at / TOTP_STEP_MS), digits);

/**
 * The step (`floor(at / 30 s)`) whose code `code` is, at `at` or one step either side; undefined when none.
 * Every candidate is compared, in constant time each. A caller that signs someone in takes the step
 * once (AdminStore.useTotpStep), so a code seen over a shoulder or in a log cannot be replayed.
 */
export function totpStep(secretBase32: string, code: string, at: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const secret = base32Decode(secretBase32);
  const now = Math.floor(at / TOTP_STEP_MS);
  let found: number | undefined;
  for (const step of [now - 1, now, now + 1]) {
    if (timingSafeEqual(Buffer.from(hotp(secret, step)), Buffer.from(code))) found ??= step;
  }
  return found;
}

/** Whether `code` is the code of the step at `at` or one step either side. */
export const verifyTotp = (secretBase32: string, code: string, at: number): boolean => totpStep(secretBase32, code, at) !== undefined;

/** The otpauth:// URI an authenticator app reads (Google's Key Uri Format). */
export const otpauthUri = (secretBase32: string, account: string, issuer = 'ghostgate') =>
  `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;

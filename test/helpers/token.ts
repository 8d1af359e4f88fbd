import { createSigner } from 'fast-jwt';

/** Signs a token the way @tryghost/admin-api does (reference 5): HS256, kid, aud, exp = iat + 5 min. */
export function clientToken(key: string, aud = '/admin/'): string {
  const [id, secret] = key.split(':');
  return createSigner({ key: Buffer.from(secret!, 'hex'), algorithm: 'HS256', kid: id!, expiresIn: 300_000 })({ aud });
}

export function authHeader(key: string, aud = '/admin/'): string {
  return `Ghost ${clientToken(key, aud)}`;
}

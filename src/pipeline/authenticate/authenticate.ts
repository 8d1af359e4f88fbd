import { createHmac, timingSafeEqual } from 'node:crypto';
import { createDecoder, type DecodedJwt } from 'fast-jwt';
import type { ErrorCode } from '../../errors/errors.js';
import type { ApiVersion } from '../resolve-route/canonical.js';
import { KEY_ID_PATTERN } from '../../secrets/keys.js';

/**
 * Authenticates `Authorization: Ghost <jwt>` as Ghost does
 * (ghost/core/core/server/services/auth/api-key/admin.js), and stricter where
 * Ghost is loose (admin.js matches the `Ghost` scheme case-insensitively and
 * checks `aud` with the end-anchored `new RegExp(`/?${version}/${api}/?$`)`):
 * - HS256 only; the header may not carry keys or critical extensions;
 * - `aud` must be a string equal to the path's API version (`/admin/`,
 *   `/v4/admin/`, `/canary/admin/`), not merely end in "admin";
 * - `iat` and `exp` required; `iat` not in the future beyond the skew;
 *   lifetime `exp - iat` and age `now - iat` at most 5 minutes.
 * Time checks use the `now` handed in, so the function is deterministic.
 */
export const MAX_TOKEN_LIFETIME_S = 300;

export interface AuthOptions {
  /** Seconds of clock skew tolerated for iat/nbf/exp. */
  readonly clockSkewS: number;
}

export type TokenCheck =
  { ok: true; keyId: string; verify: (secret: Buffer) => TokenVerdict } | { ok: false; code: ErrorCode; context: string };

export type TokenVerdict = { ok: true } | { ok: false; code: ErrorCode; context: string };

const decode = createDecoder({ complete: true });
const ALLOWED_HEADER_FIELDS = new Set(['alg', 'typ', 'kid']);

export function audienceFor(version: ApiVersion): string {
  return version === '' ? '/admin/' : `/${version}/admin/`;
}

function fail(code: ErrorCode, context: string): { ok: false; code: ErrorCode; context: string } {
  return { ok: false, code, context };
}

/** The gateway's own key API (child keys) takes tokens for this audience only, so Admin API tokens cannot be replayed there. */
export const GATEWAY_AUDIENCE = '/ghostgate/';

/**
 * Step one: parse the header and every claim that does not need the key.
 * Returns the key id to look up and a `verify` for the signature.
 */
export function checkToken(authorization: string | undefined, expectedAud: string, nowMs: number, opts: AuthOptions): TokenCheck {
  if (authorization === undefined || authorization === '') return fail('AUTH_MISSING', 'no Authorization header');
  const space = authorization.indexOf(' ');
  // Ghost accepts `ghost` in any case (/^Ghost$/i); so do we, but only one space and one token.
  if (space === -1 || authorization.slice(0, space).toLowerCase() !== 'ghost') return fail('AUTH_SCHEME', 'scheme is not Ghost');
  const token = authorization.slice(space + 1);
  if (token.includes(' ') || token.length === 0 || token.length > 2048) return fail('AUTH_SCHEME', 'expected exactly one token');

  let parsed = PARSED.get(token);
  // Stryker disable next-line ConditionalExpression: reading a kept token again gives the same parse (work saved only)
  if (parsed === undefined) {
    const read = parseToken(token);
    if (!read.ok) return read;
    parsed = read.parsed;
    // Stryker disable next-line EqualityOperator,ConditionalExpression: emptied an entry early, or every time, changes no answer (the forced-false, an unbounded map, is killed by the bound test and ignored with it)
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    PARSED.set(token, parsed);
  }
  const { kid, payload } = parsed;
  if (payload.aud !== expectedAud) return fail('TOKEN_AUDIENCE', `aud must be "${expectedAud}" on this path`);
  const { iat, exp, nbf } = payload;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('TOKEN_IAT_MISSING', 'iat is required');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('TOKEN_EXPIRED', 'exp is required');
  const now = nowMs / 1000;
  if (iat > now + opts.clockSkewS) return fail('TOKEN_IAT_FUTURE', 'iat is in the future');
  if (exp - iat > MAX_TOKEN_LIFETIME_S) return fail('TOKEN_LIFETIME', 'exp - iat is over 300 seconds');
  // The age of iat is at most 5 minutes and the skew: exp - iat <= 300 and exp > now - skew imply it.
  if (exp <= now - opts.clockSkewS) return fail('TOKEN_EXPIRED', 'exp has passed');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + opts.clockSkewS))
    return fail('TOKEN_NOT_YET_VALID', 'nbf is in the future');

  const known = parsed;
  return {
    ok: true,
    keyId: kid,
    verify: (secret) => {
      // The very secret object that verified these bytes before (a key's secret is derived once, src/secrets/keys.ts).
      // Stryker disable next-line ConditionalExpression: checking that secret again gives the same verdict (work saved only)
      if (known.verifiedWith === secret) return VERIFIED;
      const v = verifySignature(known.input, known.signature, secret);
      // Stryker disable next-line ConditionalExpression: not remembering a success only checks it again next time
      if (v.ok) known.verifiedWith = secret;
      return v;
    },
  };
}

/**
 * Tokens already read, by their exact text. The official client signs a new token for each call, with
 * `iat` in whole seconds (@tryghost/admin-api lib/token.js), so a client's calls within one second carry
 * the same token. Kept: what the bytes alone decide (the header's checks, the claims) and the secret
 * object that verified the signature. The audience and time checks run on every call, and any other
 * secret (a rotated key's, another key's) is checked afresh. Emptied when full: an entry is only work saved.
 */
interface ParsedToken {
  readonly kid: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `header.payload` as received, and the signature as received. */
  readonly input: string;
  readonly signature: string;
  verifiedWith?: Buffer;
}
const PARSED = new Map<string, ParsedToken>();
export const MAX_PARSED = 10_000;
/** How many tokens are kept read now (a test of the bound). */
export const parsedTokens = (): number => PARSED.size;
const VERIFIED: TokenVerdict = { ok: true };

/** The checks of a token's header and payload that depend on its bytes alone. */
function parseToken(token: string): { ok: true; parsed: ParsedToken } | { ok: false; code: ErrorCode; context: string } {
  let decoded: DecodedJwt;
  try {
    decoded = decode(token) as DecodedJwt;
  } catch {
    return fail('TOKEN_MALFORMED', 'token does not decode');
  }
  const header = decoded.header as Record<string, unknown>;
  const rawPayload: unknown = decoded.payload;
  if (typeof rawPayload !== 'object' || rawPayload === null || Array.isArray(rawPayload))
    return fail('TOKEN_MALFORMED', 'payload is not an object');
  if (header.alg !== 'HS256') {
    // JSON.stringify(undefined) is undefined (its declared type says string).
    const alg = (JSON.stringify(header.alg) as string | undefined)?.slice(0, 20) ?? 'missing';
    return fail('TOKEN_ALGORITHM', `alg ${alg} is not HS256`);
  }
  for (const field of Object.keys(header)) {
    // CASE: jwk/jku/x5u/crit and friends invite key confusion; Ghost's clients send only alg, typ, kid.
    if (!ALLOWED_HEADER_FIELDS.has(field)) return fail('TOKEN_MALFORMED', `header field "${field.slice(0, 20)}" is not accepted`);
  }
  if (header.typ !== undefined && header.typ !== 'JWT') return fail('TOKEN_MALFORMED', 'typ is not JWT');
  const kid = header.kid;
  if (typeof kid !== 'string' || !KEY_ID_PATTERN.test(kid)) return fail('TOKEN_KID_MISSING', 'kid is not a 24 hex key id');
  const { input, signature } = decoded as unknown as { input: string; signature: string };
  return { ok: true, parsed: { kid, payload: rawPayload as Record<string, unknown>, input, signature } };
}

/**
 * HS256 over the token's `header.payload` exactly as received, compared in
 * constant time. fast-jwt has already parsed the token strictly (base64url
 * only, JSON objects); checking the signature on those same bytes here spares
 * a second parse per request (measured: docs/benchmarks.md).
 */
function verifySignature(input: string, signature: string, secret: Buffer): TokenVerdict {
  const expected = createHmac('sha256', secret).update(input).digest();
  const given = Buffer.from(signature, 'base64url');
  // CASE: base64url decoding ignores trailing bits; require the canonical encoding too.
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== signature) {
    return fail('TOKEN_SIGNATURE', 'invalid signature');
  }
  return { ok: true };
}

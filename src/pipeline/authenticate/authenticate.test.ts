import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { audienceFor, checkToken, GATEWAY_AUDIENCE, MAX_PARSED, parsedTokens } from './authenticate.js';

const KID = 'a1b2c3d4e5f6a1b2c3d4e5f6';
const SECRET = Buffer.alloc(32, 7);
const NOW = 1_800_000_000_000;
const now = NOW / 1000;
const OPTS = { clockSkewS: 30 };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A token signed by hand, so that every field can be wrong on purpose. */
function token(header: Record<string, unknown>, payload: Record<string, unknown>, key: Buffer | string = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = createHmac('sha256', key).update(input).digest('base64url');
  return `${input}.${sig}`;
}
const H = { alg: 'HS256', typ: 'JWT', kid: KID };
const P = { iat: now - 10, exp: now + 290, aud: '/admin/' };

function verdict(auth: string | undefined, version: '' | 'v4' | 'canary' = '', secret = SECRET): string {
  const c = checkToken(auth, audienceFor(version), NOW, OPTS);
  if (!c.ok) return c.code;
  const v = c.verify(secret);
  return v.ok ? 'OK' : v.code;
}

test('accepts a token made the way @tryghost/admin-api makes it', () => {
  const sign = createSigner({ key: SECRET, algorithm: 'HS256', kid: KID, expiresIn: 300_000, clockTimestamp: NOW - 1000 });
  assert.equal(verdict(`Ghost ${sign({ aud: '/admin/' })}`), 'OK');
  assert.equal(verdict(`ghost ${token(H, P)}`), 'OK'); // Ghost accepts the scheme in any case
});

test('the audience must match the path version exactly', () => {
  assert.equal(verdict(`Ghost ${token(H, { ...P, aud: '/v4/admin/' })}`, 'v4'), 'OK');
  assert.equal(verdict(`Ghost ${token(H, { ...P, aud: '/canary/admin/' })}`, 'canary'), 'OK');
  assert.equal(verdict(`Ghost ${token(H, { ...P, aud: '/admin/' })}`, 'v4'), 'TOKEN_AUDIENCE');
  assert.equal(verdict(`Ghost ${token(H, { ...P, aud: '/v4/admin/' })}`), 'TOKEN_AUDIENCE');
  // Ghost's end-anchored regex accepts these; the gateway does not (core/server/services/auth/api-key/admin.js: `new RegExp(`/?${api}/?$`)`).
  for (const aud of ['xadmin', '/v5/admin/', 'https://example.com/ghost/api/admin/', '/content/', ['/admin/'], undefined]) {
    assert.equal(verdict(`Ghost ${token(H, { ...P, aud })}`), 'TOKEN_AUDIENCE', JSON.stringify(aud));
  }
});

test('refuses a missing or foreign Authorization scheme', () => {
  assert.equal(verdict(undefined), 'AUTH_MISSING');
  assert.equal(verdict(''), 'AUTH_MISSING');
  assert.equal(verdict(`Bearer ${token(H, P)}`), 'AUTH_SCHEME');
  assert.equal(verdict('Ghost'), 'AUTH_SCHEME');
  assert.equal(verdict(`Ghost  ${token(H, P)}`), 'AUTH_SCHEME');
  assert.equal(verdict(`Ghost ${token(H, P)} extra`), 'AUTH_SCHEME');
});

test('refuses malformed tokens', () => {
  for (const t of [
    'x',
    'a.b',
    'a.b.c',
    `${b64(H)}.notjson.sig`,
    `${b64(H)}.${b64(P)}`,
    `${b64(H)}.${b64([1])}.AAAA`,
    `${b64(H)}.${b64(P)}.sig=`,
  ]) {
    assert.equal(verdict(`Ghost ${t}`), 'TOKEN_MALFORMED', t);
  }
});

test('alg none, RS256 and HS512 are refused (algorithm confusion)', () => {
  assert.equal(verdict(`Ghost ${b64({ ...H, alg: 'none' })}.${b64(P)}.`), 'TOKEN_ALGORITHM');
  assert.equal(verdict(`Ghost ${token({ ...H, alg: 'RS256' }, P)}`), 'TOKEN_ALGORITHM');
  assert.equal(verdict(`Ghost ${token({ ...H, alg: 'HS512' }, P)}`), 'TOKEN_ALGORITHM');
  assert.equal(verdict(`Ghost ${token({ ...H, alg: 'hs256' }, P)}`), 'TOKEN_ALGORITHM');
});

test('header key material and critical extensions are refused', () => {
  assert.equal(verdict(`Ghost ${token({ ...H, jwk: { kty: 'oct', k: 'AAAA' } }, P)}`), 'TOKEN_MALFORMED');
  assert.equal(verdict(`Ghost ${token({ ...H, jku: 'https://evil.example/keys' }, P)}`), 'TOKEN_MALFORMED');
  assert.equal(verdict(`Ghost ${token({ ...H, crit: ['exp'] }, P)}`), 'TOKEN_MALFORMED');
  assert.equal(verdict(`Ghost ${token({ ...H, typ: 'at+jwt' }, P)}`), 'TOKEN_MALFORMED');
});

test('kid must be a 24 hex key id (no injection)', () => {
  for (const kid of [undefined, '', 'A1B2C3D4E5F6A1B2C3D4E5F6', `${KID}0`, "' OR 1=1 --", '../../etc/passwd', 42]) {
    assert.equal(verdict(`Ghost ${token({ ...H, kid }, P)}`), 'TOKEN_KID_MISSING', String(kid));
  }
});

test('iat and exp are required; lifetime and age are capped at 5 minutes; future iat is refused', () => {
  const { iat: _i, ...noIat } = P;
  const { exp: _e, ...noExp } = P;
  assert.equal(verdict(`Ghost ${token(H, noIat)}`), 'TOKEN_IAT_MISSING');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: 'yesterday' })}`), 'TOKEN_IAT_MISSING');
  assert.equal(verdict(`Ghost ${token(H, noExp)}`), 'TOKEN_EXPIRED');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now - 10, exp: now + 3600 })}`), 'TOKEN_LIFETIME');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now + 3600, exp: now + 3700 })}`), 'TOKEN_IAT_FUTURE');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now + 20, exp: now + 300 })}`), 'OK'); // within skew
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now - 400, exp: now - 100 })}`), 'TOKEN_EXPIRED');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now - 340, exp: now - 40 })}`), 'TOKEN_EXPIRED');
  assert.equal(verdict(`Ghost ${token(H, { ...P, nbf: now + 120 })}`), 'TOKEN_NOT_YET_VALID');
});

test('a wrong secret, a hex-string key and a stripped signature fail the signature check', () => {
  assert.equal(verdict(`Ghost ${token(H, P, Buffer.alloc(32, 8))}`), 'TOKEN_SIGNATURE');
  // Signed with the hex text instead of the decoded bytes (a common client bug).
  assert.equal(verdict(`Ghost ${token(H, P, SECRET.toString('hex'))}`), 'TOKEN_SIGNATURE');
  const [h, p] = token(H, P).split('.');
  assert.equal(verdict(`Ghost ${h}.${p}.`), 'TOKEN_SIGNATURE');
});

test('every algorithm label but HS256 is refused, even on a token whose HS256 signature verifies', () => {
  // CASE: the signature is always checked as HMAC-SHA256, so a wrong label would otherwise pass unnoticed.
  for (const alg of ['HS384', 'HS512', 'HS256 ', 'Hs256', 'RS256', 'ES256', 'PS256', 'EdDSA', 'none', '', 256, null]) {
    assert.equal(verdict(`Ghost ${token({ ...H, alg }, P)}`), 'TOKEN_ALGORITHM', String(alg));
  }
  assert.equal(verdict(`Ghost ${token(H, P)}`), 'OK');
});

test('expiry, clock skew and size limits at their edges', () => {
  // exp passed although iat is recent (a short-lived token): expired.
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now - 100, exp: now - 31 })}`), 'TOKEN_EXPIRED');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now - 100, exp: now - 29 })}`), 'OK', 'within the skew');
  // iat exactly at the skew limit is accepted; one second beyond is not.
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now + 30, exp: now + 60 })}`), 'OK');
  assert.equal(verdict(`Ghost ${token(H, { ...P, iat: now + 31, exp: now + 60 })}`), 'TOKEN_IAT_FUTURE');
  // A header without typ is fine (typ is optional in RFC 7519); another typ is not.
  const { typ: _typ, ...noTyp } = H;
  assert.equal(verdict(`Ghost ${token(noTyp, P)}`), 'OK');
  assert.equal(verdict(`Ghost ${token({ ...H, typ: 'JOSE' }, P)}`), 'TOKEN_MALFORMED');
  // At most 2048 characters of token.
  const padded = token(H, { ...P, pad: 'x'.repeat(2048) });
  assert.equal(verdict(`Ghost ${padded}`), 'AUTH_SCHEME');
  const fits = token(H, { ...P, pad: '' });
  const room = 2048 - fits.length;
  const exact = token(H, { ...P, pad: 'x'.repeat(Math.floor((room * 3) / 4)) });
  assert.ok(exact.length <= 2048, 'exact.length <= 2048');
  assert.equal(verdict(`Ghost ${exact}`), 'OK');
});

test('the edges of exp, nbf and the age of iat, each on the accepting side', () => {
  for (const [payload, expected] of [
    // exp exactly at now - skew has passed; one second later it has not.
    [{ iat: now - 100, exp: now - 30 }, 'TOKEN_EXPIRED'],
    [{ iat: now - 100, exp: now - 29 }, 'OK'],
    // A token issued 280 s ago that lives 290 s is still young enough (the cap is 300 s plus the skew).
    [{ iat: now - 280, exp: now + 10 }, 'OK'],
    // nbf now, in the past or exactly at the skew is valid; beyond the skew or not a number is not.
    [{ ...P, nbf: now }, 'OK'],
    [{ ...P, nbf: now - 100 }, 'OK'],
    [{ ...P, nbf: now + 30 }, 'OK'],
    [{ ...P, nbf: now + 31 }, 'TOKEN_NOT_YET_VALID'],
    [{ ...P, nbf: 'now' }, 'TOKEN_NOT_YET_VALID'],
  ] as const) {
    assert.equal(verdict(`Ghost ${token(H, { ...P, ...payload })}`), expected, JSON.stringify(payload));
  }
});

test('an empty token after the scheme is refused as a bad scheme', () => {
  assert.equal(verdict('Ghost '), 'AUTH_SCHEME');
  // No space at all: the whole header is not a scheme, even when all but its last character spells one.
  assert.equal(verdict('GhostX'), 'AUTH_SCHEME');
});

test('a signature in a non-canonical base64url spelling (same bytes, other trailing bits) is refused', () => {
  const t = token(H, P);
  const sig = t.slice(t.lastIndexOf('.') + 1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // 32 bytes take 43 characters; the last one carries 2 unused bits.
  const last = alphabet.indexOf(sig.at(-1)!);
  const variant = `${t.slice(0, -1)}${alphabet[last ^ 1]}`;
  assert.deepEqual(Buffer.from(variant.slice(variant.lastIndexOf('.') + 1), 'base64url'), Buffer.from(sig, 'base64url'));
  assert.equal(verdict(`Ghost ${variant}`), 'TOKEN_SIGNATURE');
  assert.equal(verdict(`Ghost ${t}`), 'OK');
});

test("the gateway's own key API takes tokens for /ghostgate/ only, and Admin API tokens are not those", () => {
  const check = (aud: string) => {
    const c = checkToken(`Ghost ${token(H, { ...P, aud })}`, GATEWAY_AUDIENCE, NOW, OPTS);
    return c.ok ? (c.verify(SECRET).ok ? 'OK' : 'SIGNATURE') : c.code;
  };
  assert.equal(check('/ghostgate/'), 'OK');
  for (const aud of ['/admin/', '', '/v4/admin/']) assert.equal(check(aud), 'TOKEN_AUDIENCE', aud);
});

test('a token read before is checked again on every call: its audience, its times, and any secret but the one that verified it', () => {
  const auth = `Ghost ${token(H, { ...P, jti: 'read-before' })}`;
  const at = (nowMs: number, version: '' | 'v4' = '') => {
    const c = checkToken(auth, audienceFor(version), nowMs, OPTS);
    assert.ok(c.ok || c.code !== 'TOKEN_MALFORMED', 'the token reads');
    return c;
  };
  const other = Buffer.alloc(32, 8);
  const code = (v: false | { ok: boolean; code?: string }) => (v === false ? 'not read' : v.ok ? 'OK' : v.code);
  const first = at(NOW);
  assert.equal(code(first.ok && first.verify(other)), 'TOKEN_SIGNATURE', 'a wrong secret first');
  const again = at(NOW);
  assert.equal(code(again.ok && again.verify(other)), 'TOKEN_SIGNATURE', 'a secret that failed is not remembered as verified');
  assert.equal(again.ok && again.verify(SECRET).ok, true);
  const read = at(NOW);
  assert.equal(code(read.ok && read.verify(other)), 'TOKEN_SIGNATURE', 'another secret is checked afresh after a success');
  assert.equal(read.ok && read.verify(Buffer.from(SECRET)).ok, true, 'the same bytes in another buffer verify too');
  assert.equal(read.ok && read.verify(SECRET).ok, true);
  const v4 = at(NOW, 'v4');
  assert.equal(!v4.ok && v4.code, 'TOKEN_AUDIENCE', 'the audience is checked on every call');
  const late = at(NOW + 400_000);
  assert.equal(!late.ok && late.code, 'TOKEN_EXPIRED', 'and the time');
  // The same header and payload with another signature is another token.
  const [h, p] = auth.slice('Ghost '.length).split('.');
  const forged = checkToken(`Ghost ${h}.${p}.${createHmac('sha256', other).update(`${h}.${p}`).digest('base64url')}`, '/admin/', NOW, OPTS);
  assert.equal(code(forged.ok && forged.verify(SECRET)), 'TOKEN_SIGNATURE');
});

test('the tokens kept read are bounded: the store of them is emptied when full', () => {
  for (let i = 0; i <= MAX_PARSED; i++) {
    const c = checkToken(`Ghost ${token(H, { ...P, jti: `bound-${i}` })}`, '/admin/', NOW, OPTS);
    assert.equal(c.ok, true, 'each reads');
    assert.ok(parsedTokens() <= MAX_PARSED, `at most ${MAX_PARSED} kept`);
  }
  assert.ok(parsedTokens() < MAX_PARSED, 'emptied once full');
});

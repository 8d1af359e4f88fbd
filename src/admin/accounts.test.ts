import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterSecret } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { addAdmin, completeSetup, disableTotp, enrolTotp, removeAdmin, sessionFor, setupAccount, signIn, signOut } from './accounts.js';
import { adminEventEntry } from './actor.js';
import { AdminError } from './errors.js';
import { hashPassword, verifyPassword } from './password.js';
import { collectAccessRequest, createAccessRequest, decideAccessRequest, requestForToken } from './requests.js';
import { LoginThrottle } from './throttle.js';
import { base32Decode, base32Encode, hotp, newTotpSecret, totp, verifyTotp } from './totp.js';
import { ConfigSchema } from '../config/config.js';

/** Console accounts, sessions, TOTP and throttling on a real SQLite store, with the clock passed in. */
const T0 = Date.parse('2026-11-28T00:00:00Z');
const POLICY = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };
const refusal = (code: string) => (e: unknown) => e instanceof AdminError && e.code === code;
const setup = () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ghostgate-accounts-')), 'k.db'));
  const master = new MasterSecret(MasterSecret.generateHex());
  return { store, master, ctx: { store, master } };
};

test('scrypt: a hash verifies its password only, carries its parameters, and a malformed hash never verifies', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.notEqual(await hashPassword('correct horse battery'), h, 'salted');
  const cheap = await hashPassword('pw-with-low-cost', { N: 1024, r: 8, p: 1 });
  assert.equal(await verifyPassword('pw-with-low-cost', cheap), true, 'the stored parameters are used');
  for (const bad of ['', 'scrypt$x$8$1$a$b', 'bcrypt$1$2$3$4$5', `scrypt$${2 ** 30}$8$1$AAAA$AAAA`])
    assert.equal(await verifyPassword('x', bad), false);
});

test('TOTP: the RFC 4226 and RFC 6238 test vectors, base32 round trip, one step of drift either side', () => {
  const secret = Buffer.from('12345678901234567890');
  // RFC 4226 appendix D, counters 0..2.
  assert.deepEqual(
    [0, 1, 2].map((c) => hotp(secret, c)),
    ['755224', '287082', '359152'],
  );
  // RFC 6238 appendix B (SHA-1, 8 digits).
  assert.equal(totp(secret, 59_000, 8), '94287082');
  assert.equal(totp(secret, 1111111109_000, 8), '07081804');
  assert.equal(totp(secret, 20000000000_000, 8), '65353130');
  assert.deepEqual(base32Decode(base32Encode(secret)), secret);
  assert.equal(base32Encode(secret), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  const s = newTotpSecret();
  const code = totp(base32Decode(s), T0);
  assert.equal(verifyTotp(s, code, T0), true);
  assert.equal(verifyTotp(s, code, T0 + 30_000), true);
  assert.equal(verifyTotp(s, code, T0 + 90_000), false);
  assert.equal(verifyTotp(s, 'abcdef', T0), false);
});

test('throttle: per account and per address, in a sliding window; a success clears the account', () => {
  const t = new LoginThrottle({ perAccount: 3, perAddress: 5, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) t.fail('a@x', '1.1.1.1', T0 + i);
  assert.ok(t.retryAfterMs('A@x', '9.9.9.9', T0 + 10) > 59_000, 'the account is held from any address');
  assert.equal(t.retryAfterMs('b@x', '1.1.1.1', T0 + 10), 0, 'other accounts from that address are not (yet)');
  t.fail('b@x', '1.1.1.1', T0 + 20);
  t.fail('c@x', '1.1.1.1', T0 + 21);
  assert.ok(t.retryAfterMs('d@x', '1.1.1.1', T0 + 30) > 0, 'the address is held after 5 failures');
  assert.equal(t.retryAfterMs('a@x', '9.9.9.9', T0 + 60_001), 0, 'the window slides');
  const u = new LoginThrottle({ perAccount: 2, perAddress: 100, windowMs: 60_000 });
  u.fail('a@x', 'ip', T0);
  u.succeed('a@x');
  u.fail('a@x', 'ip', T0);
  assert.equal(u.retryAfterMs('a@x', 'ip', T0), 0);
});

test('accounts: no default account; the set-up link works once and expires; sign-in, idle and absolute expiry, sign-out', async () => {
  const { store, ctx } = setup();
  const throttle = new LoginThrottle();
  try {
    const none = await signIn(ctx, throttle, POLICY, { email: 'admin@x.test', password: 'admin', ip: 'i' }, T0);
    assert.equal(none.ok, false, 'nobody can sign in before an account is added');
    await assert.rejects(addAdmin(ctx, 'not an email', T0), refusal('INVALID'));
    const { token, account } = await addAdmin(ctx, 'Owner@X.test', T0);
    assert.equal(account.email, 'owner@x.test');
    assert.equal(account.passwordHash, null);
    await assert.rejects(addAdmin(ctx, 'owner@x.test', T0), refusal('INVALID'));
    const noPw = await signIn(ctx, throttle, POLICY, { email: 'owner@x.test', password: '', ip: 'i' }, T0);
    assert.equal(noPw.ok, false, 'an account not set up yet signs nobody in');
    assert.equal((await setupAccount(ctx, token, T0))?.id, account.id);
    await assert.rejects(completeSetup(ctx, token, 'short', T0), refusal('INVALID'));
    await assert.rejects(completeSetup(ctx, token, 'long enough password', T0 + 24 * 3600_000), refusal('NOT_FOUND'));
    await completeSetup(ctx, token, 'long enough password', T0 + 1000);
    await assert.rejects(completeSetup(ctx, token, 'another password!', T0 + 2000), refusal('NOT_FOUND'), 'single use');
    const wrong = await signIn(ctx, throttle, POLICY, { email: 'owner@x.test', password: 'wrong password!', ip: 'i' }, T0);
    assert.deepEqual([wrong.ok, !wrong.ok && wrong.code], [false, 'CONSOLE_SIGNIN_FAILED']);
    const ok = await signIn(ctx, throttle, POLICY, { email: 'owner@x.test', password: 'long enough password', ip: 'i' }, T0);
    assert.ok(ok.ok, 'ok.ok');
    assert.notEqual(ok.session.idHash, ok.sessionId, 'the session id is stored hashed');
    assert.equal((await sessionFor(ctx, POLICY, ok.sessionId, T0 + 29 * 60_000))?.account.id, account.id);
    assert.equal((await sessionFor(ctx, POLICY, ok.sessionId, T0 + 58 * 60_000))?.account.id, account.id, 'use keeps it alive');
    assert.equal(await sessionFor(ctx, POLICY, ok.sessionId, T0 + 89 * 60_000), undefined, 'idle for 31 minutes: over');
    const again = await signIn(ctx, throttle, POLICY, { email: 'owner@x.test', password: 'long enough password', ip: 'i' }, T0);
    assert.ok(again.ok, 'again.ok');
    let t = T0;
    for (; t < T0 + 12 * 3600_000; t += 20 * 60_000)
      assert.ok(await sessionFor(ctx, POLICY, again.sessionId, t), 'await sessionFor(ctx, POLICY, again.sessionId, t)');
    assert.equal(await sessionFor(ctx, POLICY, again.sessionId, T0 + 12 * 3600_000), undefined, 'absolute expiry');
    const third = await signIn(ctx, throttle, POLICY, { email: 'owner@x.test', password: 'long enough password', ip: 'i' }, T0);
    assert.ok(third.ok, 'third.ok');
    await signOut(ctx, third.sessionId);
    assert.equal(await sessionFor(ctx, POLICY, third.sessionId, T0), undefined);
    assert.equal(await sessionFor(ctx, POLICY, 'x'.repeat(43), T0), undefined);
    await removeAdmin(ctx, 'owner@x.test');
    await assert.rejects(removeAdmin(ctx, 'owner@x.test'), refusal('NOT_FOUND'));
  } finally {
    await store.close();
  }
});

test('accounts: throttled sign-ins are refused without checking the password; TOTP once enrolled', async () => {
  const { store, ctx } = setup();
  const throttle = new LoginThrottle({ perAccount: 2, perAddress: 100, windowMs: 60_000 });
  try {
    const { token } = await addAdmin(ctx, 'a@x.test', T0);
    const account = await completeSetup(ctx, token, 'long enough password', T0);
    const input = { email: 'a@x.test', password: 'long enough password', ip: 'i' };
    for (let i = 0; i < 2; i++) await signIn(ctx, throttle, POLICY, { ...input, password: 'nope nope nope' }, T0);
    const held = await signIn(ctx, throttle, POLICY, input, T0);
    assert.deepEqual([held.ok, !held.ok && held.code], [false, 'CONSOLE_SIGNIN_THROTTLED'], 'even the right password waits');
    const later = T0 + 61_000;
    // The TOTP part under the default limits (5 per account).
    const th = new LoginThrottle();
    const secret = newTotpSecret();
    const code = (at: number) => totp(base32Decode(secret), at);
    const first = await signIn(ctx, th, POLICY, input, later);
    assert.ok(first.ok, 'first.ok');
    const other = await signIn(ctx, th, POLICY, input, later);
    assert.ok(other.ok, 'other.ok');
    const check = { throttle: th, password: 'long enough password', ip: 'i', sessionIdHash: first.session.idHash };
    await assert.rejects(enrolTotp(ctx, account, secret, '000000', check, later), refusal('INVALID'));
    assert.equal(
      await enrolTotp(ctx, account, secret, code(later), { ...check, password: 'wrong wrong wrong' }, later),
      'CONSOLE_SIGNIN_FAILED',
    );
    assert.equal((await store.admins.account(account.id))?.totpSealed, null, 'a wrong password turns nothing on');
    assert.equal(await enrolTotp(ctx, account, secret, code(later), check, later), null);
    assert.notEqual((await store.admins.account(account.id))?.totpSealed, secret, 'sealed at rest');
    assert.ok(await sessionFor(ctx, POLICY, first.sessionId, later), 'the session that turned it on stays');
    assert.equal(await sessionFor(ctx, POLICY, other.sessionId, later), undefined, 'the account’s other sessions end');
    const need = await signIn(ctx, th, POLICY, input, later);
    assert.deepEqual([need.ok, !need.ok && need.code], [false, 'TOTP_REQUIRED']);
    const bad = await signIn(ctx, th, POLICY, { ...input, totp: '123456' }, later);
    assert.equal(bad.ok, false);
    const replayEnrol = await signIn(ctx, th, POLICY, { ...input, totp: code(later) }, later);
    assert.equal(replayEnrol.ok, false, 'the enrolment code does not sign in');
    const next = later + 30_000;
    const good = await signIn(ctx, th, POLICY, { ...input, totp: code(next) }, next);
    assert.equal(good.ok, true);
    const replay = await signIn(ctx, th, POLICY, { ...input, totp: code(next) }, next + 1000);
    assert.deepEqual([replay.ok, !replay.ok && replay.code], [false, 'CONSOLE_SIGNIN_FAILED'], 'a code signs in once');
    const older = await signIn(ctx, th, POLICY, { ...input, totp: code(later) }, next + 2000);
    assert.equal(older.ok, false, 'nor does an older one still inside the drift window');
    assert.ok(good.ok, 'good.ok');
    const off = { ...check, sessionIdHash: good.session.idHash };
    const t2 = next + 30_000;
    assert.equal(await disableTotp(ctx, account, { ...off, totp: undefined }, t2), 'CONSOLE_SIGNIN_FAILED', 'off needs the code');
    assert.equal(await disableTotp(ctx, account, { ...off, totp: code(next) }, t2 + 1), 'CONSOLE_SIGNIN_FAILED', 'a used code');
    assert.notEqual((await store.admins.account(account.id))?.totpSealed, null);
    assert.equal(await disableTotp(ctx, account, { ...off, totp: code(t2) }, t2 + 2), null);
    assert.equal((await store.admins.account(account.id))?.totpSealed, null);
    assert.equal(await sessionFor(ctx, POLICY, first.sessionId, t2), undefined, 'other sessions end when it is turned off');
    assert.ok(await sessionFor(ctx, POLICY, good.sessionId, t2), 'await sessionFor(ctx, POLICY, good.sessionId, t2)');
  } finally {
    await store.close();
  }
});

test('accounts: sign-ins sent at once are counted before the password is checked (no burst past the limit)', async () => {
  const { store, ctx } = setup();
  const throttle = new LoginThrottle({ perAccount: 3, perAddress: 100, windowMs: 60_000 });
  try {
    const { token } = await addAdmin(ctx, 'a@x.test', T0);
    await completeSetup(ctx, token, 'long enough password', T0);
    const guesses = Array.from({ length: 20 }, (_, i) =>
      signIn(ctx, throttle, POLICY, { email: 'a@x.test', password: `guess number ${i}`, ip: `10.0.0.${i}` }, T0),
    );
    const codes = (await Promise.all(guesses)).map((r) => (r.ok ? 'ok' : r.code));
    assert.equal(codes.filter((c) => c === 'CONSOLE_SIGNIN_FAILED').length, 3, 'three passwords were checked, not twenty');
    assert.equal(codes.filter((c) => c === 'CONSOLE_SIGNIN_THROTTLED').length, 17);
    const right = await signIn(ctx, throttle, POLICY, { email: 'a@x.test', password: 'long enough password', ip: 'j' }, T0 + 61_000);
    assert.equal(right.ok, true);
    const again = new LoginThrottle({ perAccount: 100, perAddress: 2, windowMs: 60_000 });
    const ok1 = await signIn(ctx, again, POLICY, { email: 'a@x.test', password: 'long enough password', ip: 'k' }, T0);
    const ok2 = await signIn(ctx, again, POLICY, { email: 'a@x.test', password: 'long enough password', ip: 'k' }, T0);
    const ok3 = await signIn(ctx, again, POLICY, { email: 'a@x.test', password: 'long enough password', ip: 'k' }, T0);
    assert.deepEqual([ok1.ok, ok2.ok, ok3.ok], [true, true, true], 'a success takes its attempt back from the address');
  } finally {
    await store.close();
  }
});

test('access requests: approved (narrowed, never widened) then collected once; denied ones give nothing', async () => {
  const { store, master } = setup();
  const config = ConfigSchema.parse({ upstream: { url: 'http://127.0.0.1:9' } });
  const ctx = { store, master, config };
  const actor = { kind: 'account' as const, id: 'ad1', name: 'a@x.test' };
  try {
    await assert.rejects(createAccessRequest(ctx, { name: 'x', preset: 'nope' }, T0), refusal('INVALID'));
    await assert.rejects(createAccessRequest(ctx, { name: 'x', grant: { version: 1, scopes: ['posts:fly'] } }, T0), refusal('INVALID'));
    const { record, token } = await createAccessRequest(ctx, { name: 'zap', preset: 'content-reader', keyLifetimeMs: 3600_000 }, T0);
    assert.equal((await requestForToken(ctx, token))?.id, record.id);
    await assert.rejects(collectAccessRequest(ctx, token, T0), refusal('INVALID'), 'pending: nothing to collect');
    await assert.rejects(decideAccessRequest(ctx, record.id, 'approved', actor, T0, ['posts:add']), refusal('INVALID'));
    await decideAccessRequest(ctx, record.id, 'approved', actor, T0, ['posts:browse', 'posts:read']);
    const got = await collectAccessRequest(ctx, token, T0 + 1);
    assert.deepEqual(got.record.grant.scopes, ['posts:browse', 'posts:read']);
    assert.equal(got.record.expiresAt, T0 + 1 + 3600_000);
    assert.match(got.key, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
    await assert.rejects(collectAccessRequest(ctx, token, T0 + 2), refusal('INVALID'), 'collected once');
    assert.equal((await store.admins.request(record.id))?.keyId, got.record.id);
    const denied = await createAccessRequest(ctx, { name: 'd', grant: { version: 1, scopes: ['tags:browse'] } }, T0);
    await decideAccessRequest(ctx, denied.record.id, 'denied', actor, T0);
    await assert.rejects(collectAccessRequest(ctx, denied.token, T0), refusal('INVALID'));
  } finally {
    await store.close();
  }
});

test('an admin action is one audit row with keyId null and its actor in detail, never a secret', () => {
  const e = adminEventEntry({ actor: { kind: 'account', id: 'ad1', name: 'a@x.test' }, action: 'keys.create', target: 'k1', at: T0 });
  assert.deepEqual([e.keyId, e.route, e.resource, e.action, e.decision], [null, 'ADMIN keys.create', 'keys', 'create', 'allow']);
  assert.deepEqual(JSON.parse(e.detail!), {
    via: 'admin',
    actor: { kind: 'account', id: 'ad1', name: 'a@x.test' },
    action: 'keys.create',
    target: 'k1',
  });
});

test('throttle: each process of a store takes its share of the limits, so together they allow no more than the limit', () => {
  let processes = 2;
  const t = new LoginThrottle({ perAccount: 5, perAddress: 100, windowMs: 60_000 }, () => processes);
  const begun = Array.from({ length: 4 }, () => t.begin('a@x.test', 'i', T0));
  assert.deepEqual(
    begun.map((w) => w === 0),
    [true, true, false, false],
    'floor(5 / 2) attempts in this process',
  );
  processes = 10;
  const t2 = new LoginThrottle({ perAccount: 5, perAddress: 100, windowMs: 60_000 }, () => processes);
  assert.deepEqual([t2.begin('b@x.test', 'i', T0) === 0, t2.begin('b@x.test', 'i', T0) === 0], [true, false], 'never less than one');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkIp,
  checkKeyChain,
  checkWindow,
  clientIp,
  loadAncestors,
  MAX_KEY_DEPTH,
  normaliseIp,
  parseCidrs,
  RateLimiter,
  secondsToUtcMidnight,
  utcDay,
} from './lifecycle.js';
import type { KeyRecord } from '../../store/store.js';

const key = (over: Partial<KeyRecord>): KeyRecord =>
  ({ id: 'a'.repeat(24), expiresAt: null, notBefore: null, limits: {}, ...over }) as KeyRecord;

test('the validity window refuses before not-before and from expiry on, each with its own code', () => {
  assert.deepEqual(checkWindow(key({}), 1000), { ok: true });
  const w = checkWindow(key({ notBefore: 2000 }), 1000);
  assert.equal(!w.ok && w.code, 'KEY_NOT_YET_VALID');
  const e = checkWindow(key({ expiresAt: 1000 }), 1000);
  assert.equal(!e.ok && e.code, 'KEY_EXPIRED');
  assert.deepEqual(checkWindow(key({ expiresAt: 1001, notBefore: 1000 }), 1000), { ok: true });
});

test('IP allowlists match IPv4 and IPv6 CIDRs, and IPv4-mapped IPv6 addresses', () => {
  const limits = { ipAllow: ['10.1.0.0/16', '2001:db8::/32', '192.0.2.7'] };
  assert.equal(checkIp(limits, '10.1.200.3').ok, true);
  assert.equal(checkIp(limits, '10.2.0.1').ok, false);
  assert.equal(checkIp(limits, '2001:db8:abcd::1').ok, true);
  assert.equal(checkIp(limits, '2001:db9::1').ok, false);
  assert.equal(checkIp(limits, '192.0.2.7').ok, true);
  assert.equal(checkIp(limits, '192.0.2.8').ok, false);
  assert.equal(checkIp({ ipAllow: ['127.0.0.0/8'] }, clientIp('::ffff:127.0.0.1', undefined, undefined)).ok, true);
  assert.equal(checkIp({}, '203.0.113.1').ok, true);
  assert.throws(() => parseCidrs(['10.0.0.0/33']));
  assert.throws(() => parseCidrs(['not-an-ip']));
});

test('X-Forwarded-For is believed only from trusted proxies, right to left', () => {
  const trusted = parseCidrs(['127.0.0.1', '10.0.0.0/8']);
  assert.equal(clientIp('198.51.100.9', '203.0.113.5', trusted), '198.51.100.9', 'untrusted socket: XFF ignored');
  assert.equal(clientIp('127.0.0.1', '203.0.113.5', trusted), '203.0.113.5');
  assert.equal(clientIp('127.0.0.1', '1.2.3.4, 203.0.113.5, 10.0.0.2', trusted), '203.0.113.5', 'spoofed left-most entry ignored');
  assert.equal(clientIp('127.0.0.1', undefined, trusted), '127.0.0.1');
  assert.equal(clientIp('127.0.0.1', 'garbage', trusted), undefined);
  assert.equal(clientIp('127.0.0.1', '203.0.113.5', undefined), '127.0.0.1', 'no trusted proxies configured');
});

test('rate limits: a burst over the per-second limit is refused with a retry time, then refills', () => {
  const rl = new RateLimiter();
  const rate = { perSecond: 2, burst: 3 };
  const at = 1_000_000;
  assert.ok(
    [0, 1, 2].every(() => rl.take('k', rate, at).ok),
    "[0, 1, 2].every(() => rl.take('k', rate, at).ok)",
  );
  const r = rl.take('k', rate, at);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.code, 'RATE_LIMITED');
    assert.equal(r.retryAfterS, 1);
  }
  assert.equal(rl.take('k', rate, at + 500).ok, true, 'half a second refills one at 2/s');
  assert.equal(rl.take('other', rate, at).ok, true, 'buckets are per key');
  const perMinute = new RateLimiter();
  assert.equal(perMinute.take('k', { perMinute: 1 }, at).ok, true);
  const m = perMinute.take('k', { perMinute: 1 }, at + 1000);
  assert.equal(!m.ok && m.retryAfterS, 59);
});

test('daily quotas renew at midnight UTC', () => {
  assert.equal(secondsToUtcMidnight(Date.UTC(2026, 10, 27, 23, 59, 0)), 60);
});

test('allowlist entries that are not addresses or have an impossible prefix are refused when the key is made', () => {
  for (const bad of ['not-an-ip', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/x', '10.0.0.0/8x', '10.0.0.0/-1', '::ffff:10.0.0.1x']) {
    assert.throws(() => parseCidrs([bad]), Error, bad);
  }
  for (const good of ['10.0.0.0/32', '2001:db8::/128', '2001:db8::/0', '10.0.0.0/0', '::ffff:10.0.0.1', '10.1.2.3'])
    assert.doesNotThrow(() => parseCidrs([good]), good);
  assert.equal(normaliseIp('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(normaliseIp('x::ffff:10.1.2.3'), 'x::ffff:10.1.2.3');
  assert.equal(normaliseIp('::ffff:10.1.2.3:1'), '::ffff:10.1.2.3:1');
  assert.equal(normaliseIp('::ffff:100.200.30.4'), '100.200.30.4');
});

test('a prefix must be plain digits: an empty one (which Number() reads as 0, every address) or one Number() accepts otherwise is refused', () => {
  for (const bad of ['10.0.0.0/', '2001:db8::/', '10.0.0.0/+8', '10.0.0.0/ 8', '10.0.0.0/8.0', '10.0.0.0/0x8', '10.0.0.0/1e1'])
    assert.throws(() => parseCidrs([bad]), Error, bad);
});

test('an IPv4-mapped address is its IPv4 address whatever the length of its octets, also as the client address', () => {
  assert.equal(normaliseIp('::ffff:10.1.2.34'), '10.1.2.34');
  assert.equal(normaliseIp('::ffff:192.168.100.200'), '192.168.100.200');
  assert.equal(clientIp('::ffff:203.0.113.99', undefined, undefined), '203.0.113.99');
});

test('rate limits: the per-minute bucket refills at its rate', () => {
  const rl = new RateLimiter();
  const rate = { perMinute: 60 };
  for (let i = 0; i < 60; i++) assert.equal(rl.take('m', rate, 0).ok, true);
  assert.equal(rl.take('m', rate, 0).ok, false);
  assert.equal(rl.take('m', rate, 1000).ok, true, 'one per second at 60 per minute');
  assert.equal(rl.take('m', rate, 1000).ok, false);
  assert.equal(rl.take('other', rate, 1000).ok, true, 'buckets are per key');
});

test('a key chain: each key is checked in turn (revoked, window, IP), the IP check skipped only when asked; ancestors load parent first, a gone or too deep chain is none', async () => {
  const child = key({ id: 'c'.repeat(24), status: 'active', parentId: 'p'.repeat(24) });
  const parent = key({ id: 'p'.repeat(24), status: 'active', parentId: null, limits: { ipAllow: ['10.0.0.0/8'] } });
  const code = (v: ReturnType<typeof checkKeyChain>) => (v.ok ? 'ok' : v.code);
  assert.equal(code(checkKeyChain([child, parent], 1000, '10.0.0.1')), 'ok');
  assert.equal(code(checkKeyChain([child, parent], 1000, '192.168.0.1')), 'IP_NOT_ALLOWED', "the parent's allowlist holds for the child");
  assert.equal(code(checkKeyChain([child, parent], 1000, 'unknown')), 'ok');
  assert.equal(code(checkKeyChain([child, parent], 1000, undefined)), 'HEADER_AMBIGUOUS');
  assert.equal(code(checkKeyChain([child, { ...parent, status: 'revoked' }], 1000, '10.0.0.1')), 'KEY_REVOKED');
  assert.equal(code(checkKeyChain([child, { ...parent, expiresAt: 1000 }], 1000, '10.0.0.1')), 'KEY_EXPIRED');
  const byId = new Map([[parent.id, parent]]);
  assert.deepEqual(await loadAncestors(child, async (id) => byId.get(id)), [parent]);
  assert.equal(await loadAncestors(child, async () => undefined), undefined, 'a parent that is gone');
  const loop = key({ id: 'l'.repeat(24), status: 'active', parentId: 'l'.repeat(24) });
  assert.equal(await loadAncestors(loop, async () => loop), undefined, `deeper than ${MAX_KEY_DEPTH}`);
});

test('X-Forwarded-For: a list or repeated header read as one, mapped addresses normalised, every hop trusted gives the left-most, no socket address is none', () => {
  const trusted = parseCidrs(['127.0.0.1', '10.0.0.0/8']);
  assert.equal(clientIp('127.0.0.1', ['203.0.113.5', '10.0.0.2'], trusted), '203.0.113.5');
  assert.equal(clientIp('::ffff:127.0.0.1', '::ffff:203.0.113.5, ::FFFF:10.0.0.2', trusted), '203.0.113.5');
  assert.equal(clientIp('127.0.0.1', '10.0.0.5, 10.0.0.6', trusted), '10.0.0.5');
  assert.equal(
    clientIp('127.0.0.1', '203.0.113.5, garbage, 10.0.0.2', trusted),
    undefined,
    'a hop that does not parse, right of the client',
  );
  assert.equal(clientIp(undefined, '203.0.113.5', trusted), '');
  assert.equal(clientIp('2001:db8::1', '203.0.113.5', parseCidrs(['2001:db8::/32'])), '203.0.113.5', 'an IPv6 proxy');
});

test('IP allowlists: no list or an empty one allows every address; an address that does not parse is not allowed; single IPv6 addresses', () => {
  const code = (v: ReturnType<typeof checkIp>) => (v.ok ? 'ok' : v.code);
  assert.equal(code(checkIp({ ipAllow: [] }, undefined)), 'ok');
  assert.equal(code(checkIp({}, undefined)), 'ok');
  assert.equal(code(checkIp({ ipAllow: ['10.0.0.0/8'] }, undefined)), 'HEADER_AMBIGUOUS');
  assert.equal(code(checkIp({ ipAllow: ['10.0.0.0/8'] }, '')), 'IP_NOT_ALLOWED');
  assert.equal(code(checkIp({ ipAllow: ['10.0.0.0/8'] }, 'garbage')), 'IP_NOT_ALLOWED');
  const six = { ipAllow: ['2001:db8::7'] };
  assert.equal(code(checkIp(six, '2001:db8::7')), 'ok');
  assert.equal(code(checkIp(six, '2001:db8::8')), 'IP_NOT_ALLOWED');
  assert.equal(code(checkIp({ ipAllow: ['::ffff:10.0.0.1'] }, '10.0.0.1')), 'ok', 'a mapped entry is its IPv4 address');
  assert.throws(() => parseCidrs(['::ffff:10.0.0.0/33']), Error, 'a mapped entry takes an IPv4 prefix');
  // The same list object is parsed once and remembered; the answer does not change on the second call.
  const list = { ipAllow: ['192.0.2.0/24'] };
  assert.deepEqual(
    [code(checkIp(list, '192.0.2.9')), code(checkIp(list, '192.0.2.9')), code(checkIp(list, '192.0.3.9'))],
    ['ok', 'ok', 'IP_NOT_ALLOWED'],
  );
});

test('a key chain: the key itself is checked first (revoked, not yet valid, its own allowlist), each refusal with its code', () => {
  const k = key({ id: 'c'.repeat(24), status: 'active', parentId: null });
  const code = (v: ReturnType<typeof checkKeyChain>) => (v.ok ? 'ok' : v.code);
  assert.equal(code(checkKeyChain([{ ...k, status: 'revoked' }], 1000, '10.0.0.1')), 'KEY_REVOKED');
  assert.equal(code(checkKeyChain([{ ...k, notBefore: 2000 }], 1000, '10.0.0.1')), 'KEY_NOT_YET_VALID');
  assert.equal(code(checkKeyChain([k, { ...k, id: 'p'.repeat(24), notBefore: 2000 }], 1000, 'unknown')), 'KEY_NOT_YET_VALID');
  assert.equal(code(checkKeyChain([{ ...k, limits: { ipAllow: ['10.0.0.0/8'] } }], 1000, '192.168.0.1')), 'IP_NOT_ALLOWED');
  assert.equal(code(checkKeyChain([], 1000, '10.0.0.1')), 'ok');
});

test('UTC days and the seconds to the next UTC midnight', () => {
  assert.equal(utcDay(Date.UTC(2026, 10, 27, 23, 59, 59, 999)), '2026-11-27');
  assert.equal(utcDay(Date.UTC(2026, 10, 28)), '2026-11-28');
  assert.equal(secondsToUtcMidnight(Date.UTC(2026, 10, 28)), 86_400);
  assert.equal(secondsToUtcMidnight(Date.UTC(2026, 10, 27, 23, 59, 59, 500)), 1, 'rounded up');
  assert.equal(secondsToUtcMidnight(Date.UTC(2026, 11, 31, 12)), 43_200, 'across a year');
});

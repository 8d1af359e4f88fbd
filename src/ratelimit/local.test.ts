import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './local.js';

const admitted = (rl: RateLimiter, key: string, rate: { perSecond?: number; perMinute?: number; burst?: number }, times: number[]) =>
  times.filter((at) => rl.take(key, rate, at).ok).length;

test('share mode: with two live replicas each admits half of a key’s rate and half its burst', () => {
  const rl = new RateLimiter(() => 2);
  const rate = { perSecond: 10 };
  // 100 requests in one instant: the bucket holds 10 / 2.
  assert.equal(admitted(rl, 'k', rate, Array(100).fill(0)), 5);
  // Then one request every 10 ms for 10 s: 5 per second refill.
  const steady = Array.from({ length: 1000 }, (_, i) => 10 + i * 10);
  assert.equal(admitted(rl, 'k', rate, steady), 50);
});

test('share mode: a bucket never holds less than one request, so a rate below the replica count still admits', () => {
  const rl = new RateLimiter(() => 4);
  assert.equal(rl.take('k', { perSecond: 1 }, 0).ok, true);
  const r = rl.take('k', { perSecond: 1 }, 0);
  assert.equal(r.ok ? 'ok' : r.code, 'RATE_LIMITED');
  assert.equal(!r.ok && r.retryAfterS, 4, 'a quarter of 1/s: one token every 4 s');
  assert.equal(rl.take('k', { perSecond: 1 }, 4000).ok, true);
});

test('share mode: when the replica count grows, a full bucket shrinks to the new share at once', () => {
  let n = 1;
  const rl = new RateLimiter(() => n);
  assert.equal(rl.take('k', { perSecond: 10 }, 0).ok, true); // 9 left
  n = 2;
  assert.equal(admitted(rl, 'k', { perSecond: 10 }, Array(20).fill(0)), 5, 'capped at 10 / 2');
});

test('share mode: the per-minute rate is split too', () => {
  const rl = new RateLimiter(() => 3);
  assert.equal(admitted(rl, 'k', { perMinute: 60 }, Array(60).fill(0)), 20);
  const r = rl.take('k', { perMinute: 60 }, 0);
  assert.equal(!r.ok && r.retryAfterS, 3);
});

test('a share under one (no live holder counted yet) is taken as one replica', () => {
  const rl = new RateLimiter(() => 0);
  assert.equal(admitted(rl, 'k', { perSecond: 3 }, Array(10).fill(0)), 3);
});

test('calls that arrive out of the order of their times refill the bucket once per interval, never twice', () => {
  const rl = new RateLimiter();
  const rate = { perSecond: 10 };
  // Empty the bucket at t=1000.
  for (let i = 0; i < 10; i++) assert.equal(rl.take('k', rate, 1000).ok, true);
  let admitted = 0;
  // One second of calls whose times alternate 100 ms back and forth: one second refills 10 tokens.
  for (let t = 1000; t <= 2000; t += 10) {
    if (rl.take('k', rate, t).ok) admitted++;
    if (rl.take('k', rate, t - 100).ok) admitted++;
  }
  assert.ok(admitted <= 10, `${admitted} admitted in one second at 10/s`);
});

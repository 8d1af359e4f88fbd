import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { REDIS_TEST_URL, redisUnavailable, testPrefix } from './redis.test.helper.js';
import { RedisRateLimiter } from './redis.js';

/** The Redis adapter against a real Redis (redis.test.helper.ts), under a key prefix of its own. */
const skip = await redisUnavailable();
const { prefix, drop } = testPrefix();
const URL_ = REDIS_TEST_URL;
const ready = async (rl: RedisRateLimiter) => {
  // Connecting is asynchronous; a take before it is refused (fail closed), so wait for the first answer.
  for (let i = 0; i < 50; i++) {
    const r = await rl.take('warmup', { perSecond: 1_000_000 }, 0);
    if (r.ok) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('Redis did not become ready');
};

describe('shared rate limits in Redis', { ...(skip ? { skip } : {}) }, () => {
  const open: RedisRateLimiter[] = [];
  const limiter = async () => {
    const rl = RedisRateLimiter.open({ url: URL_, prefix, timeoutMs: 500 });
    open.push(rl);
    await ready(rl);
    return rl;
  };
  after(async () => {
    for (const rl of open) await rl.close();
    await drop();
  });

  test('two replicas taking a key’s bucket at once admit exactly its burst, not twice it', async () => {
    const [a, b] = [await limiter(), await limiter()];
    const rate = { perSecond: 10 };
    // 60 concurrent requests, alternating between the replicas, well within one 100 ms refill.
    const verdicts = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('k1', rate, 0)));
    const ok = verdicts.filter((v) => v.ok).length;
    assert.ok(ok >= 10 && ok <= 11, `admitted ${ok}`); // 10 in the bucket, plus at most one refilled while the calls ran
    const refused = verdicts.find((v) => !v.ok);
    assert.ok(refused && !refused.ok, 'refused && !refused.ok');
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.equal(refused.retryAfterS, 1);
  });

  test('the bucket refills at the rate, on Redis’s clock', async () => {
    const a = await limiter();
    const rate = { perSecond: 20, burst: 1 };
    assert.equal((await a.take('k2', rate, 0)).ok, true);
    assert.equal((await a.take('k2', rate, 0)).ok, false, 'burst 1: the second at once is refused');
    await new Promise((r) => setTimeout(r, 80)); // 1.6 tokens at 20/s
    assert.equal((await a.take('k2', rate, 0)).ok, true);
  });

  test('the per-minute window is kept and says how long to wait', async () => {
    const a = await limiter();
    const rate = { perMinute: 2 };
    assert.equal((await a.take('k3', rate, 0)).ok, true);
    assert.equal((await a.take('k3', rate, 0)).ok, true);
    const r = await a.take('k3', rate, 0);
    assert.ok(!r.ok, '!r.ok');
    assert.equal(r.code, 'RATE_LIMITED');
    assert.ok(r.retryAfterS! >= 29 && r.retryAfterS! <= 30, String(r.retryAfterS));
  });

  test('keys with no rate never reach Redis', async () => {
    const dead = RedisRateLimiter.open({ url: 'redis://127.0.0.1:1', prefix, timeoutMs: 100 });
    open.push(dead);
    assert.deepEqual(await dead.take('k', undefined, 0), { ok: true });
    assert.deepEqual(await dead.take('k', {}, 0), { ok: true });
  });

  test('fails closed: while Redis does not answer, a key with a rate is refused with RATE_LIMIT_UNAVAILABLE at once', async () => {
    const dead = RedisRateLimiter.open({ url: 'redis://127.0.0.1:1', prefix, timeoutMs: 100 });
    open.push(dead);
    const t0 = performance.now();
    const r = await dead.take('k', { perSecond: 5 }, 0);
    assert.ok(!r.ok, '!r.ok');
    assert.equal(r.code, 'RATE_LIMIT_UNAVAILABLE');
    assert.equal(r.retryAfterS, 1);
    assert.ok(performance.now() - t0 < 100, 'not queued until a connection');
  });

  test('fails closed on a Redis that accepts the connection and never answers (timeoutMs)', async () => {
    const sockets: import('node:net').Socket[] = [];
    const mute = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => mute.once('listening', r));
    const port = (mute.address() as import('node:net').AddressInfo).port;
    const rl = RedisRateLimiter.open({ url: `redis://127.0.0.1:${port}`, prefix, timeoutMs: 100 });
    try {
      const t0 = performance.now();
      const r = await rl.take('k', { perSecond: 5 }, 0);
      assert.ok(!r.ok, '!r.ok');
      assert.equal(r.code, 'RATE_LIMIT_UNAVAILABLE');
      assert.ok(performance.now() - t0 < 1500, 'performance.now() - t0 < 1500');
    } finally {
      await rl.close();
      for (const s of sockets) s.destroy();
      mute.close();
    }
  });
});

import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';
import type { KeyLimits } from '../store/store.js';
import { overRate, unlimited, type RateLimits, type RateVerdict } from './ratelimit.js';

/**
 * Rate limits shared by every replica through Redis (`ratelimit.redis`):
 * one token bucket per key (the same buckets as local.ts, per second with
 * its burst and per minute), read, refilled and taken in one Lua script, so
 * the check and the take are one atomic step for all replicas, timed by
 * Redis's own clock (TIME) so the replicas' clocks do not matter. Scripts
 * replicate their effects since Redis 5, so TIME in a writing script is
 * allowed.
 *
 * Fails closed: while Redis does not answer (down, unreachable, slower than
 * `timeoutMs`), a key with a rate is refused with RATE_LIMIT_UNAVAILABLE
 * (503) rather than let through unmetered; keys without a rate are not
 * affected. Commands are not queued while disconnected (disableOfflineQueue),
 * so a refusal is immediate, and the client reconnects by itself.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ps, cap, pm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 's', 'm', 't')
local s, m, at = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
if at == nil or s == nil or m == nil then s = cap; m = pm; at = now end
local dt = math.max(0, now - at) / 1000
s = math.min(cap, s + dt * ps)
m = math.min(pm, m + dt * pm / 60)
local ok, which, wait = 1, 0, 0
if ps > 0 and s < 1 then ok = 0; which = 1; wait = (1 - s) / ps
elseif pm > 0 and m < 1 then ok = 0; which = 2; wait = (1 - m) * 60 / pm
else s = s - 1; m = m - 1 end
redis.call('HSET', KEYS[1], 's', tostring(s), 'm', tostring(m), 't', tostring(now))
local full = 0
if ps > 0 then full = cap / ps end
if pm > 0 then full = math.max(full, 60) end
redis.call('PEXPIRE', KEYS[1], math.ceil(full * 1000) + 1000)
return {ok, which, tostring(wait)}
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface RedisRateLimitOptions {
  readonly url: string;
  /** Prepended to every key id (several gateways' deployments on one Redis). */
  readonly prefix: string;
  /** How long one take may wait for Redis before the request is refused. */
  readonly timeoutMs: number;
  readonly onError?: (err: Error) => void;
}

const redisClient = (o: RedisRateLimitOptions) =>
  createClient({
    url: o.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: o.timeoutMs },
    socket: { connectTimeout: Math.max(1000, o.timeoutMs), reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000) },
  });

export class RedisRateLimiter implements RateLimits {
  private constructor(
    private readonly client: ReturnType<typeof redisClient>,
    private readonly o: RedisRateLimitOptions,
  ) {}

  /** Connects; a Redis that is down at start-up is not an error (requests with a rate are refused until it answers). */
  static open(o: RedisRateLimitOptions): RedisRateLimiter {
    const client = redisClient(o);
    // The client's message, never its URL (it may hold a password).
    client.on('error', (err: Error) => o.onError?.(new Error(`rate limit store: ${err.message}`)));
    client.connect().catch(() => {
      /* reported through 'error'; the client keeps reconnecting */
    });
    return new RedisRateLimiter(client, o);
  }

  async take(keyId: string, rate: KeyLimits['rate'], _nowMs: number): Promise<RateVerdict> {
    if (unlimited(rate)) return { ok: true };
    const ps = rate.perSecond ?? 0;
    const args = [String(ps), String(ps ? (rate.burst ?? ps) : 0), String(rate.perMinute ?? 0)];
    let reply: unknown;
    try {
      if (!this.client.isReady) throw new Error('not connected');
      const options = { keys: [this.o.prefix + keyId], arguments: args };
      try {
        reply = await this.client.evalSha(SHA, options);
      } catch (e) {
        // CASE: the script is not in Redis's cache yet (first use, or after a restart or SCRIPT FLUSH).
        if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
        reply = await this.client.eval(SCRIPT, options);
      }
    } catch (e) {
      this.o.onError?.(new Error(`rate limit store: ${(e as Error).message}`));
      return {
        ok: false,
        code: 'RATE_LIMIT_UNAVAILABLE',
        context: 'the shared rate limit store (Redis) did not answer; keys with a rate are refused until it does',
        retryAfterS: 1,
      };
    }
    const [ok, which, wait] = reply as [number, number, string];
    if (ok === 1) return { ok: true };
    return which === 1 ? overRate('second', ps, Number(wait)) : overRate('minute', rate.perMinute!, Number(wait));
  }

  async close(): Promise<void> {
    if (this.client.isReady) await this.client.close();
    else if (this.client.isOpen) this.client.destroy();
  }
}

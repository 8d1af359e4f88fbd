import type { ErrorCode } from '../errors/errors.js';
import type { KeyLimits } from '../store/store.js';

/**
 * Per-key rate limits (a key's `limits.rate`), behind one port with two
 * adapters:
 * - local.ts: token buckets in this process; with several replicas each
 *   enforces its share of the rate (the rate divided by the live replicas of
 *   the store's holders table), an approximation whose bounds the README ("Production with PostgreSQL") states;
 * - redis.ts (`ratelimit.redis`): one token bucket per key in Redis, taken by
 *   an atomic script on Redis's own clock, exact across replicas; while Redis
 *   cannot answer, keys with a rate are refused (RATE_LIMIT_UNAVAILABLE).
 * Keys without a rate never reach either.
 */
export type RateVerdict = { ok: true } | { ok: false; code: ErrorCode; context: string; retryAfterS?: number };

export type Rate = NonNullable<KeyLimits['rate']>;

export interface RateLimits {
  /** Takes one request of the key's rate, or says how long to wait. */
  take(keyId: string, rate: KeyLimits['rate'], nowMs: number): RateVerdict | Promise<RateVerdict>;
  close?(): Promise<void>;
}

/** True when the rate limits nothing (no per-second and no per-minute figure). */
export const unlimited = (rate: KeyLimits['rate']): rate is undefined => !rate || (!rate.perSecond && !rate.perMinute);

/** The refusal for a request over a rate: which window, and the seconds until a token is back (at least 1). */
export function overRate(window: 'second' | 'minute', limit: number, waitS: number): RateVerdict {
  return { ok: false, code: 'RATE_LIMITED', context: `over ${limit} requests per ${window}`, retryAfterS: Math.max(1, Math.ceil(waitS)) };
}

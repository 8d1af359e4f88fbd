import type { KeyLimits } from '../store/store.js';
import { overRate, unlimited, type RateLimits, type RateVerdict } from './ratelimit.js';

/**
 * Token buckets per key, in this gateway process: per second (capacity
 * `burst`, default the rate) and per minute. Answers how long to wait.
 *
 * `share()` is how many replicas split each key's rate (default 1): each
 * enforces rate / share with a bucket of burst / share, never less than one
 * request (a bucket under one token would admit nothing). Behind a balancer
 * that spreads a key's requests evenly, the replicas together admit about
 * the key's rate; the README ("Production with PostgreSQL") gives the bounds and when they are off.
 */
export class RateLimiter implements RateLimits {
  private readonly buckets = new Map<string, { sec: number; min: number; at: number }>();

  constructor(private readonly share: () => number = () => 1) {}

  take(keyId: string, rate: KeyLimits['rate'], nowMs: number): RateVerdict {
    if (unlimited(rate)) return { ok: true };
    const n = Math.max(1, this.share());
    const perSecond = rate.perSecond ? rate.perSecond / n : undefined;
    const perMinute = rate.perMinute ? rate.perMinute / n : undefined;
    const secCap = perSecond ? Math.max(1, (rate.burst ?? rate.perSecond!) / n) : Infinity;
    const minCap = perMinute ? Math.max(1, perMinute) : Infinity;
    let b = this.buckets.get(keyId);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { sec: secCap, min: minCap, at: nowMs };
      this.buckets.set(keyId, b);
    }
    // CASE: requests reach the bucket out of the order of their times (each awaits the store between its
    // start and here): the bucket's clock never goes back, or the same interval would be refilled twice.
    const dt = Math.max(0, nowMs - b.at) / 1000;
    b.at = Math.max(b.at, nowMs);
    // CASE: the share changed (a replica came or went): a bucket never holds more than its new capacity.
    b.sec = perSecond ? Math.min(secCap, b.sec + dt * perSecond) : Infinity;
    b.min = perMinute ? Math.min(minCap, b.min + (dt * perMinute) / 60) : Infinity;
    if (b.sec < 1) return overRate('second', rate.perSecond!, (1 - b.sec) / perSecond!);
    if (b.min < 1) return overRate('minute', rate.perMinute!, ((1 - b.min) * 60) / perMinute!);
    b.sec -= 1;
    b.min -= 1;
    return { ok: true };
  }
}

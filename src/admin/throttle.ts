/**
 * Sign-in throttling: failed attempts are counted per account and per client
 * address in a sliding window; once either reaches its limit, sign-ins for it
 * are refused (without checking the password) until the oldest failure leaves
 * the window. An attempt counts as a failure from the moment it starts
 * (`begin`), before the slow password check, so attempts sent at once cannot
 * all pass the check before any failure is counted; a success takes its own
 * attempt back and clears the account's count. In memory, per gateway
 * process: each process of a store (workers, replicas) allows its share of
 * the limits, floor(limit / processes) and at least one, so that together
 * they allow no more than the limit (or one per process, when there are more
 * processes than the limit); docs/console.md.
 */
export interface ThrottleLimits {
  readonly perAccount: number;
  readonly perAddress: number;
  readonly windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  /** `share()`: how many processes split the limits (the store's live holders, as for rate limits). */
  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
    private readonly share: () => number = () => 1,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => t > now - this.limits.windowMs);
    if (list.length > 0) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** 0 when an attempt may be made now; else how long until it may. */
  retryAfterMs(account: string, address: string, now: number): number {
    let wait = 0;
    const n = Math.max(1, this.share());
    for (const [key, whole] of [
      [`a:${account.toLowerCase()}`, this.limits.perAccount],
      [`i:${address}`, this.limits.perAddress],
    ] as const) {
      const limit = Math.max(1, Math.floor(whole / n));
      const list = this.recent(key, now);
      if (list.length >= limit) wait = Math.max(wait, list[list.length - limit]! + this.limits.windowMs - now);
    }
    return wait;
  }

  /**
   * Starts an attempt: 0 and the attempt counted as a failure (until `succeed`), or how long to wait
   * (nothing counted). Synchronous, so two attempts of one event-loop turn see each other.
   */
  begin(account: string, address: string, now: number): number {
    const wait = this.retryAfterMs(account, address, now);
    if (wait === 0) this.fail(account, address, now);
    return wait;
  }

  fail(account: string, address: string, now: number): void {
    for (const key of [`a:${account.toLowerCase()}`, `i:${address}`]) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.set(key, list.slice(-100));
    }
    // Bounded: an attacker cycling through made-up accounts cannot grow this without limit (the oldest go first).
    for (const key of this.failures.keys()) {
      if (this.failures.size <= 50_000) break;
      this.failures.delete(key);
    }
  }

  /** The attempt begun at `startedAt` succeeded: the account's count is cleared and the address's attempt taken back. */
  succeed(account: string, address?: string, startedAt?: number): void {
    this.failures.delete(`a:${account.toLowerCase()}`);
    if (address === undefined || startedAt === undefined) return;
    const list = this.failures.get(`i:${address}`);
    const i = list?.lastIndexOf(startedAt) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }
}

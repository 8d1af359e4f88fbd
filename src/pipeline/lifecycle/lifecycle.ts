import { BlockList, isIP } from 'node:net';
import type { ErrorCode } from '../../errors/errors.js';
import type { KeyLimits, KeyRecord } from '../../store/store.js';

/**
 * Key lifecycle checks after authentication: validity window, IP allowlist,
 * rate limits and daily quotas. Each refusal has its own code.
 */
export type LifecycleVerdict = { ok: true } | { ok: false; code: ErrorCode; context: string; retryAfterS?: number };

export function checkWindow(key: KeyRecord, nowMs: number): LifecycleVerdict {
  if (key.notBefore !== null && nowMs < key.notBefore)
    return { ok: false, code: 'KEY_NOT_YET_VALID', context: `the key is valid from ${new Date(key.notBefore).toISOString()}` };
  if (key.expiresAt !== null && nowMs >= key.expiresAt)
    return { ok: false, code: 'KEY_EXPIRED', context: `the key expired at ${new Date(key.expiresAt).toISOString()}` };
  return { ok: true };
}

/** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are their IPv4 address. */
export function normaliseIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

export function parseCidrs(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const ip = normaliseIp(addr ?? '');
    const type = isIP(ip);
    if (type === 0) throw new Error(`"${c}" is not an IP address or CIDR`);
    const family = type === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, family);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (type === 4 ? 32 : 128)) throw new Error(`"${c}" has an invalid prefix length`);
      list.addSubnet(ip, prefix, family);
    }
  }
  return list;
}

function contains(list: BlockList, ip: string): boolean {
  const type = isIP(ip);
  return type !== 0 && list.check(ip, type === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the socket's, unless the socket is a trusted proxy;
 * then the right-most X-Forwarded-For address that is not itself trusted.
 * Returns undefined when a trusted proxy sent an address that does not parse.
 */
export function clientIp(
  remote: string | undefined,
  xff: string | string[] | undefined,
  trusted: BlockList | undefined,
): string | undefined {
  const socket = normaliseIp(remote ?? '');
  if (!trusted || !contains(trusted, socket) || xff === undefined) return socket;
  const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((h) => normaliseIp(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return undefined;
    if (!contains(trusted, hop)) return hop;
  }
  return hops[0];
}

const allowLists = new WeakMap<readonly string[], BlockList>();
export function checkIp(limits: KeyLimits, ip: string | undefined): LifecycleVerdict {
  if (!limits.ipAllow || limits.ipAllow.length === 0) return { ok: true };
  if (ip === undefined) return { ok: false, code: 'HEADER_AMBIGUOUS', context: 'X-Forwarded-For from a trusted proxy does not parse' };
  let list = allowLists.get(limits.ipAllow);
  if (!list) allowLists.set(limits.ipAllow, (list = parseCidrs(limits.ipAllow)));
  return contains(list, ip)
    ? { ok: true }
    : { ok: false, code: 'IP_NOT_ALLOWED', context: `requests from ${ip} are not allowed for this key` };
}

// The chain of a child key's ancestors is read through the store's port (store.ts), which the webhooks use too.
export { loadAncestors, MAX_KEY_DEPTH } from '../../store/store.js';

/**
 * The checks of a key and of every ancestor that depend on nothing but the
 * keys, the time and the address (a child key is never more than its parent,
 * also in time and address), in the gateway's order: revoked, window, IP.
 * `ip: 'unknown'` skips the IP check (explain, when no address is given).
 * Rate limits and quotas, which depend on traffic, are checked after these.
 */
export function checkKeyChain(chain: readonly KeyRecord[], nowMs: number, ip: string | undefined): LifecycleVerdict {
  for (const [i, k] of chain.entries()) {
    const whose = i === 0 ? '' : ' (a parent key)';
    if (k.status !== 'active') return { ok: false, code: 'KEY_REVOKED', context: `the key was revoked${whose}` };
    const window = checkWindow(k, nowMs);
    if (!window.ok) return { ...window, context: window.context + whose };
    if (ip === 'unknown') continue;
    const allowed = checkIp(k.limits, ip);
    if (!allowed.ok) return { ...allowed, context: allowed.context + whose };
  }
  return { ok: true };
}

// Rate limits are a port of their own (src/ratelimit/): this process's buckets, or Redis's shared ones.
export { RateLimiter } from '../../ratelimit/local.js';

export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export function secondsToUtcMidnight(nowMs: number): number {
  const d = new Date(nowMs);
  return Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - nowMs) / 1000);
}

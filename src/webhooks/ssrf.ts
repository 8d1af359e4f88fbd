import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where the gateway may deliver: Ghost's own rule for webhook targets
 * (ghost/core/core/server/lib/request-external.js, isPrivateIp, with the same
 * ipaddr.js): default-deny, anything outside ipaddr.js's plain "unicast" range
 * is private; IPv6 forms that embed an IPv4 address are judged by it. Ghost
 * applies it unless `security.allowWebhookInternalIPs`; the gateway's
 * `webhooks.allowInternalIPs` mirrors that setting. ssrf.test.ts runs Ghost's
 * own function from the lab's install on the same addresses.
 *
 * The check is made at creation and again at delivery, on the address the
 * connection then uses: `pinnedLookup` resolves, checks every address, and
 * hands the checked one to the socket, so a DNS answer that changes between
 * the check and the connection (rebinding) cannot slip through.
 */
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

function ipv4FromGroups(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(hi >> 8) & 0xff, hi & 0xff, (lo >> 8) & 0xff, lo & 0xff]);
}

function privateAddress(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    const parts = v6.parts;
    if (v6.match(IPV4_COMPATIBLE)) return true;
    switch (v6.range()) {
      case 'ipv4Mapped':
      case 'rfc6145':
        return privateAddress(ipv4FromGroups(parts[6]!, parts[7]!));
      case 'rfc6052':
        return v6.match(NAT64_WELL_KNOWN) ? privateAddress(ipv4FromGroups(parts[6]!, parts[7]!)) : true;
      case '6to4':
        return privateAddress(ipv4FromGroups(parts[1]!, parts[2]!));
    }
  }
  return address.range() !== 'unicast';
}

/** Ghost's isPrivateIp: true for anything that is not a public unicast address, and for what does not parse. */
export function isPrivateIp(addr: string | undefined): boolean {
  if (!addr) return true;
  try {
    // WHATWG normalisation first, as Ghost does, so every IPv4 spelling Node connects to is judged alike.
    let normalized: string | undefined;
    try {
      const host = new URL(`http://${addr}/`).hostname;
      if (isIP(host) === 4) normalized = host;
    } catch {
      /* not an IPv4 spelling */
    }
    return privateAddress(ipaddr.parse(normalized ?? addr));
  } catch {
    return true;
  }
}

export type TargetVerdict = { ok: true; url: URL } | { ok: false; why: string };

/** The client's target as the gateway reads it: an absolute http(s) URL, no spaces or control characters. */
export function parseTarget(raw: string): TargetVerdict {
  // CASE: WHATWG URL drops tabs and newlines and encodes spaces; refuse them rather than guess.
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { ok: false, why: 'target_url contains spaces or control characters' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, why: 'target_url is not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, why: 'target_url must be http or https' };
  if (url.hostname === '') return { ok: false, why: 'target_url has no host' };
  return { ok: true, url };
}

/** The host as the socket sees it: IPv6 literals lose their brackets. */
export function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => {
      err ? reject(err) : resolve(addresses);
    });
  });

/** Resolves the target's host and checks every address (Ghost refuses when any is private). */
export async function checkTarget(
  url: URL,
  allowInternal: boolean,
  resolve: Resolver = systemResolver,
): Promise<{ ok: true; addresses: string[] } | { ok: false; why: string }> {
  const host = bareHost(url);
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).map((a) => a.address);
    } catch (e) {
      return { ok: false, why: `${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? 'DNS error'})` };
    }
  }
  if (addresses.length === 0) return { ok: false, why: `${host} does not resolve` };
  if (!allowInternal) {
    const bad = addresses.find((a) => isPrivateIp(a));
    if (bad !== undefined) return { ok: false, why: `${host} resolves to a private or internal address` };
  }
  return { ok: true, addresses };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect/tls.connect (undici passes `connect.lookup` on):
 * resolves with `resolve`, refuses private addresses unless allowed, and
 * returns the checked address, which is the one connected to.
 */
export function pinnedLookup(allowInternal: boolean, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean } | number | null | undefined, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        const bad = allowInternal ? undefined : addresses.find((a) => isPrivateIp(a.address));
        if (bad || addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private or internal address`);
          err.code = 'TARGET_PRIVATE';
          callback(err, '');
          return;
        }
        const first = addresses[0]!;
        if (typeof options === 'object' && options?.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: unknown) => {
        callback(err as NodeJS.ErrnoException, '');
      },
    );
  };
}

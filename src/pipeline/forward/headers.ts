import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1) and the headers the gateway
 * owns. The client's Authorization and cookies never reach Ghost: Ghost would
 * try a session cookie after the key (reference 1.0).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'cookie',
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-ghostgate-request-id',
]);
const RESPONSE_DROP = new Set([...HOP_BY_HOP, 'set-cookie']);

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) {
    for (const t of v.split(',')) out.add(t.trim().toLowerCase());
  }
  return out;
}

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  authorization: string | undefined,
  upstreamHost: string,
  upstreamProto: string,
): Record<string, string | string[]> {
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || REQUEST_DROP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  out.host = upstreamHost;
  // CASE: without a matching proto Ghost's adminSSLAndHostRedirect answers 301 (reference 8.10).
  out['x-forwarded-proto'] = upstreamProto;
  if (authorization !== undefined) out.authorization = authorization;
  return out;
}

export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || RESPONSE_DROP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

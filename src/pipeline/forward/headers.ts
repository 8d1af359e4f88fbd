import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Request headers reach Ghost by an allow-list: the headers Ghost 6.65 and
 * its middleware read on the Admin API, nothing else. Anything else a client
 * sends (`X-Original-URL`, `X-Rewrite-URL`, `Proxy-Authorization`, cookies,
 * `X-Forwarded-*`, headers a future middleware might honour) is dropped, so
 * Ghost reads only what the gateway decided on.
 */
export const FORWARDED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  // The API version the client speaks: api-version-compatibility and version-match
  // (ghost/core/core/server/services/api-version-compatibility, core/server/web/api/middleware/version-match.js).
  'accept-version',
  'x-ghost-version',
  // The body's framing and type: body-parser and multer read them (uploads need the multipart boundary).
  // For a body the gateway checked, forward.ts sets both itself.
  'content-type',
  'content-length',
  // Response compression (compression() in ghost/core/core/server/web/parent/app.js).
  'accept-encoding',
  // Request logging: @tryghost/logging records the request's headers (core/server/web/parent/middleware/log-request.js).
  'user-agent',
  // Conditional GET: Express's res.send answers 304 when `fresh` (If-None-Match, If-Modified-Since,
  // Cache-Control: no-cache). forward.ts drops them when the gateway rewrites the answer.
  'if-none-match',
  'if-modified-since',
  'cache-control',
]);

/** Hop-by-hop headers (RFC 9110 section 7.6.1): never forwarded in either direction. */
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
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming[name];
    if (value === undefined || listed.has(name)) continue;
    out[name] = value;
  }
  // The gateway's own: Ghost's host, the scheme it expects, the upstream credential.
  out.host = upstreamHost;
  // CASE: without a matching proto Ghost's adminSSLAndHostRedirect answers 301 (core/server/web/shared/middleware/url-redirects.js, used by core/server/web/admin/app.js).
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

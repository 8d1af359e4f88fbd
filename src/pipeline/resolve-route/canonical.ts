import type { ErrorCode } from '../../errors/errors.js';

/**
 * One canonical reading of the request target. The gateway parses the URL
 * once, refuses every spelling that two parsers could read differently, and
 * forwards exactly the canonical path it checked plus the query it validated.
 */
export type ApiVersion = '' | 'v2' | 'v3' | 'v4' | 'canary';

export interface CanonicalTarget {
  /** `admin`, or `content`/other for APIs the gateway does not serve. */
  readonly api: string;
  readonly version: ApiVersion;
  /** Segments after /ghost/api/[version/]admin/, raw (percent-encoding kept). */
  readonly segments: readonly string[];
  /** `/ghost/api/[version/]admin/` as requested. */
  readonly prefix: string;
  /** The canonical path forwarded to Ghost, always with the trailing slash Ghost expects. */
  readonly path: string;
  /** The raw query string without `?` (validated), '' when none. */
  readonly rawQuery: string;
  /** Decoded query parameters, each key at most once. */
  readonly query: ReadonlyMap<string, string>;
}

export type CanonicalResult = { ok: true; target: CanonicalTarget } | { ok: false; code: ErrorCode; context: string };

export const MAX_URL_LENGTH = 4096;
const VERSIONS = new Set(['v2', 'v3', 'v4', 'canary']);
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// Printable ASCII except space, backslash, and the characters that end or split a path.
const PATH_CHARS = /^[!$&'()*+,\-./0-9:=@A-Z_a-z~%]*$/;
const QUERY_CHARS = /^[!$&'()*+,\-./0-9:;=?@A-Z_a-z~%[\]|{}^`"<>]*$/;
/** Query keys that change the method or smuggle a second value through a parser. */
const METHOD_OVERRIDE_PARAMS = new Set(['_method', 'x-http-method-override', 'x-http-method', 'x-method-override']);

function refuse(code: ErrorCode, context: string): CanonicalResult {
  return { ok: false, code, context };
}

/** Percent-escapes in a path segment: refuse any that could change how the path splits or compares. */
function checkSegmentEncoding(segment: string): string | undefined {
  for (let i = segment.indexOf('%'); i !== -1; i = segment.indexOf('%', i + 1)) {
    const hex = segment.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'invalid percent-encoding';
    const byte = parseInt(hex, 16);
    // CASE: %2F %5C (slashes), %2E (dot), %25 (double encoding), %00-%1F %7F (controls)
    if (byte === 0x2f || byte === 0x5c) return 'encoded slash';
    if (byte === 0x2e) return 'encoded dot';
    if (byte === 0x25) return 'double encoding';
    if (byte < 0x20 || byte === 0x7f) return 'encoded control character';
    // An unreserved character has exactly one spelling: itself (RFC 3986 section 6.2.2.2).
    if (UNRESERVED.test(String.fromCharCode(byte))) return 'percent-encoded unreserved character';
  }
  return undefined;
}

/** Strict application/x-www-form-urlencoded decoding as Ghost's query parser does it (`+` is a space). */
function decodeQueryPart(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function canonicalize(rawUrl: string, ghostPath = 'ghost'): CanonicalResult {
  if (rawUrl.length > MAX_URL_LENGTH) return refuse('PATH_TOO_LONG', `URL longer than ${MAX_URL_LENGTH} characters`);
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1);

  if (!rawPath.startsWith('/')) return refuse('PATH_AMBIGUOUS', 'path must be absolute');
  if (!PATH_CHARS.test(rawPath)) return refuse('PATH_AMBIGUOUS', 'path contains a character that must not appear unencoded');
  if (rawPath.includes('//')) return refuse('PATH_AMBIGUOUS', 'empty path segment (//)');
  const parts = rawPath.split('/').slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop(); // one trailing slash
  for (const p of parts) {
    if (p === '.' || p === '..') return refuse('PATH_AMBIGUOUS', 'dot segment');
    const bad = checkSegmentEncoding(p);
    if (bad) return refuse('PATH_AMBIGUOUS', bad);
  }

  // /<ghostPath>/api/[<version>/]<api>/...
  // CASE: Express mounts these case-insensitively (`/GHOST/Api/ADMIN/` reaches the Admin API, after
  // Ghost's uncapitalise redirect for people); one spelling is served, the others are refused.
  const prefixCase = (i: number, want: string) => parts[i] !== want && parts[i]?.toLowerCase() === want.toLowerCase();
  if (prefixCase(0, ghostPath) || prefixCase(1, 'api')) return refuse('PATH_CASE', `the prefix is /${ghostPath}/api/`);
  if (parts[0] !== ghostPath || parts[1] !== 'api') return refuse('ROUTE_NOT_SERVED', `only /${ghostPath}/api/admin/ is served`);
  let version: ApiVersion = '';
  let i = 2;
  if (parts[i] !== undefined && !VERSIONS.has(parts[i]!) && VERSIONS.has(parts[i]!.toLowerCase()))
    return refuse('PATH_CASE', `API versions are lower case`);
  if (parts[i] !== undefined && VERSIONS.has(parts[i]!)) version = parts[i++] as ApiVersion;
  const api = parts[i++] ?? '';
  if (api !== 'admin' && api.toLowerCase() === 'admin') return refuse('PATH_CASE', 'the API is /admin/');
  if (api !== 'admin') return refuse('ROUTE_NOT_SERVED', `only the Admin API is served, not "${api.slice(0, 40)}"`);
  const segments = parts.slice(i);
  if (segments.length === 0) return refuse('ROUTE_UNKNOWN', 'no resource in path');

  const query = new Map<string, string>();
  if (rawQuery !== '') {
    if (!QUERY_CHARS.test(rawQuery)) return refuse('QUERY_MALFORMED', 'query contains a character that must be encoded');
    if (rawQuery.includes('#')) return refuse('QUERY_MALFORMED', 'fragment in request target');
    for (const pair of rawQuery.split('&')) {
      if (pair === '') return refuse('QUERY_MALFORMED', 'empty query parameter');
      const eq = pair.indexOf('=');
      const key = decodeQueryPart(eq === -1 ? pair : pair.slice(0, eq));
      const value = decodeQueryPart(eq === -1 ? '' : pair.slice(eq + 1));
      if (key === undefined || value === undefined) return refuse('QUERY_MALFORMED', 'invalid percent-encoding in query');
      if (key === '') return refuse('QUERY_MALFORMED', 'empty query parameter name');
      // CASE: Ghost's query parser (qs) turns a[b]=x and a[]=x into objects and arrays.
      if (/[[\]]/.test(key)) return refuse('QUERY_MALFORMED', `bracketed parameter name "${key.slice(0, 40)}"`);
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      if (/[\u0000-\u001f\u007f]/.test(key) || /[\u0000]/.test(value)) return refuse('QUERY_MALFORMED', 'control character in query');
      if (METHOD_OVERRIDE_PARAMS.has(key.toLowerCase())) return refuse('METHOD_OVERRIDE', `query parameter "${key}"`);
      if (query.has(key)) return refuse('QUERY_DUPLICATE', `"${key.slice(0, 40)}" appears more than once`);
      query.set(key, value);
    }
  }

  const prefix = version === '' ? `/${ghostPath}/api/admin/` : `/${ghostPath}/api/${version}/admin/`;
  return { ok: true, target: { api, version, segments, prefix, path: `${prefix}${segments.join('/')}/`, rawQuery, query } };
}

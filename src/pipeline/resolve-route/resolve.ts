import type { ErrorCode } from '../../errors/errors.js';
import type { RouteMatch, RouteMatcher } from '../../catalog/matcher.js';
import { canonicalize, type CanonicalTarget } from './canonical.js';

/** Headers that ask a server to treat the request as another method. */
const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

export interface ResolvedRoute extends RouteMatch {
  readonly target: CanonicalTarget;
}

export type ResolveResult = { ok: true; resolved: ResolvedRoute } | { ok: false; code: ErrorCode; context: string };

/**
 * Canonical path -> catalog entry. Unknown routes are refused here, before
 * authentication decides anything, and are never forwarded.
 */
export function resolveRoute(
  matcher: RouteMatcher,
  method: string,
  rawUrl: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  ghostPath = 'ghost',
): ResolveResult {
  for (const h of METHOD_OVERRIDE_HEADERS) {
    if (headers[h] !== undefined) return { ok: false, code: 'METHOD_OVERRIDE', context: `header ${h}` };
  }
  const c = canonicalize(rawUrl, ghostPath);
  if (!c.ok) return c;
  const match = matcher.match(method, c.target.segments);
  if (!match) return { ok: false, code: 'ROUTE_UNKNOWN', context: `${method} /${c.target.segments.join('/')}/`.slice(0, 200) };
  const { route } = match;
  // CASE: the ?token= scheduler routes are Ghost-internal (reference 1.10); setup, session and
  // password routes are for people, not API keys. The gateway serves neither.
  if (route.flags.has('query_token')) return { ok: false, code: 'ROUTE_NOT_SERVED', context: `${route.method} ${route.path} is Ghost's internal scheduler route` };
  if (route.flags.has('public') && !(route.method === 'GET' && route.path === '/site')) {
    return { ok: false, code: 'ROUTE_NOT_SERVED', context: `${route.method} ${route.path} is a sign-in or set-up route` };
  }
  return { ok: true, resolved: { ...match, target: c.target } };
}

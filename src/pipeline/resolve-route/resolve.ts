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
  // The route Ghost's own router runs for this path (case-insensitive, as Express routes).
  const match = matcher.match(method, c.target.segments);
  if (!match) return { ok: false, code: 'ROUTE_UNKNOWN', context: `${method} /${c.target.segments.join('/')}/`.slice(0, 200) };
  const { route } = match;
  // CASE: `/members/UPLOAD/` runs the members CSV export in Ghost. The gateway resolves it as Ghost
  // does and then refuses the spelling rather than rewriting it: no Admin API client sends it, and a
  // refusal leaves an audit record of the attempt instead of a success under another spelling.
  const variant = matcher.caseVariant(match, c.target.segments);
  if (variant !== -1) {
    return {
      ok: false,
      code: 'PATH_CASE',
      context: `"${c.target.segments[variant]!.slice(0, 40)}" must be spelled "${route.segments[variant]}" (${route.method} ${route.path})`,
    };
  }
  // CASE: a parameter spelled like a route beside it (`DELETE /members/Upload/`, `GET /posts/bulk/`)
  // names a route, not a record: refused whichever route the registration order picks.
  const reserved = matcher.reservedParam(match);
  if (reserved !== undefined) {
    return {
      ok: false,
      code: 'PARAM_RESERVED',
      context: `:${reserved} may not be "${match.params[reserved]!.slice(0, 40)}", the name of a route beside ${route.path}`,
    };
  }
  // CASE: the ?token= scheduler routes are Ghost-internal (core/server/services/auth/api-key/admin.js reads their ?token=); setup, session and
  // password routes are for people, not API keys. The gateway serves neither.
  if (route.flags.has('query_token'))
    return { ok: false, code: 'ROUTE_NOT_SERVED', context: `${route.method} ${route.path} is Ghost's internal scheduler route` };
  if (route.flags.has('public') && !(route.method === 'GET' && route.path === '/site')) {
    return { ok: false, code: 'ROUTE_NOT_SERVED', context: `${route.method} ${route.path} is a sign-in or set-up route` };
  }
  return { ok: true, resolved: { ...match, target: c.target } };
}

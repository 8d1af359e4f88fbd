import type { RouteEntry } from './catalog.js';
import { tsvRows } from './tsv.js';

/**
 * The query options each route's controller reads (src/catalog/data/ghost-<version>-options.tsv,
 * taken from the `options` and `data` lists of ghost/core/core/server/api/endpoints/*.js and checked
 * against the installed Ghost). @tryghost/api-framework lib/Frame.js configure() copies exactly those
 * names from the query into `frame.options`, and, when the body is empty, the `data` names into
 * `frame.data`: so `GET /members/:id/?email=x` looks the member up by id AND email, and
 * `PUT /posts/bulk/?action=feature` with no body runs the action the gateway never saw.
 *
 * The gateway forwards only query keys that are options of the route, minus the names Ghost fills
 * from the path and the internal ones; everything else is dropped, as Ghost's own framework would
 * ignore it (or read it as data the gateway did not check).
 */
export interface RouteOptions {
  /** Query names the controller reads as options; undefined when Ghost 6.65 has no such controller method. */
  readonly options: ReadonlySet<string> | undefined;
  /** Names it reads as data when the body is empty (from the query and the path). */
  readonly data: ReadonlySet<string>;
}

/**
 * Options that are internal to Ghost's model layer, never a client's: a knex transaction, a row
 * lock (ghost/core/core/server/api/endpoints/posts.js read and edit list them), the query debugger,
 * and the request context.
 */
const INTERNAL = new Set(['forUpdate', 'transacting', 'debug', 'context']);

export function parseOptions(tsv: string, routes: readonly RouteEntry[]): Map<RouteEntry, RouteOptions> {
  const byKey = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  const out = new Map<RouteEntry, RouteOptions>();
  for (const { cells, line } of tsvRows(tsv)) {
    const [method, path, options, data] = cells;
    // Paths as the catalog keeps them: without a trailing slash.
    const route = byKey.get(`${method} ${(path ?? '').replace(/\/$/, '')}`);
    if (!route) throw new Error(`options line ${line}: ${method} ${path} is not in the catalog`);
    const list = (v: string | undefined) => new Set(v === undefined || v === '-' || v === '?' ? [] : v.split(','));
    out.set(route, { options: options === '?' ? undefined : list(options), data: list(data) });
  }
  // Fail closed: every catalog route must say what it reads.
  const missing = routes.filter((r) => !out.has(r));
  if (missing.length > 0) throw new Error(`options: no row for ${missing.map((r) => `${r.method} ${r.path}`).join(', ')}`);
  return out;
}

/** The query the gateway forwards for a route: the options Ghost reads from the query, nothing else. */
export function forwardedQuery(
  route: RouteEntry,
  query: ReadonlyMap<string, string>,
): { query: ReadonlyMap<string, string>; dropped: string[] } {
  if (query.size === 0) return { query, dropped: [] };
  const params = new Set(route.segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1)));
  const kept = new Map<string, string>();
  const dropped: string[] = [];
  for (const [k, v] of query) {
    if (route.options.options?.has(k) && !INTERNAL.has(k) && !params.has(k)) kept.set(k, v);
    else dropped.push(k);
  }
  return { query: dropped.length === 0 ? query : kept, dropped };
}

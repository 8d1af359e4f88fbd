import pathToRegexp, { type Key } from 'path-to-regexp';
import type { Catalog, Method, RouteEntry } from './catalog.js';

export interface RouteMatch {
  readonly route: RouteEntry;
  /** Raw (still percent-encoded) parameter values, by name. */
  readonly params: Readonly<Record<string, string>>;
}

interface Compiled {
  readonly route: RouteEntry;
  readonly regexp: RegExp;
  readonly keys: readonly string[];
  /** Per parameter: the fixed segments of the routes beside it (lower case), which its value may not equal. */
  readonly reserved: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Matches a path (segments after /ghost/api/admin/) exactly as Ghost's router
 * does, with the library it routes with: Express 4.22.2 builds each route's
 * Layer with path-to-regexp 0.1.13 and `{sensitive: false, strict: false,
 * end: true}` (express/lib/router/index.js `proto.route`; Ghost's
 * `express.Router('admin api')` passes no options, so case-insensitive and
 * non-strict), and tries the layers in registration order
 * (ghost/core/core/server/web/api/endpoints/admin/routes.js). The catalog
 * keeps that order. So `/members/UPLOAD` is `GET /members/upload` (the CSV
 * export) here as in Ghost; the resolver then refuses the spelling.
 *
 * Sub-routers (`router.use('/members/metafields', metafieldsRouter)`) are
 * flattened into their full paths at their mount position: for paths without
 * empty segments (the canonicaliser refuses `//`) the mount's prefix match
 * followed by the sub-route's match accepts exactly what the flattened
 * pattern accepts; test/e2e/routing-differential.test.ts checks this against
 * Ghost's own router.
 *
 * Lookup: routes are bucketed by method, segment count and lower-cased first
 * segment, keeping registration order inside a bucket. That changes no
 * result: every catalog path starts with a fixed segment, a parameter matches
 * exactly one segment (`[^/]+?`), and the canonical path is ASCII, for which
 * the `i` flag is plain ASCII case folding.
 */
export class RouteMatcher {
  private readonly buckets = new Map<string, Compiled[]>();
  private readonly compiled = new Map<RouteEntry, Compiled>();

  constructor(readonly catalog: Catalog) {
    for (const route of catalog.routes) {
      const first = route.segments[0] ?? '';
      if (first === '' || first.startsWith(':'))
        throw new Error(`catalog route ${route.method} ${route.path} must start with a fixed segment`);
      const keys: Key[] = [];
      // The options Express's Router passes to the Layer of a route (express/lib/router/index.js).
      const regexp = pathToRegexp(route.path, keys, { sensitive: false, strict: false, end: true });
      const c: Compiled = { route, regexp, keys: keys.map((k) => String(k.name)), reserved: reservedSegments(route, catalog.routes) };
      if (c.keys.length !== route.segments.filter((s) => s.startsWith(':')).length)
        throw new Error(`catalog route ${route.path}: unexpected pattern`);
      const key = bucketKey(route.method, route.segments.length, first);
      let list = this.buckets.get(key);
      if (!list) this.buckets.set(key, (list = []));
      list.push(c);
      this.compiled.set(route, c);
    }
  }

  /** The route Ghost's router would run for this method and path, or undefined. */
  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const list = this.buckets.get(bucketKey(method, segments.length, segments[0] ?? ''));
    if (!list) return undefined;
    const path = `/${segments.join('/')}`;
    for (const c of list) {
      const m = c.regexp.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < c.keys.length; i++) params[c.keys[i]!] = m[i + 1]!;
      return { route: c.route, params };
    }
    return undefined;
  }

  /** Index of the first fixed segment the request spells in another case than the route registers, or -1. */
  caseVariant(match: RouteMatch, segments: readonly string[]): number {
    const s = match.route.segments;
    for (let i = 0; i < s.length; i++) if (!s[i]!.startsWith(':') && s[i] !== segments[i]) return i;
    return -1;
  }

  /** The first parameter whose value equals, in any case, a fixed segment of a route beside it. */
  reservedParam(match: RouteMatch): string | undefined {
    const c = this.compiled.get(match.route);
    if (!c) return undefined;
    for (const [name, words] of c.reserved) {
      if (words.has(match.params[name]!.toLowerCase())) return name;
    }
    return undefined;
  }
}

function bucketKey(method: string, length: number, first: string): string {
  return `${method} ${length} ${first.toLowerCase()}`;
}

/**
 * The fixed segments beside each parameter: for `:id` at position i of a
 * route, every fixed segment at position i of a route (any method) that has
 * the same pattern before i. `/members/:id` gets `upload`, `events`, `bulk`,
 * `stats`, `stripe_connect`, `metafields`: a value spelled like one of them is
 * a route name, never an id, whichever route Ghost's order picks.
 */
function reservedSegments(route: RouteEntry, all: readonly RouteEntry[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  route.segments.forEach((seg, i) => {
    if (!seg.startsWith(':')) return;
    const words = new Set<string>();
    for (const other of all) {
      const at = other.segments[i];
      if (at === undefined || at.startsWith(':')) continue;
      let same = true;
      for (let j = 0; j < i && same; j++) {
        const a = route.segments[j]!;
        const b = other.segments[j]!;
        same = a.startsWith(':') ? b.startsWith(':') : a === b;
      }
      if (same) words.add(at.toLowerCase());
    }
    if (words.size > 0) out.set(seg.slice(1), words);
  });
  return out;
}

export type { Method };

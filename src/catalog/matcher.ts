import type { Catalog, Method, RouteEntry } from './catalog.js';

export interface RouteMatch {
  readonly route: RouteEntry;
  /** Raw (still percent-encoded) parameter values, by name. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Matches a path (segments after /ghost/api/admin/) the way Express matches
 * Ghost's router: routes are tried in registration order and the first one
 * whose literal segments equal the request's wins. Literal segments compare
 * case-sensitively (the gateway refuses case variants rather than letting
 * Express fold them: reference section 8, pitfall 7). Routes are bucketed by
 * method, segment count and first segment, so a lookup tries a handful.
 */
export class RouteMatcher {
  private readonly buckets = new Map<string, RouteEntry[]>();

  constructor(readonly catalog: Catalog) {
    for (const route of catalog.routes) {
      const key = bucketKey(route.method, route.segments.length, route.segments[0] ?? '');
      let list = this.buckets.get(key);
      if (!list) this.buckets.set(key, (list = []));
      list.push(route);
    }
  }

  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const list = this.buckets.get(bucketKey(method, segments.length, segments[0] ?? ''));
    if (!list) return undefined;
    outer: for (const route of list) {
      const params: Record<string, string> = {};
      for (let i = 0; i < route.segments.length; i++) {
        const pattern = route.segments[i]!;
        const actual = segments[i]!;
        if (pattern.charCodeAt(0) === 58 /* : */) params[pattern.slice(1)] = actual;
        else if (pattern !== actual) continue outer;
      }
      return { route, params };
    }
    return undefined;
  }
}

function bucketKey(method: string, length: number, first: string): string {
  return `${method} ${length} ${first}`;
}

export type { Method };

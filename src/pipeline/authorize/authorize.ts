import type { RouteEntry } from '../../catalog/catalog.js';
import type { UpstreamReach } from '../../catalog/permissions.js';
import type { ErrorCode } from '../../errors/errors.js';
import type { CompiledGrant } from '../../grants/grant.js';

/**
 * The one decision function. The proxy, `ghostgate explain`, the probe and
 * the admin UI all call it. Pure: grant x route x upstream reach -> decision.
 * Deny by default: only a held scope on a known route that the upstream
 * credential can also perform is allowed.
 */
export type Decision =
  | { allow: true; scope: string }
  | { allow: false; code: ErrorCode; message: string; context: string; help?: string };

export interface AuthorizeInput {
  readonly grant: CompiledGrant;
  readonly route: RouteEntry;
  /** What Ghost lets the gateway's own credential do on this route, precomputed per route. */
  readonly upstream: UpstreamReach;
}

export function authorize({ grant, route, upstream }: AuthorizeInput): Decision {
  if (!grant.holds(route.scope, route.resource)) {
    return {
      allow: false,
      code: 'SCOPE_MISSING',
      message: `Missing scope ${route.scope}: this key may not ${route.method} ${route.path}.`,
      context: `${route.method} ${route.path} needs the scope ${route.scope}.`,
      help: `Grant ${route.scope} (or ${route.resource}:*) to this key.`,
    };
  }
  if (!upstream.ok) {
    return {
      allow: false,
      code: 'UPSTREAM_FORBIDS',
      message: `The gateway's Ghost credential cannot ${route.method} ${route.path}, whatever this key's scopes.`,
      context: `${upstream.why}.`,
      help: "Use an upstream credential whose role allows this action; the key's scopes cannot widen it.",
    };
  }
  return { allow: true, scope: route.scope };
}

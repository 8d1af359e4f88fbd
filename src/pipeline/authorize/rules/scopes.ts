import { guardEscalation } from '../../../grants/escalation-guard.js';
import { deny, type AuthorizeStep } from '../step.js';

/** Deny by default: the route's scope, or nothing. */
export const scopeStep: AuthorizeStep = {
  name: 'scope',
  kind: 'scopes',
  decide: ({ grant, route }) =>
    grant.holds(route.scope, route.resource)
      ? undefined
      : deny(
          'SCOPE_MISSING',
          `Missing scope ${route.scope}: this key may not ${route.method} ${route.path}.`,
          `${route.method} ${route.path} needs the scope ${route.scope}.`,
          `Grant ${route.scope} (or ${route.resource}:*) to this key.`,
        ),
};

/** The gateway's own identity, then the narrower forms of escalation scopes (src/grants/escalation-guard.ts). */
export const escalationStep: AuthorizeStep = {
  name: 'escalation',
  kind: 'narrow',
  decide: ({ grant, route, upstream, identity, request }) => guardEscalation({ grant, route, upstream, identity, request }),
};

/** What the gateway's own Ghost credential cannot do, no key can. */
export const upstreamStep: AuthorizeStep = {
  name: 'upstream',
  kind: 'route',
  decide: ({ upstream, route }) =>
    upstream.ok
      ? undefined
      : deny(
          'UPSTREAM_FORBIDS',
          `The gateway's Ghost credential cannot ${route.method} ${route.path}, whatever this key's scopes.`,
          `${upstream.why}.`,
          "Use an upstream credential whose role allows this action; the key's scopes cannot widen it.",
        ),
};

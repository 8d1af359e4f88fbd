import type { RouteEntry } from '../../../catalog/catalog.js';
import { exposedTypes } from '../../../catalog/exposure.js';
import {
  constraintFor,
  constraintMode,
  describeConstraint,
  needsOwnedIds,
  recordBreaks,
  recordInclude,
} from '../../../grants/constraints.js';
import type { Decision } from '../decision.js';
import { deny, holdsRead, type AuthorizeContext, type AuthorizeStep } from '../step.js';

/**
 * What a route exposes beyond its own resource (src/catalog/data/ghost-6.65-exposure.tsv, read from
 * Ghost's serializers): posts, pages and members need the key's read scope of that resource and, when
 * the key is limited on it, a record the gateway can check (or the route is refused).
 */
function decideExposure({ grant, g, route, request, need }: AuthorizeContext): Decision | undefined {
  const rows = route.exposure;
  if (rows.length === 0) return undefined;
  for (const row of rows) {
    const types = exposedTypes(row, request.query.get('include'));
    if (types.length === 0) continue;
    if (row.via.kind === 'record') {
      // The record the route names, with its type learnt from Ghost (or forced by the route's prefix).
      const value = request.params[row.via.param] ?? '';
      if (request.record === undefined) {
        const typedRoute = route.segments[0] === 'posts' || route.segments[0] === 'pages' ? route.segments[0] : undefined;
        need.record = { resource: typedRoute ?? 'post-or-page', by: 'id', value, include: recordInclude(g, typedRoute ?? 'posts') };
        continue;
      }
      const type = request.recordType ?? (route.segments[0] === 'pages' ? 'pages' : 'posts');
      if (request.record === null)
        return deny(
          'RECORD_OUTSIDE_GRANT',
          'Resource not found.',
          `${route.method} ${route.path}: no ${type === 'pages' ? 'page' : 'post'} has this id.`,
        );
      if (!holdsRead(grant, type)) return missingRead(route, type);
      const c = constraintFor(g, type);
      if (c) {
        if (needsOwnedIds(c) && !request.ownedIds) {
          need.ownedIds = type;
          continue;
        }
        const owned = request.ownedIds ?? new Set<string>();
        if (recordBreaks(c, request.record, (id) => owned.has(id), true)) {
          return deny(
            'RECORD_OUTSIDE_GRANT',
            `Resource not found: this key is limited to ${describeConstraint(type, c)}.`,
            `The ${type === 'pages' ? 'page' : 'post'} is not available to this key.`,
          );
        }
      }
      for (const t of types) if (t === 'members' && t !== route.resource && !holdsRead(grant, t)) return missingRead(route, t);
      continue;
    }
    for (const t of types) {
      if (t === route.resource) continue;
      if (!holdsRead(grant, t)) return missingRead(route, t);
      const c = constraintFor(g, t);
      // A route under /members/:id/... names its member: the constraint loop checks that record.
      if (c && constraintMode(route, t).mode !== 'record') {
        return deny(
          'CONSTRAINT_UNENFORCEABLE',
          `This key is limited to ${describeConstraint(t, c)}; ${route.method} ${route.path} exposes ${t} the gateway cannot limit.`,
          `${route.method} ${route.path} (${row.note}) exposes ${t} outside the key's constraint.`,
          `Use the ${t} browse and by-id routes, which the gateway can limit.`,
        );
      }
    }
  }
  return undefined;
}

function missingRead(route: RouteEntry, type: string): Decision {
  return deny(
    'SCOPE_MISSING',
    `Missing scope ${type}:read: ${route.method} ${route.path} exposes ${type}.`,
    `${route.method} ${route.path} returns ${type} data, so it needs the key to read ${type}.`,
    `Grant ${type}:read (or ${type}:browse) to this key.`,
  );
}

/**
 * Records named by an id that Ghost does not check the type of (copy, gift links, previews, stats,
 * feedback, comments of a post), and everything else a route exposes beyond its own resource.
 */
export const exposureStep: AuthorizeStep = { name: 'exposure', kind: 'scopes', decide: decideExposure };

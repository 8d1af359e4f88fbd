import { FilterError, canonicalFilter, constrainFilter, filterKeys, type GhostWrap, type NqlNode } from '../../../grants/nql.js';
import { deny, rewriteQuery, type AuthorizeStep } from '../step.js';

/**
 * Posts and pages are one table in Ghost. Routes whose type Ghost does not force take the gateway's:
 * the bulk routes and the CSV export of posts apply the model's default `type:post` only while the
 * client filter does not name `type` (ghost/core/core/server/services/posts/posts-service.js
 * #getFilteredBulkPostQuery; posts-exporter.js), so the gateway ANDs the type itself.
 */
const TYPED_FILTER_ROUTES = new Set(['PUT /posts/bulk', 'DELETE /posts', 'GET /posts/export', 'PUT /pages/bulk', 'DELETE /pages']);

/** Routes whose input serializer appends Ghost's condition without parentheses (see grants/nql.ts GhostWrap). */
const RAW_APPEND_ROUTES = new Set(['GET /mentions']);
const wrapOf = (routeKey: string): GhostWrap => (RAW_APPEND_ROUTES.has(routeKey) ? 'raw' : 'paren');

/** The type clause the gateway ANDs on the routes whose type Ghost does not force. */
export function typeClause(routeKey: string): NqlNode[] {
  if (!TYPED_FILTER_ROUTES.has(routeKey)) return [];
  return [{ type: routeKey.includes('/pages') ? 'page' : 'post' }];
}

/**
 * Every filter is read once, with Ghost's parser, and forwarded as the gateway serialises it:
 * Ghost joins filters as strings (`(${filter})+type:page`, posts and pages input serializers),
 * so an unbalanced client filter could otherwise OR its way out of Ghost's own conditions.
 * `type` on posts and pages routes is the gateway's, never the client's.
 */
export const filterStep: AuthorizeStep = {
  name: 'filter',
  kind: 'route',
  decide: ({ grant, route, routeKey, request, effects }) => {
    const filter = request.query.get('filter');
    const typed = TYPED_FILTER_ROUTES.has(routeKey);
    if (filter === undefined && !typed) return undefined;
    try {
      if (
        filter !== undefined &&
        (route.resource === 'posts' || route.resource === 'pages') &&
        filterKeys(filter).some((k) => k.split('.').pop()!.toLowerCase() === 'type')
      ) {
        return deny(
          'FILTER_INVALID',
          'The filter was refused: it names `type`.',
          `${route.method} ${route.path}: posts and pages are told apart by the route, not by the filter.`,
          `Use the ${route.resource === 'posts' ? 'pages' : 'posts'} routes for the other type.`,
        );
      }
      // Constrained routes AND the constraint later; the rest forward the canonical filter (and the type) now.
      const text = typed ? constrainFilter(filter, typeClause(routeKey)) : canonicalFilter(filter!, wrapOf(routeKey));
      effects.query = rewriteQuery(request.query, text);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      return deny(
        'FILTER_INVALID',
        `The filter was refused: ${e.message}.`,
        'a filter must parse as NQL; the gateway forwards it as it read it',
        grant.hasRules ? `The key's grant: ${route.resource} rules apply.` : undefined,
      );
    }
    return undefined;
  },
};

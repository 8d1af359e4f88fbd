import { unpinnedAnchors } from '../../../grants/anchors.js';
import {
  CONSTRAINED,
  constraintFilter,
  constraintFor,
  constraintMode,
  describeConstraint,
  needsOwnedIds,
  recordBreaks,
  recordInclude,
} from '../../../grants/constraints.js';
import { FilterError, constrainFilter } from '../../../grants/nql.js';
import type { Decision } from '../decision.js';
import { deny, ownConstraint, rewriteQuery, ruleHelp, type AuthorizeContext, type AuthorizeStep } from '../step.js';
import { typeClause } from './filter.js';

/** Query parameters a constrained browse may carry: anything else could change what Ghost selects. */
const BROWSE_PARAMS = new Set(['filter', 'include', 'fields', 'formats', 'limit', 'order', 'page', 'absolute_urls']);
const BULK_PARAMS = new Set(['filter']);
const LEDGER_ACTIONS = new Set(['add', 'copy']);

/** Constraint anchors are judged by id: a grant still naming them by slug is pinned first. */
export const anchorsStep: AuthorizeStep = {
  name: 'anchors',
  kind: 'constraints',
  decide: ({ grant, g }) =>
    grant.hasConstraints && unpinnedAnchors(g).length > 0 ? { allow: 'need', need: { anchors: true } } : undefined,
};

/** Record constraints of every constrained resource this route touches. */
function decideConstraints(ctx: AuthorizeContext): Decision | undefined {
  const { g, route, routeKey, request, need, effects } = ctx;
  for (const resource of CONSTRAINED) {
    const c = constraintFor(g, resource);
    if (!c) continue;
    const mode = constraintMode(route, resource);
    if (mode.mode === 'none') continue;
    if (mode.mode === 'refuse') {
      return deny(
        'CONSTRAINT_UNENFORCEABLE',
        `This key is limited to ${describeConstraint(resource, c)}; ${mode.why}.`,
        mode.why,
        `Use the ${resource} browse and by-id routes, which the gateway can limit.`,
      );
    }
    if (needsOwnedIds(c) && !request.ownedIds) need.ownedIds = resource;
    if (mode.mode === 'filter') {
      const allowed = route.flags.has('bulk') ? BULK_PARAMS : BROWSE_PARAMS;
      for (const k of request.query.keys()) {
        // CASE: `search` on the member routes is a second, unconstrained selection (members.js searchQuery).
        if (!allowed.has(k))
          return deny(
            'QUERY_PARAM_REFUSED',
            `The ${k} parameter is refused on ${resource} limited by this key's constraint.`,
            `${route.method} ${route.path} with a constraint accepts only ${[...allowed].join(', ')}.`,
            ruleHelp(ctx),
          );
      }
      if (!need.ownedIds) {
        const constrained = constraintFilter(c, [...(request.ownedIds ?? [])]);
        try {
          effects.query = rewriteQuery(request.query, constrainFilter(request.query.get('filter'), [constrained, ...typeClause(routeKey)]));
        } catch (e) {
          if (!(e instanceof FilterError)) throw e;
          return deny(
            'FILTER_INVALID',
            `The filter was refused: ${e.message}.`,
            'a filter must parse as NQL to be combined with the key’s constraint',
            ruleHelp(ctx),
          );
        }
      }
      if (route.method === 'GET') effects.check = { resource, constraint: c, owned: request.ownedIds ?? new Set() };
    } else if (mode.mode === 'record') {
      const value = request.params[mode.param] ?? '';
      if (request.record === undefined)
        need.record = { resource, by: mode.bySlug ? 'slug' : 'id', value, include: recordInclude(g, resource) };
      else if (!need.ownedIds) {
        const owned = request.ownedIds ?? new Set<string>();
        const broken = request.record === null ? 'it does not exist' : recordBreaks(c, request.record, (id) => owned.has(id), true);
        if (broken) {
          return deny(
            'RECORD_OUTSIDE_GRANT',
            `Resource not found: this key is limited to ${describeConstraint(resource, c)}.`,
            `The ${resource.replace(/s$/, '')} is not available to this key.`,
            ruleHelp(ctx),
          );
        }
        if (route.method === 'GET') effects.check = { resource, constraint: c, owned };
      }
    }
    // mode 'body' (POST /posts/, /pages/, /members/) is judged by the body checks; the record it
    // creates, like a copy's, goes into the ledger by ledgerStep below.
  }
  return undefined;
}

export const constraintsStep: AuthorizeStep = { name: 'constraints', kind: 'constraints', withRules: true, decide: decideConstraints };

/**
 * A record this key creates (add) or copies under a created-by-key constraint goes into its ledger:
 * the one place the ledger effect is set for posts, pages and members.
 */
export const ledgerStep: AuthorizeStep = {
  name: 'ledger',
  kind: 'constraints',
  withRules: true,
  decide: (ctx) => {
    const c = ownConstraint(ctx);
    if (LEDGER_ACTIONS.has(ctx.route.action) && c && needsOwnedIds(c)) ctx.effects.ledger = ctx.route.resource;
    return undefined;
  },
};

import type { AuthorizeInput, Decision, Effects, Need } from './decision.js';
import type { RouteEntry } from '../../catalog/catalog.js';
import type { RelationFacts } from '../../grants/fields.js';
import type { Lookup } from '../../grants/relations.js';
import { AUTHORIZE_STEPS } from './rules/index.js';
import type { AuthorizeContext } from './step.js';

/** No relation references read (never written to: a step that reads some sets its own). */
const NO_RELATIONS: RelationFacts = new Map();

export type { AuthorizeInput, Decision, Effects, Need, RecordNeed, RequestFacts } from './decision.js';

/**
 * The one decision function. The proxy, `ghostgate explain` and the key API
 * call it (the probe measures what Ghost itself allows). Pure: grant x route x
 * request facts -> decision. Deny by default: only a held scope on a known
 * route that the upstream credential can also perform, inside every
 * constraint and field rule, is allowed. When a rule needs a fact the caller
 * has not gathered yet (the body, a record's current state, the ids this key
 * created, which records a body's references resolve to), the answer is
 * `need`; the caller gathers it and asks again.
 *
 * The rules are the steps of the registry (rules/index.ts), asked in order;
 * the first that answers decides, and a request no step refuses is allowed
 * once every fact a step asked for is in.
 */
export function authorize({
  grant,
  route,
  upstream,
  request,
  // Stryker disable next-line ArrayDeclaration: the mutant's slug has a space, which no tag slug may have (relations.ts CANONICAL_SLUG): refused either way
  reservedSlugs = [],
  identity = { kind: 'staff' },
}: AuthorizeInput): Decision {
  const ctx: AuthorizeContext = {
    grant,
    g: grant.grant,
    route,
    routeKey: `${route.method} ${route.path}`,
    upstream,
    request,
    reservedSlugs,
    identity,
    need: {},
    effects: {},
    relations: NO_RELATIONS,
    lookups: [],
  };
  for (const step of AUTHORIZE_STEPS) {
    // Speed only: a `withRules` step answers nothing for a grant without rules, so never skipping one is the same decision.
    // Stryker disable next-line ConditionalExpression: (the forced-true mutant, which skips every step, is ignored with it)
    if (step.withRules && !grant.hasRules) continue;
    const decision = step.decide(ctx);
    if (decision) return decision;
  }
  return finish(ctx.need, route, ctx.effects, ctx.lookups);
}

/** Allowed, unless a step asked for a fact; a relation's lookups are asked for last (they cost Ghost a request). */
function finish(need: Need, route: RouteEntry, effects: Effects, lookups: readonly Lookup[]): Decision {
  if (lookups.length > 0) need.lookups = [...lookups];
  if (need.body || need.record || need.ownedIds || need.anchors || need.lookups || need.escalation || need.webhook !== undefined)
    return { allow: 'need', need };
  return { allow: true, scope: route.scope, effects };
}

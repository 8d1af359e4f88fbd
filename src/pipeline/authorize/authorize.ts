import type { RouteEntry } from '../../catalog/catalog.js';
import type { UpstreamReach } from '../../catalog/permissions.js';
import type { ErrorCode } from '../../errors/errors.js';
import { CONSTRAINED, RECORD_INCLUDE, constraintFilter, constraintFor, constraintMode, describeConstraint, needsOwnedIds, recordBreaks, type Constraint, type ConstrainedResource } from '../../grants/constraints.js';
import { checkBodyConstraint, checkBulkEdit, checkFields, checkQueryFields, isWriteWithBody, type BodyVerdict } from '../../grants/fields.js';
import { guardEscalation, type EscalationFacts, type EscalationNeed } from '../../grants/escalation-guard.js';
import type { CompiledGrant } from '../../grants/grant.js';
import type { UpstreamIdentity } from '../../grants/identity.js';
import { FilterError, constrainFilter } from '../../grants/nql.js';
import { redactionsOf, type Redactions } from '../../grants/redact.js';

/**
 * The one decision function. The proxy, `ghostgate explain`, the probe and
 * the admin UI all call it. Pure: grant x route x request facts -> decision.
 * Deny by default: only a held scope on a known route that the upstream
 * credential can also perform, inside every constraint and field rule, is
 * allowed. When a rule needs a fact the caller has not gathered yet (the
 * body, the record's current state, the ids this key created), the answer is
 * `need`; the caller gathers it and asks again.
 */
type Json = Record<string, unknown>;

export interface RequestFacts {
  readonly query: ReadonlyMap<string, string>;
  readonly params: Readonly<Record<string, string>>;
  /** The parsed JSON body, once gathered. */
  readonly body?: unknown;
  /** The record's current state from Ghost, once gathered; null when Ghost has no such record. */
  readonly record?: Json | null;
  /** Ids of the route's resource that this key created (the ledger), once gathered. */
  readonly ownedIds?: ReadonlySet<string>;
  /** Facts for the narrower forms of escalation scopes (roles, active theme, upload name), once gathered. */
  readonly escalation?: EscalationFacts;
}

export interface Need {
  body?: true;
  record?: { resource: string; by: 'id' | 'slug'; value: string; include: string };
  ownedIds?: string;
  escalation?: EscalationNeed;
}

export interface Effects {
  /** The query string to forward instead of the client's (constraint ANDed to `filter`). */
  query?: string;
  /** Safety net: drop response records outside this constraint, and alert. */
  check?: { resource: ConstrainedResource; constraint: Constraint; owned: ReadonlySet<string> };
  redact?: Redactions;
  /** Record the id Ghost returns for a created record in this key's ledger. */
  ledger?: string;
}

export type Decision =
  | { allow: true; scope: string; effects: Effects }
  | { allow: false; code: ErrorCode; message: string; context: string; help?: string }
  | { allow: 'need'; need: Need };

export interface AuthorizeInput {
  readonly grant: CompiledGrant;
  readonly route: RouteEntry;
  /** What Ghost lets the gateway's own credential do on this route, precomputed per route. */
  readonly upstream: UpstreamReach;
  readonly request: RequestFacts;
  /** Who the upstream credential is; absent means a staff token of an unknown user (fail closed). */
  readonly identity?: UpstreamIdentity;
}

/** Query parameters a constrained browse may carry: anything else could change what Ghost selects. */
const BROWSE_PARAMS = new Set(['filter', 'include', 'fields', 'formats', 'limit', 'order', 'page', 'absolute_urls']);
const BULK_PARAMS = new Set(['filter']);
/** Responses that are not JSON records, so they can be neither redacted nor filtered. */
const EXPORTS = new Set(['GET /members/upload', 'GET /posts/export', 'GET /db', 'GET /exports/download']);
const LEDGER_ACTIONS = new Set(['add', 'copy']);

function deny(code: ErrorCode, message: string, context: string, help?: string): Decision {
  return help === undefined ? { allow: false, code, message, context } : { allow: false, code, message, context, help };
}

function fromBody(v: Extract<BodyVerdict, { ok: false }>, route: RouteEntry, grantHelp: string): Decision {
  const what = v.field ? ` (${v.field})` : '';
  return deny(v.code, `Refused${what}: ${v.why}.`, `${route.method} ${route.path}: ${v.why}.`, grantHelp);
}

export function authorize({ grant, route, upstream, request, identity = { kind: 'staff' } }: AuthorizeInput): Decision {
  if (!grant.holds(route.scope, route.resource)) {
    return deny('SCOPE_MISSING', `Missing scope ${route.scope}: this key may not ${route.method} ${route.path}.`, `${route.method} ${route.path} needs the scope ${route.scope}.`, `Grant ${route.scope} (or ${route.resource}:*) to this key.`);
  }
  // The gateway's own identity, then the narrower forms of escalation scopes (src/grants/escalation-guard.ts).
  const guarded = guardEscalation({ grant, route, upstream, identity, request });
  if (guarded) return guarded;
  if (!upstream.ok) {
    return deny('UPSTREAM_FORBIDS', `The gateway's Ghost credential cannot ${route.method} ${route.path}, whatever this key's scopes.`, `${upstream.why}.`, "Use an upstream credential whose role allows this action; the key's scopes cannot widen it.");
  }
  const g = grant.grant;
  const effects: Effects = {};
  const need: Need = {};

  // Webhooks: every webhook made through the gateway belongs to its one upstream integration,
  // so without this rule one tool could edit or delete another's (reference 4.2).
  if (route.resource === 'webhooks' && (route.action === 'edit' || route.action === 'destroy') && g.constraints?.webhooks?.createdByKey !== false) {
    if (!request.ownedIds) need.ownedIds = 'webhooks';
    else if (!request.ownedIds.has(request.params.id ?? '')) {
      return deny('RECORD_NOT_OWNED', `This key may only ${route.action} webhooks it created.`, `webhook ${request.params.id} was not created by this key.`, 'Use the key that created the webhook.');
    }
  }
  if (route.resource === 'webhooks' && route.action === 'add') effects.ledger = 'webhooks';
  if (!grant.hasRules) return finish(need, route, effects);

  const redactions = redactionsOf(g);
  if (redactions) {
    if (EXPORTS.has(`${route.method} ${route.path}`)) {
      return deny('RESPONSE_UNFILTERABLE', `This key's redaction rules cannot be applied to ${route.method} ${route.path}.`, 'The route answers with an export, not JSON records.', 'Remove the redact rules, or use the JSON browse routes.');
    }
    effects.redact = redactions;
  }

  // Field rules of the route's own resource: query parameters, then the body.
  const rule = g.fields?.[route.resource as keyof NonNullable<typeof g.fields>];
  const ownConstraint = constraintFor(g, route.resource);
  const help = `The key's grant: ${describeRules(route.resource, ownConstraint)}.`;
  const q = checkQueryFields(rule, request.query);
  if (!q.ok) return fromBody(q, route, help);

  const inspectBody = isWriteWithBody(route) && route.action !== 'copy' && (rule !== undefined || ownConstraint !== undefined);
  let item: Json | undefined;
  let bulkBody: Json | undefined;
  if (inspectBody) {
    if (request.body === undefined) need.body = true;
    else if (route.flags.has('bulk')) bulkBody = asObject(request.body);
    else {
      item = bodyItem(request.body, route.resource);
      if (!item) return deny('BODY_INVALID', `The body must be {"${route.resource}": [ { ... } ]}.`, 'the gateway checks this body against the key’s rules', help);
    }
  }

  // Record constraints of every constrained resource this route touches.
  for (const resource of CONSTRAINED) {
    const c = constraintFor(g, resource);
    if (!c) continue;
    const mode = constraintMode(route, resource);
    if (mode.mode === 'none') continue;
    if (mode.mode === 'refuse') {
      return deny('CONSTRAINT_UNENFORCEABLE', `This key is limited to ${describeConstraint(resource, c)}; ${mode.why}.`, mode.why, `Use the ${resource} browse and by-id routes, which the gateway can limit.`);
    }
    if (needsOwnedIds(c) && !request.ownedIds) need.ownedIds = resource;
    if (mode.mode === 'filter') {
      const allowed = route.flags.has('bulk') ? BULK_PARAMS : BROWSE_PARAMS;
      for (const k of request.query.keys()) {
        if (!allowed.has(k)) return deny('QUERY_PARAM_REFUSED', `The ${k} parameter is refused on ${resource} limited by this key's constraint.`, `${route.method} ${route.path} with a constraint accepts only ${[...allowed].join(', ')}.`, help);
      }
      if (!need.ownedIds) {
        try {
          effects.query = rewriteQuery(request.query, constrainFilter(request.query.get('filter'), constraintFilter(c, [...(request.ownedIds ?? [])])));
        } catch (e) {
          if (!(e instanceof FilterError)) throw e;
          return deny('FILTER_INVALID', `The filter was refused: ${e.message}.`, 'a filter must parse as NQL to be combined with the key’s constraint', help);
        }
      }
      if (route.method === 'GET') effects.check = { resource, constraint: c, owned: request.ownedIds ?? new Set() };
    } else if (mode.mode === 'record') {
      const value = request.params[mode.param] ?? '';
      if (request.record === undefined) need.record = { resource, by: mode.bySlug ? 'slug' : 'id', value, include: RECORD_INCLUDE[resource] };
      else if (!need.ownedIds) {
        const owned = request.ownedIds ?? new Set<string>();
        const broken = request.record === null ? 'it does not exist' : recordBreaks(c, request.record, (id) => owned.has(id), true);
        if (broken) {
          return deny('RECORD_OUTSIDE_GRANT', `Resource not found: this key is limited to ${describeConstraint(resource, c)}.`, `The ${resource.replace(/s$/, '')} is not available to this key.`, help);
        }
        if (route.method === 'GET') effects.check = { resource, constraint: c, owned };
      }
      if (route.resource === resource && route.action === 'copy' && needsOwnedIds(c)) effects.ledger = resource;
    } else if (mode.mode === 'body') {
      if (needsOwnedIds(c)) effects.ledger = resource;
    }
  }

  // Body checks, once the facts they need are in.
  if (item && !need.record && !need.ownedIds) {
    const current = request.record ?? undefined;
    const isAdd = route.action === 'add';
    if (!isAdd && route.segments[1] === ':id' && request.record === undefined && (rule || ownConstraint)) {
      need.record = { resource: route.resource, by: 'id', value: request.params.id ?? '', include: RECORD_INCLUDE[route.resource as ConstrainedResource] ?? '' };
    } else {
      const f = checkFields(rule, item, isAdd ? undefined : current);
      if (!f.ok) return fromBody(f, route, help);
      const b = checkBodyConstraint(ownConstraint, item, isAdd ? undefined : current, isAdd);
      if (!b.ok) return fromBody(b, route, help);
    }
  }
  if (bulkBody) {
    const b = checkBulkEdit(rule, ownConstraint, bulkBody);
    if (!b.ok) return fromBody(b, route, help);
  }
  if (LEDGER_ACTIONS.has(route.action) && ownConstraint && needsOwnedIds(ownConstraint)) effects.ledger = route.resource;
  return finish(need, route, effects);
}

function finish(need: Need, route: RouteEntry, effects: Effects): Decision {
  if (need.body || need.record || need.ownedIds) return { allow: 'need', need };
  return { allow: true, scope: route.scope, effects };
}

function asObject(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function bodyItem(body: unknown, resource: string): Json | undefined {
  const list = asObject(body)?.[resource];
  return Array.isArray(list) && list.length === 1 ? asObject(list[0]) : undefined;
}

/** Re-encodes the query with the constrained filter, keeping every other parameter as the client sent it. */
function rewriteQuery(query: ReadonlyMap<string, string>, filter: string): string {
  const out = new URLSearchParams();
  let placed = false;
  for (const [k, v] of query) {
    if (k === 'filter') {
      out.append('filter', filter);
      placed = true;
    } else out.append(k, v);
  }
  if (!placed) out.append('filter', filter);
  return out.toString();
}

function describeRules(resource: string, c: Constraint | undefined): string {
  return c ? `limited to ${describeConstraint(resource, c)}` : `field rules on ${resource}`;
}

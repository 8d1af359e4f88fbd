import type { RouteEntry } from '../../catalog/catalog.js';
import { exposedTypes, type PostType } from '../../catalog/exposure.js';
import type { UpstreamReach } from '../../catalog/permissions.js';
import type { ErrorCode } from '../../errors/errors.js';
import { unpinnedAnchors } from '../../grants/anchors.js';
import {
  CONSTRAINED,
  constraintFilter,
  constraintFor,
  constraintMode,
  describeConstraint,
  needsOwnedIds,
  recordBreaks,
  recordInclude,
  type Constraint,
  type ConstrainedResource,
} from '../../grants/constraints.js';
import { checkEmailRules } from '../../grants/email.js';
import {
  checkBodyConstraint,
  checkBulkAddTags,
  checkBulkEdit,
  checkFields,
  checkQueryFields,
  isWriteWithBody,
  type BodyVerdict,
  type RelationFacts,
} from '../../grants/fields.js';
import { guardEscalation, type EscalationFacts, type EscalationNeed } from '../../grants/escalation-guard.js';
import type { CompiledGrant } from '../../grants/grant.js';
import type { UpstreamIdentity } from '../../grants/identity.js';
import { checkMemberWrite } from '../../grants/members.js';
import { FilterError, canonicalFilter, constrainFilter, filterKeys, type GhostWrap, type NqlNode } from '../../grants/nql.js';
import { checkOracles, redactionsOf, type Redactions } from '../../grants/personal-data.js';
import {
  RELATIONS,
  readRelation,
  resolveReferences,
  lookupKey,
  type Lookup,
  type LookupAnswers,
  type RelatedResource,
} from '../../grants/relations.js';
import { webhookRule, type RelayFact, type WebhookWrite } from '../../webhooks/rule.js';

/**
 * The one decision function. The proxy, `ghostgate explain` and the key API
 * call it (the probe measures what Ghost itself allows). Pure: grant x route x
 * request facts -> decision. Deny by default: only a held scope on a known
 * route that the upstream credential can also perform, inside every
 * constraint and field rule, is allowed. When a rule needs a fact the caller
 * has not gathered yet (the body, a record's current state, the ids this key
 * created, which records a body's references resolve to), the answer is
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
  /** For a record fetched by an id that may name a post or a page: which one it is. */
  readonly recordType?: PostType;
  /** Ids of the route's resource that this key created (the ledger), once gathered. */
  readonly ownedIds?: ReadonlySet<string>;
  /** Ghost's answers to the lookups of a body's relation references, by lookup key. */
  readonly lookups?: LookupAnswers;
  /** Facts for the narrower forms of escalation scopes (roles, active theme, upload name), once gathered. */
  readonly escalation?: EscalationFacts;
  /** The gateway's relay row for the webhook an edit or delete names, once gathered; null: not an active relay. */
  readonly webhook?: RelayFact | null;
}

export interface RecordNeed {
  /** `posts` or `pages` (fetched from that route, so Ghost's own type check applies), `members`, or `post-or-page` (either: the type is learnt). */
  readonly resource: ConstrainedResource | 'post-or-page';
  readonly by: 'id' | 'slug';
  readonly value: string;
  readonly include: string;
}

export interface Need {
  body?: true;
  record?: RecordNeed;
  ownedIds?: string;
  /** The grant names constraint anchors by slug only: pin them to ids first. */
  anchors?: true;
  lookups?: Lookup[];
  escalation?: EscalationNeed;
  /** The relay row of this Ghost webhook id (src/webhooks/rule.ts RelayFact). */
  webhook?: string;
}

export interface Effects {
  /** The query string to forward instead of the client's (canonical filter, constraint ANDed). */
  query?: string;
  /** Safety net: drop response records outside this constraint, and alert. */
  check?: { resource: ConstrainedResource; constraint: Constraint; owned: ReadonlySet<string> };
  redact?: Redactions;
  /** Record the id Ghost returns for a created record in this key's ledger. */
  ledger?: string;
  /** A webhook write, relayed through the gateway (src/webhooks/). */
  webhook?: WebhookWrite;
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
  /** Slugs Ghost rewrites on this site besides its fixed list (a sub-directory install's last segment). */
  readonly reservedSlugs?: readonly string[];
  /** Who the upstream credential is; absent means a staff token of an unknown user (fail closed). */
  readonly identity?: UpstreamIdentity;
}

/** Query parameters a constrained browse may carry: anything else could change what Ghost selects. */
const BROWSE_PARAMS = new Set(['filter', 'include', 'fields', 'formats', 'limit', 'order', 'page', 'absolute_urls']);
const BULK_PARAMS = new Set(['filter']);
/** Responses that are not JSON records, so they can be neither redacted nor filtered. */
const EXPORTS = new Set(['GET /members/upload', 'GET /posts/export', 'GET /db', 'GET /exports/download']);
const LEDGER_ACTIONS = new Set(['add', 'copy']);
/**
 * Posts and pages are one table in Ghost. Routes whose type Ghost does not force take the gateway's:
 * the bulk routes and the CSV export of posts apply the model's default `type:post` only while the
 * client filter does not name `type` (ghost/core/core/server/services/posts/posts-service.js
 * #getFilteredBulkPostQuery; posts-exporter.js), so the gateway ANDs the type itself.
 */
const TYPED_FILTER_ROUTES = new Set(['PUT /posts/bulk', 'DELETE /posts', 'GET /posts/export', 'PUT /pages/bulk', 'DELETE /pages']);

function deny(code: ErrorCode, message: string, context: string, help?: string): Decision {
  return help === undefined ? { allow: false, code, message, context } : { allow: false, code, message, context, help };
}

function fromBody(v: Extract<BodyVerdict, { ok: false }>, route: RouteEntry, grantHelp: string): Decision {
  const what = v.field ? ` (${v.field})` : '';
  return deny(v.code, `Refused${what}: ${v.why}.`, `${route.method} ${route.path}: ${v.why}.`, grantHelp);
}

const holdsRead = (grant: CompiledGrant, resource: string) =>
  grant.holds(`${resource}:browse`, resource) || grant.holds(`${resource}:read`, resource);

export function authorize({ grant, route, upstream, request, reservedSlugs = [], identity = { kind: 'staff' } }: AuthorizeInput): Decision {
  if (!grant.holds(route.scope, route.resource)) {
    return deny(
      'SCOPE_MISSING',
      `Missing scope ${route.scope}: this key may not ${route.method} ${route.path}.`,
      `${route.method} ${route.path} needs the scope ${route.scope}.`,
      `Grant ${route.scope} (or ${route.resource}:*) to this key.`,
    );
  }
  // The gateway's own identity, then the narrower forms of escalation scopes (src/grants/escalation-guard.ts).
  const guarded = guardEscalation({ grant, route, upstream, identity, request });
  if (guarded) return guarded;
  if (!upstream.ok) {
    return deny(
      'UPSTREAM_FORBIDS',
      `The gateway's Ghost credential cannot ${route.method} ${route.path}, whatever this key's scopes.`,
      `${upstream.why}.`,
      "Use an upstream credential whose role allows this action; the key's scopes cannot widen it.",
    );
  }
  const g = grant.grant;
  const effects: Effects = {};
  const need: Need = {};
  const routeKey = `${route.method} ${route.path}`;

  // Constraint anchors are judged by id: a grant still naming them by slug is pinned first.
  if (grant.hasConstraints && unpinnedAnchors(g).length > 0) return { allow: 'need', need: { anchors: true } };

  // Webhooks: every webhook made through the gateway belongs to its one upstream integration,
  // so without this rule one tool could edit or delete another's
  // (ghost/core/core/server/api/endpoints/webhooks.js permissions.before checks only the integration).
  if (
    route.resource === 'webhooks' &&
    (route.action === 'edit' || route.action === 'destroy') &&
    g.constraints?.webhooks?.createdByKey !== false
  ) {
    if (!request.ownedIds) need.ownedIds = 'webhooks';
    else if (!request.ownedIds.has(request.params.id ?? '')) {
      return deny(
        'RECORD_NOT_OWNED',
        `This key may only ${route.action} webhooks it created.`,
        `webhook ${request.params.id} was not created by this key.`,
        'Use the key that created the webhook.',
      );
    }
  }
  if (route.resource === 'webhooks' && route.action === 'add') effects.ledger = 'webhooks';
  // Only the gateway's own active relays are edited or deleted through it: a webhook made in Ghost Admin
  // or before the relay points straight at its target, and an edit could make it a channel outside any grant.
  if (route.resource === 'webhooks' && (route.action === 'edit' || route.action === 'destroy')) {
    if (request.webhook === undefined) need.webhook = request.params.id ?? '';
    else if (request.webhook === null) {
      return deny(
        'WEBHOOK_NOT_RELAYED',
        `Webhook ${request.params.id} is not relayed by the gateway: this key may not ${route.action} it.`,
        `${route.method} ${route.path}: the id names no active relay (a webhook made in Ghost Admin, before the relay, or retired).`,
        'An administrator can move it onto the relay (ghostgate webhooks migrate) or remove it (ghostgate webhooks remove).',
      );
    }
  }
  // A webhook is a read channel: its event (after an edit) needs the read scope of what it delivers (src/webhooks/rule.ts).
  const hook = webhookRule(grant, route, request.params, request.body, request.webhook);
  if (hook.kind === 'need-body') need.body = true;
  else if (hook.kind === 'deny') return deny(hook.code, hook.message, hook.context, hook.help);
  else if (hook.kind === 'write') effects.webhook = hook.write;

  // Every filter is read once, with Ghost's parser, and forwarded as the gateway serialises it:
  // Ghost joins filters as strings (`(${filter})+type:page`, posts and pages input serializers),
  // so an unbalanced client filter could otherwise OR its way out of Ghost's own conditions.
  const filterDecision = filterStep(grant, route, routeKey, request, effects);
  if (filterDecision) return filterDecision;

  // Records named by an id that Ghost does not check the type of (copy, gift links, previews,
  // stats, feedback, comments of a post), and everything else a route exposes beyond its own resource.
  const exposure = exposureStep(grant, route, request, need);
  if (exposure) return exposure;

  // A write body's relation references (tags, authors, labels) are resolved as Ghost resolves them.
  // Their lookups are asked for last (see finish): a request refused by a local rule costs Ghost nothing.
  const rel = relationStep(grant, route, request, need, reservedSlugs);
  if (rel && 'allow' in rel) return rel;
  const relations: RelationFacts | 'pending' = rel?.facts ?? new Map();

  // Settings that are secrets (the private site's password, webhook URLs, keys) are blanked for every
  // key unless its grant says otherwise: Ghost itself masks only /secret|api_key/ keys.
  if (route.resource === 'settings' && g.revealSettingSecrets !== true) effects.redact = { fields: new Map(), settingSecrets: true };

  // A bulk edit of posts or pages may create tags with every field sent (addTag), so unless the key may
  // create any tag (tags:add and no tags field rule), its body is read, whatever its other rules.
  if (
    route.flags.has('bulk') &&
    route.action === 'bulkEdit' &&
    (route.resource === 'posts' || route.resource === 'pages') &&
    !(grant.holds('tags:add', 'tags') && g.fields?.tags === undefined)
  ) {
    const body = request.body === undefined ? undefined : asObject(request.body);
    if (request.body === undefined) need.body = true;
    else if (body && (body.bulk as Json | undefined)?.action === 'addTag') {
      const t = checkBulkAddTags(body, grant.holds('tags:add', 'tags'), g.fields?.tags);
      if (!t.ok) return fromBody(t, route, `The key's grant: ${describeRules('tags', undefined)}.`);
    }
  }

  if (!grant.hasRules) return finish(need, route, effects, rel?.missing);

  const redactions = redactionsOf(g, route);
  if (redactions) {
    if (EXPORTS.has(routeKey)) {
      return deny(
        'RESPONSE_UNFILTERABLE',
        `This key's redaction rules cannot be applied to ${route.method} ${route.path}.`,
        'The route answers with an export, not JSON records.',
        'Remove the redact rules, or use the JSON browse routes.',
      );
    }
    // A redacted field may not be tested either: by filter, order, search or a by-value route.
    const oracle = checkOracles(redactions, route, request.query);
    if (oracle)
      return deny(
        'REDACTED_FIELD_QUERIED',
        `Refused: ${oracle}.`,
        `${route.method} ${route.path}: ${oracle}.`,
        'A key may not filter, order, search or look records up by a field it may not see.',
      );
    effects.redact = redactions;
  }

  // "Never send email": every way Ghost sends as a side effect of this route (grants/email.ts).
  const email = checkEmailRules(g, route, request);
  if (email) {
    if ('need' in email) Object.assign(need, email.need);
    else return fromBody(email, route, 'The key may not make Ghost send email.');
  }

  // Field rules of the route's own resource: query parameters, then the body.
  const rule = g.fields?.[route.resource as keyof NonNullable<typeof g.fields>];
  const ownConstraint = constraintFor(g, route.resource);
  const help = `The key's grant: ${describeRules(route.resource, ownConstraint)}.`;
  const q = checkQueryFields(rule, request.query);
  if (!q.ok) return fromBody(q, route, help);

  const memberRules = route.resource === 'members' && ownConstraint !== undefined;
  const inspectBody =
    isWriteWithBody(route) && route.action !== 'copy' && (rule !== undefined || ownConstraint !== undefined || memberRules);
  let item: Json | undefined;
  let bulkBody: Json | undefined;
  if (inspectBody) {
    if (request.body === undefined) need.body = true;
    else if (route.flags.has('bulk')) bulkBody = asObject(request.body);
    else {
      item = bodyItem(request.body, route.resource);
      if (!item)
        return deny(
          'BODY_INVALID',
          `The body must be {"${route.resource}": [ { ... } ]}.`,
          'the gateway checks this body against the key’s rules',
          help,
        );
    }
  }

  // Record constraints of every constrained resource this route touches.
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
            help,
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
            help,
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
            help,
          );
        }
        if (route.method === 'GET') effects.check = { resource, constraint: c, owned };
      }
      if (route.resource === resource && route.action === 'copy' && needsOwnedIds(c)) effects.ledger = resource;
    } else {
      // mode.mode === 'body'
      if (needsOwnedIds(c)) effects.ledger = resource;
    }
  }

  // Body checks, once the facts they need are in (relation fields wait for their lookups).
  if (item && !need.record && !need.ownedIds) {
    const current = request.record ?? undefined;
    const isAdd = route.action === 'add';
    if (!isAdd && route.segments[1] === ':id' && request.record === undefined && (rule || ownConstraint)) {
      need.record = {
        resource: route.resource as ConstrainedResource,
        by: 'id',
        value: request.params.id ?? '',
        include: recordInclude(g, route.resource),
      };
    } else {
      const f = checkFields(rule, item, isAdd ? undefined : current, relations);
      if (!f.ok) return fromBody(f, route, help);
      const b = checkBodyConstraint(ownConstraint, item, isAdd ? undefined : current, isAdd, relations);
      if (!b.ok) return fromBody(b, route, help);
      if (memberRules) {
        const m = checkMemberWrite(ownConstraint, item, isAdd ? undefined : current);
        if (!m.ok) return fromBody(m, route, help);
      }
    }
  }
  if (bulkBody) {
    const b = checkBulkEdit(rule, ownConstraint, bulkBody);
    if (!b.ok) return fromBody(b, route, help);
  }
  if (LEDGER_ACTIONS.has(route.action) && ownConstraint && needsOwnedIds(ownConstraint)) effects.ledger = route.resource;
  return finish(need, route, effects, rel?.missing);
}

function finish(need: Need, route: RouteEntry, effects: Effects, lookups: readonly Lookup[] = []): Decision {
  if (lookups.length > 0) need.lookups = [...lookups];
  if (need.body || need.record || need.ownedIds || need.anchors || need.lookups || need.escalation || need.webhook !== undefined)
    return { allow: 'need', need };
  return { allow: true, scope: route.scope, effects };
}

/** Routes whose input serializer appends Ghost's condition without parentheses (see grants/nql.ts GhostWrap). */
const RAW_APPEND_ROUTES = new Set(['GET /mentions']);
const wrapOf = (routeKey: string): GhostWrap => (RAW_APPEND_ROUTES.has(routeKey) ? 'raw' : 'paren');

function typeClause(routeKey: string): NqlNode[] {
  if (!TYPED_FILTER_ROUTES.has(routeKey)) return [];
  return [{ type: routeKey.includes('/pages') ? 'page' : 'post' }];
}

/** Canonical filters for every key; `type` on posts and pages routes is the gateway's, never the client's. */
function filterStep(
  grant: CompiledGrant,
  route: RouteEntry,
  routeKey: string,
  request: RequestFacts,
  effects: Effects,
): Decision | undefined {
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
}

/**
 * What a route exposes beyond its own resource (src/catalog/data/ghost-6.65-exposure.tsv, read from
 * Ghost's serializers): posts, pages and members need the key's read scope of that resource and, when
 * the key is limited on it, a record the gateway can check (or the route is refused).
 */
function exposureStep(grant: CompiledGrant, route: RouteEntry, request: RequestFacts, need: Need): Decision | undefined {
  const rows = route.exposure;
  if (rows.length === 0) return undefined;
  const g = grant.grant;
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

/** Scopes that cover what Ghost does to related records when it resolves a reference. */
const SIDE_EFFECT = { creates: 'add', modifies: 'edit' } as const;

/**
 * Reads the relation lists of an add/edit body as Ghost will, asks for the lookups that resolve them,
 * and refuses references that could be read two ways or that would write to related records the key
 * may not write (a tag renamed or created through a post needs tags:edit or tags:add).
 * Returns the resolved ids per field for the rules, or a decision.
 */
function relationStep(
  grant: CompiledGrant,
  route: RouteEntry,
  request: RequestFacts,
  need: Need,
  reservedSlugs: readonly string[],
): { facts: RelationFacts | 'pending'; missing: Lookup[] } | Decision | undefined {
  const rels = RELATIONS[route.resource];
  if (!rels || !(route.action === 'add' || route.action === 'edit') || route.flags.has('bulk')) return undefined;
  const g = grant.grant;
  const ruled = (field: string) => {
    const rule = g.fields?.[route.resource as keyof NonNullable<typeof g.fields>];
    const c = g.constraints?.[route.resource as 'posts'] as Record<string, unknown> | undefined;
    return Boolean(rule?.deny?.includes(field) || rule?.allow || c?.[field] !== undefined);
  };
  // No write to the related records needs judging: authors are never written to; tags and labels are, so a key
  // needs their add and edit scopes, and no field rule on them, to skip reading the references.
  const sideEffectFree = (target: RelatedResource) =>
    target === 'users' ||
    (grant.holds(`${target}:add`, target) && grant.holds(`${target}:edit`, target) && g.fields?.[target as 'tags'] === undefined);
  const relevant = rels.filter((r) => ruled(r.field) || !sideEffectFree(r.target));
  if (relevant.length === 0) return undefined;
  if (request.body === undefined) {
    need.body = true;
    return { facts: 'pending', missing: [] };
  }
  const item = bodyItem(request.body, route.resource);
  if (!item)
    return deny(
      'BODY_INVALID',
      `The body must be {"${route.resource}": [ { ... } ]}.`,
      `${route.method} ${route.path}: the gateway reads this body's references as Ghost will.`,
    );
  const out = new Map<string, { ids: string[]; changes: boolean }>();
  const missing: Lookup[] = [];
  for (const { field, target } of relevant) {
    if (!(field in item)) continue;
    const reading = readRelation(field, item[field], reservedSlugs);
    if (!reading.ok)
      return deny(
        'REFERENCE_AMBIGUOUS',
        `Refused (${field}): ${reading.why}.`,
        `${route.method} ${route.path}: ${reading.why}.`,
        `Send ${field} as references Ghost resolves to one existing record: {"id": ...}${field === 'authors' ? ', {"slug": ...} or {"email": ...}' : ' or {"slug": ...}'}.`,
      );
    const unanswered = reading.lookups.filter((l) => !request.lookups?.has(lookupKey(l)));
    if (unanswered.length > 0) {
      missing.push(...unanswered);
      continue;
    }
    const resolved = resolveReferences(field, reading.refs, request.lookups ?? new Map());
    const ids: string[] = [];
    let changes = false;
    for (const r of resolved) {
      if (r.kind === 'ambiguous')
        return deny(
          'REFERENCE_AMBIGUOUS',
          `Refused (${field}): ${r.why}.`,
          `${route.method} ${route.path}: ${r.why}.`,
          `Send ${field} by id.`,
        );
      if (r.kind === 'creates' || r.kind === 'modifies') {
        // A write to a related record through a reference is judged as a write to it: its scope, then its field rules.
        const scope = `${target}:${SIDE_EFFECT[r.kind]}`;
        const what =
          r.kind === 'creates' ? `create a ${target.slice(0, -1)}` : `change ${target.slice(0, -1)} ${r.id} (${r.fields.join(', ')})`;
        if (!grant.holds(scope, target)) {
          return deny(
            'SCOPE_MISSING',
            `Missing scope ${scope}: this ${field} reference would ${what} in Ghost.`,
            `${route.method} ${route.path}: Ghost writes to the ${target} a reference names.`,
            `Grant ${scope}, or reference existing ${target} by id or slug alone.`,
          );
        }
        const targetRule = g.fields?.[target as 'tags'];
        const refused = r.fields.find(
          (f) => targetRule?.deny?.includes(f) || (targetRule?.allow !== undefined && !targetRule.allow.includes(f)),
        );
        if (refused !== undefined) {
          return deny(
            'FIELD_REFUSED',
            `Refused (${refused}): this ${field} reference would ${what}, and this key may not set ${target} ${refused}.`,
            `${route.method} ${route.path}: a write to ${target} through a reference follows the key's ${target} field rules.`,
            `Reference existing ${target} by id or slug alone.`,
          );
        }
        changes = true;
      }
      if (r.kind !== 'creates') ids.push(r.id);
    }
    out.set(field, { ids, changes });
  }
  return missing.length > 0 ? { facts: 'pending', missing } : { facts: out, missing: [] };
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

import type { RouteEntry } from '../../catalog/catalog.js';
import type { UpstreamReach } from '../../catalog/permissions.js';
import type { ErrorCode } from '../../errors/errors.js';
import { constraintFor, describeConstraint, type Constraint } from '../../grants/constraints.js';
import type { BodyVerdict, RelationFacts } from '../../grants/fields.js';
import type { CompiledGrant, Grant } from '../../grants/grant.js';
import type { UpstreamIdentity } from '../../grants/identity.js';
import type { Lookup } from '../../grants/relations.js';
import type { Decision, Effects, Need, RequestFacts } from './decision.js';

export type Json = Record<string, unknown>;

/**
 * One authorize() call: its input, and what the steps so far have found. Steps add to `need` (facts to
 * gather before the answer) and `effects` (what forwarding must do), and pass read values on.
 */
export interface AuthorizeContext {
  readonly grant: CompiledGrant;
  readonly g: Grant;
  readonly route: RouteEntry;
  /** `METHOD /path` of the route, as the catalog writes it. */
  readonly routeKey: string;
  readonly upstream: UpstreamReach;
  readonly request: RequestFacts;
  readonly reservedSlugs: readonly string[];
  readonly identity: UpstreamIdentity;
  readonly need: Need;
  readonly effects: Effects;
  /** The body's relation references as resolved by the relations step ('pending' while lookups are out). */
  relations: RelationFacts | 'pending';
  /** Lookups the relations step still needs: asked for last, so a request a local rule refuses costs Ghost nothing. */
  lookups: readonly Lookup[];
  /** The write body's one record (or the bulk body), once the field step has read it. */
  item?: Json;
  bulkBody?: Json;
}

/**
 * One rule of the decision. `kind` names the grant part it enforces (src/grants/parts.ts), or `route` for
 * what holds for every key whatever its grant (the upstream's reach, filters read as Ghost reads them,
 * webhook relays). A step returns a decision to stop there (deny, or a need that cannot wait), or
 * undefined to go on; `withRules` steps run only for grants with rules beyond scopes.
 */
export interface AuthorizeStep {
  readonly name: string;
  readonly kind: keyof Grant | 'route';
  readonly withRules?: true;
  decide(ctx: AuthorizeContext): Decision | undefined;
}

/** A refusal; `help` left undefined is as good as absent to every reader (`exactOptionalPropertyTypes` is off). */
export function deny(code: ErrorCode, message: string, context: string, help?: string): Decision {
  return { allow: false, code, message, context, help };
}

/** A refusal from a body verdict; `help` names the grant's rule (a parameter named so is words to the mutation ignorer). */
export function fromBody(v: Extract<BodyVerdict, { ok: false }>, route: RouteEntry, help: string): Decision {
  const what = v.field ? ` (${v.field})` : '';
  return deny(v.code, `Refused${what}: ${v.why}.`, `${route.method} ${route.path}: ${v.why}.`, help);
}

export const holdsRead = (grant: CompiledGrant, resource: string) =>
  grant.holds(`${resource}:browse`, resource) || grant.holds(`${resource}:read`, resource);

/** The field rule of the route's own resource. */
export const ownRule = (ctx: AuthorizeContext) => ctx.g.fields?.[ctx.route.resource as keyof NonNullable<Grant['fields']>];

/** The record constraint of the route's own resource. */
export const ownConstraint = (ctx: AuthorizeContext) => constraintFor(ctx.g, ctx.route.resource);

/** The help line of a refusal by the route's own resource's rules. */
// Stryker disable next-line StringLiteral: the words of a refusal's help; only ever passed as `help`, which decides nothing
export const ruleHelp = (ctx: AuthorizeContext) => `The key's grant: ${describeRules(ctx.route.resource, ownConstraint(ctx))}.`;

export function describeRules(resource: string, c: Constraint | undefined): string {
  return c ? `limited to ${describeConstraint(resource, c)}` : `field rules on ${resource}`;
}

export function asObject(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

export function bodyItem(body: unknown, resource: string): Json | undefined {
  const list = asObject(body)?.[resource];
  return Array.isArray(list) && list.length === 1 ? asObject(list[0]) : undefined;
}

/** Re-encodes the query with the constrained filter, keeping every other parameter as the client sent it. */
export function rewriteQuery(query: ReadonlyMap<string, string>, filter: string): string {
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

import type { RouteEntry } from '../../catalog/catalog.js';
import type { PostType } from '../../catalog/exposure.js';
import type { UpstreamReach } from '../../catalog/permissions.js';
import type { ErrorCode } from '../../errors/errors.js';
import type { ConstrainedResource, Constraint } from '../../grants/constraints.js';
import type { EscalationFacts, EscalationNeed } from '../../grants/escalation-guard.js';
import type { CompiledGrant } from '../../grants/grant.js';
import type { UpstreamIdentity } from '../../grants/identity.js';
import type { Redactions } from '../../grants/personal-data.js';
import type { Lookup, LookupAnswers } from '../../grants/relations.js';
import type { RelayFact, WebhookWrite } from '../../webhooks/rule.js';

/** What authorize() reads (the request's facts, gathered step by step) and answers (allow, deny or need). */
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
  /** The grant's `confirm` item that holds this call: it is forwarded only with a person's approval (pipeline/approval.ts). */
  confirm?: string;
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

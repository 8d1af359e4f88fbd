import type { RouteEntry } from '../catalog/catalog.js';
import type { ErrorCode } from '../errors/errors.js';
import type { CompiledGrant } from '../grants/grant.js';
import { eventScopes, isWebhookEvent, type WebhookEvent } from './events.js';

/**
 * The webhook rule of `authorize()`: pure, like the function that calls it.
 * "Creating or editing a webhook needs the read scope of its event's resource":
 * a webhook is a standing read of every record its event fires for.
 *
 * The body is read as Ghost reads it: the JSON schemas `webhooks.add` and
 * `webhooks.edit` of @tryghost/admin-api-schema (validated with ajv,
 * `removeAdditional: true`, so unknown fields are dropped, not refused):
 * exactly one item; `event` lower case, at most 50 characters; `target_url` at
 * most 2000; `name` and `secret` strings or null, at most 191; `api_version`
 * at most 50; `integration_id` (add only), which the gateway refuses: it sets
 * it itself. rule.test.ts runs Ghost's own validator from the lab's install on
 * the same bodies.
 */
export interface WebhookWrite {
  readonly action: 'add' | 'edit' | 'destroy';
  /** Ghost's webhook id (edit, destroy). */
  readonly id?: string;
  readonly event?: WebhookEvent;
  /** The client's own target: the gateway delivers there; Ghost never sees it. */
  readonly targetUrl?: string;
  /** The client's own secret, when the body sets it; '' or null: deliveries are not signed (as Ghost does). */
  readonly secret?: string | null;
  /** The other fields Ghost reads (`name`, `api_version`), forwarded as read; `integration_id` is the gateway's. */
  readonly rest: Readonly<Record<string, string | null>>;
}

/**
 * The gateway's relay row for the webhook an edit or delete names, read from
 * the store by the pipeline: its event now, and whether this key created it.
 * `null`: the id names no active relay (a webhook made in Ghost Admin or
 * before the relay, or a retired one), which the gateway does not touch.
 */
export interface RelayFact {
  readonly event: string;
  /** This key created the webhook, or is an ancestor of the key that did. */
  readonly createdByKey: boolean;
}

export type WebhookRuleResult =
  | { kind: 'none' }
  | { kind: 'need-body' }
  | { kind: 'deny'; code: ErrorCode; message: string; context: string; help?: string }
  | { kind: 'write'; write: WebhookWrite };

type Field = { max: number; nullable: boolean };
const FIELDS: Record<'add' | 'edit', Record<string, Field>> = {
  add: {
    event: { max: 50, nullable: false },
    target_url: { max: 2000, nullable: false },
    name: { max: 191, nullable: true },
    secret: { max: 191, nullable: true },
    api_version: { max: 50, nullable: true },
  },
  edit: {
    event: { max: 50, nullable: false },
    target_url: { max: 2000, nullable: false },
    name: { max: 191, nullable: true },
    secret: { max: 191, nullable: true },
    api_version: { max: 50, nullable: true },
  },
};
const REST = ['name', 'api_version'];

const invalid = (why: string): WebhookRuleResult => ({
  kind: 'deny',
  code: 'BODY_INVALID',
  message: `The webhook body was refused: ${why}.`,
  context: why,
  help: 'Send {"webhooks": [{"event": "...", "target_url": "https://..."}]}.',
});

/** ajv's maxLength counts code points, not UTF-16 units. */
const length = (s: string) => Array.from(s).length;

export function webhookRule(
  grant: CompiledGrant,
  route: RouteEntry,
  params: Readonly<Record<string, string>>,
  body: unknown,
  relay?: RelayFact | null,
): WebhookRuleResult {
  if (route.resource !== 'webhooks') return { kind: 'none' };
  const action = route.action;
  if (action === 'destroy') return { kind: 'write', write: { action, id: params.id ?? '', rest: {} } };
  if (action !== 'add' && action !== 'edit') return { kind: 'none' };
  if (body === undefined) return { kind: 'need-body' };

  const list = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).webhooks : undefined;
  if (!Array.isArray(list) || list.length !== 1) return invalid('"webhooks" must be a list of exactly one webhook');
  const item: unknown = list[0];
  if (!item || typeof item !== 'object' || Array.isArray(item)) return invalid('the webhook must be an object');
  // CASE: Ghost's api-framework (validators/input/all.js) refuses an empty item and an `id` other than the path's.
  if (Object.keys(item).length === 0) return invalid('the webhook is empty');
  const bodyId = (item as Record<string, unknown>).id;
  if (action === 'edit' && bodyId && bodyId !== params.id) return invalid('the id in the body is not the id in the path');
  const read: Record<string, string | null> = {};
  for (const [name, f] of Object.entries(FIELDS[action])) {
    if (!(name in item)) continue;
    const v = (item as Record<string, unknown>)[name];
    if (v === null && f.nullable) read[name] = null;
    else if (typeof v !== 'string') return invalid(`${name} must be a string${f.nullable ? ' or null' : ''}`);
    else if (length(v) > f.max) return invalid(`${name} is longer than ${f.max} characters`);
    else read[name] = v;
  }
  if (action === 'add' && (read.event === undefined || read.target_url === undefined))
    return invalid('a new webhook needs event and target_url');

  // CASE: Ghost attaches a webhook to the integration its body names (webhooks.js add, staff callers):
  // a client naming one would hang a channel on another integration. The gateway sets it itself (writes.ts).
  if (action === 'add' && 'integration_id' in item) return invalid('integration_id is set by the gateway, not by the client');
  // CASE: a key that did not create the webhook, nor is an ancestor of its creator (`createdByKey: false`), may rename it, never re-point it:
  // its event, target and secret are the creator's channel, filtered by the creator's grant.
  if (action === 'edit' && relay && !relay.createdByKey) {
    const changed = Object.keys(read).filter((f) => f !== 'name');
    if (changed.length > 0) {
      return {
        kind: 'deny',
        code: 'RECORD_NOT_OWNED',
        message: `This key did not create webhook ${params.id}: it may only rename or delete it.`,
        context: `${route.method} ${route.path} sets ${changed.join(', ')}, which only the key that created the webhook (or its ancestors) may change.`,
        help: 'Use the key that created the webhook, or send only name.',
      };
    }
  }

  let event: WebhookEvent | undefined;
  if (read.event !== undefined) {
    if (!isWebhookEvent(read.event)) {
      return {
        kind: 'deny',
        code: 'WEBHOOK_EVENT_UNKNOWN',
        message: `Unknown webhook event "${String(read.event).slice(0, 50)}".`,
        context: 'Ghost fires only the events listed in docs/webhooks.md; a webhook for any other would never be called.',
        help: 'Use one of Ghost’s events, e.g. post.published.',
      };
    }
    event = read.event;
  }
  // The event after the write: the body's, or (an edit that keeps it) the relay's stored one. A webhook
  // is a standing read of it, so its read scopes are needed as for a creation.
  const after = event ?? (action === 'edit' && relay && isWebhookEvent(relay.event) ? relay.event : undefined);
  if (after) {
    for (const scope of eventScopes(after)) {
      const resource = scope.split(':')[0]!;
      if (!grant.holds(scope, resource)) {
        return {
          kind: 'deny',
          code: 'SCOPE_MISSING',
          message: `Missing scope ${scope}: a webhook for ${after} delivers ${resource}, so this key may not ${action === 'add' ? 'create' : 'set'} it.`,
          context: `${route.method} ${route.path} for the event ${after} needs the scope ${scope}.`,
          help: `Grant ${scope} (or ${resource}:*) to this key.`,
        };
      }
    }
  }
  const rest: Record<string, string | null> = {};
  for (const name of REST) if (read[name] !== undefined) rest[name] = read[name]!;
  const write: { -readonly [K in keyof WebhookWrite]: WebhookWrite[K] } = { action, rest };
  if (action === 'edit') write.id = params.id ?? '';
  if (event) write.event = event;
  if (read.target_url !== undefined) write.targetUrl = read.target_url!;
  if (read.secret !== undefined) write.secret = read.secret;
  return { kind: 'write', write };
}

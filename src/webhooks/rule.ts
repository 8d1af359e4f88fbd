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
 * at most 50; `integration_id` (add only) at most 24. rule.test.ts runs Ghost's
 * own validator from the lab's install on the same bodies.
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
  /** The other fields Ghost reads (`name`, `api_version`, `integration_id`), forwarded as read. */
  readonly rest: Readonly<Record<string, string | null>>;
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
    integration_id: { max: 24, nullable: true },
  },
  edit: {
    event: { max: 50, nullable: false },
    target_url: { max: 2000, nullable: false },
    name: { max: 191, nullable: true },
    secret: { max: 191, nullable: true },
    api_version: { max: 50, nullable: true },
  },
};
const REST = ['name', 'api_version', 'integration_id'];

const invalid = (why: string): WebhookRuleResult => ({ kind: 'deny', code: 'BODY_INVALID', message: `The webhook body was refused: ${why}.`, context: why, help: 'Send {"webhooks": [{"event": "...", "target_url": "https://..."}]}.' });

/** ajv's maxLength counts code points, not UTF-16 units. */
const length = (s: string) => [...s].length;

export function webhookRule(grant: CompiledGrant, route: RouteEntry, params: Readonly<Record<string, string>>, body: unknown): WebhookRuleResult {
  if (route.resource !== 'webhooks') return { kind: 'none' };
  const action = route.action;
  if (action === 'destroy') return { kind: 'write', write: { action, id: params.id ?? '', rest: {} } };
  if (action !== 'add' && action !== 'edit') return { kind: 'none' };
  if (body === undefined) return { kind: 'need-body' };

  const list = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).webhooks : undefined;
  if (!Array.isArray(list) || list.length !== 1) return invalid('"webhooks" must be a list of exactly one webhook');
  const item = list[0];
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
  if (action === 'add' && (read.event === undefined || read.target_url === undefined)) return invalid('a new webhook needs event and target_url');

  let event: WebhookEvent | undefined;
  if (read.event !== undefined) {
    if (!isWebhookEvent(read.event)) {
      return { kind: 'deny', code: 'WEBHOOK_EVENT_UNKNOWN', message: `Unknown webhook event "${String(read.event).slice(0, 50)}".`, context: 'Ghost fires only the events listed in docs/webhooks.md; a webhook for any other would never be called.', help: 'Use one of Ghost’s events, e.g. post.published.' };
    }
    event = read.event;
    for (const scope of eventScopes(event)) {
      const resource = scope.split(':')[0]!;
      if (!grant.holds(scope, resource)) {
        return {
          kind: 'deny',
          code: 'SCOPE_MISSING',
          message: `Missing scope ${scope}: a webhook for ${event} delivers ${resource}, so this key may not ${action === 'add' ? 'create' : 'set'} it.`,
          context: `${route.method} ${route.path} for the event ${event} needs the scope ${scope}.`,
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

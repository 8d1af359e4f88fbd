/**
 * Ghost's webhook events and what reading each one takes.
 *
 * The list is Ghost's own (ghost/core/core/server/services/webhooks/listen.js,
 * WEBHOOKS; events.test.ts collects it from the lab's install and compares).
 * Ghost accepts any lower-case string as an event (its JSON schema only asks
 * for lower case, `webhooks.json` in @tryghost/admin-api-schema); the gateway
 * refuses an event that is not in this list, since nothing would ever fire it.
 *
 * A webhook is a read channel: a delivery carries the record Ghost serialises
 * for the Admin API (services/webhooks/serialize.js). So creating one needs
 * the read scope of the event's resource, as if the key read the record.
 */
export const WEBHOOK_EVENTS = [
  'site.changed',
  'post.added',
  'post.deleted',
  'post.edited',
  'post.published',
  'post.published.edited',
  'post.unpublished',
  'post.scheduled',
  'post.unscheduled',
  'post.rescheduled',
  'page.added',
  'page.deleted',
  'page.edited',
  'page.published',
  'page.published.edited',
  'page.unpublished',
  'page.scheduled',
  'page.unscheduled',
  'page.rescheduled',
  'tag.added',
  'tag.edited',
  'tag.deleted',
  'member.added',
  'member.deleted',
  'member.edited',
  'post.tag.attached',
  'post.tag.detached',
  'page.tag.attached',
  'page.tag.detached',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
const KNOWN = new Set<string>(WEBHOOK_EVENTS);

export function isWebhookEvent(event: unknown): event is WebhookEvent {
  return typeof event === 'string' && KNOWN.has(event);
}

/** The resource (Ghost's docName) whose record a delivery of this event carries, or null (site.changed). */
export function eventResource(event: WebhookEvent): 'posts' | 'pages' | 'tags' | 'members' | null {
  // CASE: serialize.js takes the first word: `post.tag.attached` carries a post.
  const first = event.split('.')[0];
  return first === 'site' ? null : (`${first}s` as 'posts' | 'pages' | 'tags' | 'members');
}

/**
 * Scopes a key must hold to create or keep a webhook for the event, besides
 * `webhooks:add` / `webhooks:edit`. `post.tag.*` also tells which tag was
 * attached or detached, so it needs `tags:read` too.
 */
export function eventScopes(event: WebhookEvent): string[] {
  const resource = eventResource(event);
  if (resource === null) return [];
  const scopes = [`${resource}:read`];
  if (event.includes('.tag.')) scopes.push('tags:read');
  return scopes;
}

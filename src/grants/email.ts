import type { RouteEntry } from '../catalog/catalog.js';
import { grantSendsNoEmail, recordInclude } from './constraints.js';
import type { BodyVerdict } from './fields.js';
import type { Grant, GrantPart } from './grant.js';

/**
 * "Never send email" (`sendEmail: false`, or an older grant denying the `newsletter` field): every way
 * an Admin API request makes Ghost 6.65 send email to members or invitees, read from Ghost's code:
 *
 * - Publishing a post sends its newsletter when the STORED post has a newsletter, whatever the
 *   request says: ghost/core/core/server/services/posts/post-email-handler.js sends on a transition to
 *   published or sent when `newsletter_id` is set, and retries a failed email record, re-rendering the
 *   edited post; going back to draft clears `newsletter_id` only when no email record exists
 *   (core/server/models/post.js onSaving), and bulk unpublish keeps it (posts-service.js raw update).
 *   Scheduling does the same later, through the scheduler. So an edit that moves a post to published,
 *   sent or scheduled is refused when the post has a newsletter or an email record.
 * - `?newsletter=` and `?email_segment=` on a post edit set the newsletter (the only two Ghost reads;
 *   body fields of that name are stripped by its JSON schema, @tryghost/admin-api-schema removeAdditional).
 * - `?send_email` (any value: Ghost never casts it) and `?email_type` on a member add send a magic link
 *   (core/server/api/endpoints/members.js add).
 * - Routes whose purpose is sending: email retries, previews and tests, invites, automated emails and
 *   automations that send welcome emails, member subscriptions (paid welcome email), member imports
 *   (a completion email).
 * - Sender addresses of newsletters and the support address in settings: Ghost mails a verification.
 *
 * Staff notifications (a new member's signup alert) and webhooks are not member email and not covered.
 */
type Json = Record<string, unknown>;

const SENDING_ROUTES = new Set([
  'PUT /emails/:id/retry',
  'POST /email_previews/posts/:id',
  'POST /automated_emails/:id/test',
  'POST /automated_emails/:id/preview',
  'POST /automated_emails',
  'PUT /automated_emails/:id',
  'POST /automations/:id/email_test',
  'POST /automations/:id/email_preview',
  'PUT /automations/:id',
  'POST /invites',
  'POST /members/upload',
  'POST /members/:id/subscriptions',
  'PUT /members/:id/subscriptions/:subscription_id',
]);
const SENDING_PARAMS: Readonly<Record<string, readonly string[]>> = {
  'PUT /posts/:id': ['newsletter', 'email_segment', 'email_recipient_filter'],
  'POST /members': ['send_email', 'email_type'],
};
const SENDING_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'POST /newsletters': ['sender_email', 'sender_reply_to'],
  'PUT /newsletters/:id': ['sender_email', 'sender_reply_to'],
  'PUT /settings': ['members_support_address'],
};
const SENDS_WHEN_REACHED = new Set(['published', 'sent', 'scheduled']);

export type EmailCheck =
  | undefined
  | { need: { body?: true; record?: { resource: 'posts'; by: 'id'; value: string; include: string } } }
  | Extract<BodyVerdict, { ok: false }>;

export function checkEmailRules(
  grant: Grant,
  route: RouteEntry,
  request: { query: ReadonlyMap<string, string>; params: Readonly<Record<string, string>>; body?: unknown; record?: Json | null },
): EmailCheck {
  if (!grantSendsNoEmail(grant)) return undefined;
  const key = `${route.method} ${route.path}`;
  const refuse = (field: string, why: string): EmailCheck => ({ ok: false, code: 'FIELD_REFUSED', field, why });
  if (SENDING_ROUTES.has(key)) return refuse(route.action, `this key may not make Ghost send email (${key} sends)`);
  for (const p of SENDING_PARAMS[key] ?? [])
    if (request.query.has(p)) return refuse(p, `this key may not make Ghost send email (the ${p} parameter)`);
  const fields = SENDING_FIELDS[key];
  const needBody = fields !== undefined || key === 'PUT /posts/:id';
  if (!needBody) return undefined;
  if (request.body === undefined) return { need: { body: true } };
  const item = firstItem(request.body, route);
  if (fields) {
    // settings edits are {settings: [{key, value}]}; the others carry the fields on the item.
    const sent = route.resource === 'settings' ? settingKeys(request.body) : Object.keys(item ?? {});
    for (const f of fields)
      if (sent.includes(f)) return refuse(f, `this key may not make Ghost send email (changing ${f} sends a verification)`);
    return undefined;
  }
  // A post edit that reaches published, sent or scheduled: does the stored post carry a newsletter?
  const next = item?.status;
  if (typeof next !== 'string' || !SENDS_WHEN_REACHED.has(next)) return undefined;
  if (request.record === undefined)
    return { need: { record: { resource: 'posts', by: 'id', value: request.params.id ?? '', include: recordInclude(grant, 'posts') } } };
  const current = request.record;
  if (current === null || current.status === next) return undefined;
  if (current.newsletter || current.email) {
    return refuse(
      'status',
      `this key may not set status ${next}: the post has a newsletter${current.email ? ' and an email record' : ''}, so Ghost would send it`,
    );
  }
  return undefined;
}

function firstItem(body: unknown, route: RouteEntry): Json | undefined {
  const list = body && typeof body === 'object' ? (body as Json)[route.resource] : undefined;
  return Array.isArray(list) && list[0] && typeof list[0] === 'object' ? (list[0] as Json) : undefined;
}

function settingKeys(body: unknown): string[] {
  const list = body && typeof body === 'object' ? (body as Json).settings : undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an object key becomes a text no setting has
  return Array.isArray(list) ? list.map((s) => (s && typeof s === 'object' ? String((s as Json).key ?? '') : '')) : [];
}

/** "Never send email": a child of a parent that may not make Ghost send email may not either. */
export const sendEmailPart: GrantPart<'sendEmail'> = {
  part: 'sendEmail',
  subset: (child, parent) =>
    grantSendsNoEmail(parent) && !grantSendsNoEmail(child) ? ['sendEmail must stay false: the parent may not make Ghost send email'] : [],
  inherit: (child, parent) => (child.sendEmail === undefined && grantSendsNoEmail(parent) ? false : undefined),
  describe: (g) => (grantSendsNoEmail(g) ? ['never makes Ghost send email (publishing, newsletters, member emails)'] : []),
};

import type { Constraint } from './constraints.js';
import type { BodyVerdict } from './fields.js';

/**
 * Member constraints on write bodies. A member's status is not a body field (Ghost's JSON schema
 * strips it: @tryghost/admin-api-schema members definition), but other fields change it
 * (ghost/core/core/server/services/members/members-api/repositories/member-repository.js create/update):
 * tiers (or products) make a member comped, `comped: true` too, removing them makes it free again,
 * and a Stripe customer or subscriptions make it paid. A key limited to members of some statuses may
 * only send those fields when every status they can lead to is one it may touch.
 */
type Json = Record<string, unknown>;

export function checkMemberWrite(c: Constraint | undefined, body: Json, current: Json | undefined): BodyVerdict {
  if (!c || c.kind !== 'member' || !c.c.status) return { ok: true };
  const allowed = c.c.status;
  const leadsTo = new Map<string, string>();
  const tiers = body.tiers ?? body.products;
  if (Array.isArray(tiers)) {
    if (tiers.length > 0) leadsTo.set('comped', 'tiers');
    else if (current !== undefined) leadsTo.set('free', 'tiers');
  }
  if (body.comped === true) leadsTo.set('comped', 'comped');
  if (body.comped === false && current !== undefined) leadsTo.set('free', 'comped');
  if (body.stripe_customer_id !== undefined) leadsTo.set('paid', 'stripe_customer_id');
  if (body.subscriptions !== undefined) leadsTo.set('paid', 'subscriptions');
  for (const [status, field] of leadsTo) {
    if (!allowed.includes(status as never)) {
      return {
        ok: false,
        code: 'BODY_OUTSIDE_GRANT',
        field,
        why: `setting ${field} can make the member ${status}, and this key is limited to members with status ${allowed.join(' or ')}`,
      };
    }
  }
  return { ok: true };
}

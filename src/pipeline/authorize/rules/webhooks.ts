import { webhookRule } from '../../../webhooks/rule.js';
import { deny, type AuthorizeStep } from '../step.js';

/**
 * Every webhook made through the gateway belongs to its one upstream integration, so without this rule
 * one tool could edit or delete another's (ghost/core/core/server/api/endpoints/webhooks.js
 * permissions.before checks only the integration). A created webhook goes into the key's ledger.
 */
export const webhookOwnerStep: AuthorizeStep = {
  name: 'webhook-owner',
  kind: 'constraints',
  decide: ({ g, route, request, need, effects }) => {
    if (route.resource !== 'webhooks') return undefined;
    if (route.action === 'add') effects.ledger = 'webhooks';
    if (!(route.action === 'edit' || route.action === 'destroy') || g.constraints?.webhooks?.createdByKey === false) return undefined;
    if (!request.ownedIds) need.ownedIds = 'webhooks';
    else if (!request.ownedIds.has(request.params.id ?? '')) {
      return deny(
        'RECORD_NOT_OWNED',
        `This key may only ${route.action} webhooks it created.`,
        `webhook ${request.params.id} was not created by this key.`,
        'Use the key that created the webhook.',
      );
    }
    return undefined;
  },
};

/**
 * Only the gateway's own active relays are edited or deleted through it: a webhook made in Ghost Admin
 * or before the relay points straight at its target, and an edit could make it a channel outside any grant.
 */
export const webhookRelayStep: AuthorizeStep = {
  name: 'webhook-relay',
  kind: 'route',
  decide: ({ route, request, need }) => {
    if (route.resource !== 'webhooks' || !(route.action === 'edit' || route.action === 'destroy')) return undefined;
    if (request.webhook === undefined) need.webhook = request.params.id ?? '';
    else if (request.webhook === null) {
      return deny(
        'WEBHOOK_NOT_RELAYED',
        `Webhook ${request.params.id} is not relayed by the gateway: this key may not ${route.action} it.`,
        `${route.method} ${route.path}: the id names no active relay (a webhook made in Ghost Admin, before the relay, or retired).`,
        'An administrator can move it onto the relay (ghostgate webhooks migrate) or remove it (ghostgate webhooks remove).',
      );
    }
    return undefined;
  },
};

/** A webhook is a read channel: its event (after an edit) needs the read scope of what it delivers (src/webhooks/rule.ts). */
export const webhookEventStep: AuthorizeStep = {
  name: 'webhook-event',
  kind: 'scopes',
  decide: ({ grant, route, request, need, effects }) => {
    const hook = webhookRule(grant, route, request.params, request.body, request.webhook);
    if (hook.kind === 'need-body') need.body = true;
    else if (hook.kind === 'deny') return deny(hook.code, hook.message, hook.context, hook.help);
    else if (hook.kind === 'write') effects.webhook = hook.write;
    return undefined;
  },
};

import { z } from 'zod';
import { AdminError } from '../../admin/errors.js';
import { listWebhooks, removeWebhook, showWebhook } from '../../admin/webhooks.js';
import { route } from '../router.js';
import { DeliverySchema, Id, QueryBool, QueryInt, WebhookSchema } from '../schemas.js';

/** Webhooks made through the relay (docs/webhooks.md): list, show with deliveries, remove. */
const Params = z.object({ id: z.string().regex(/^[0-9a-f]{24}$|^[0-9a-f]{32}$/, "Ghost's id (24 hex) or the relay id (32 hex)") }).strict();
type Webhook = z.infer<typeof WebhookSchema>;

export const webhookRoutes = [
  route({
    method: 'GET',
    path: '/webhooks',
    action: 'webhooks.browse',
    tag: 'webhooks',
    summary: 'Relayed webhooks, their keys and targets (retired ones with all=true)',
    query: z.object({ key: Id.optional(), all: QueryBool.optional() }).strict(),
    response: z.object({ webhooks: z.array(WebhookSchema) }).strict(),
    async handle(deps, { query }) {
      const rows = await listWebhooks(deps.store, { ...(query.key ? { keyId: query.key } : {}), all: query.all === true });
      return { body: { webhooks: rows as Webhook[] } };
    },
  }),
  route({
    method: 'GET',
    path: '/webhooks/:id',
    action: 'webhooks.read',
    tag: 'webhooks',
    summary: 'One relayed webhook and its last deliveries (status, latency, attempt; never a body)',
    params: Params,
    query: z.object({ limit: QueryInt.optional().describe('deliveries, default 20') }).strict(),
    response: z.object({ webhooks: z.array(WebhookSchema.extend({ deliveries: z.array(DeliverySchema) })).length(1) }).strict(),
    async handle(deps, { params, query }) {
      const w = await showWebhook(deps.store, deps.deliveries, params.id, query.limit ?? 20);
      return { body: { webhooks: [w as Webhook & { deliveries: z.infer<typeof DeliverySchema>[] }] } };
    },
  }),
  route({
    method: 'DELETE',
    path: '/webhooks/:id',
    action: 'webhooks.destroy',
    tag: 'webhooks',
    summary: 'Remove a webhook made through the gateway from Ghost and stop its deliveries',
    params: Params,
    response: z.object({ webhooks: z.array(z.object({ id: z.string(), removed: z.boolean() }).strict()).length(1) }).strict(),
    async handle(deps, { params, now }) {
      if (!deps.ghostWebhooks) throw new AdminError('INVALID', 'the gateway runs without its webhook relay');
      const r = await removeWebhook(deps.store, deps.ghostWebhooks, params.id, now);
      return { body: { webhooks: [r] }, target: params.id };
    },
  }),
];

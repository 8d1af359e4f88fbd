import { z } from 'zod';
import { advise } from '../../admin/audit.js';
import { AdminError } from '../../admin/errors.js';
import { createKey, keyChildren, listKeys, presetsOf, revokeKey, rotateKey, showKey, updateKey, buildGrant } from '../../admin/keys.js';
import { keyJson } from '../../keys/key-json.js';
import type { KeyRecord } from '../../store/store.js';
import { route } from '../router.js';
import { Id, IdParams, KeySchema, LimitsSchema, QuerySince, UsesSchema, WebhookSchema } from '../schemas.js';
import { sinceMs } from './time.js';

/** Keys: list, create (from a preset, scopes or a grant), show, update name and limits, rotate, revoke, children, advise. */
const key = (k: KeyRecord) => ({ ...keyJson(k), presets: presetsOf(k.grant) }) as z.infer<typeof KeySchema>;
const Keys = z.object({ keys: z.array(KeySchema) }).strict();
const KeyWithSecret = KeySchema.extend({ key: z.string().describe('<24 hex id>:<64 hex secret>: shown this once, never stored') });

const NewKey = z
  .object({
    name: z.string().min(1).max(191),
    preset: z.string().optional().describe('GET /ghostgate/v1/presets'),
    scopes: z.array(z.string()).max(1000).optional().describe('added to the preset'),
    grant: z.record(z.string(), z.unknown()).optional().describe('a grant document (docs/grants.md), merged over the preset'),
    expires_at: z.iso.datetime().optional(),
    not_before: z.iso.datetime().optional(),
    max_uses: z.number().int().min(1).optional(),
    limits: LimitsSchema.optional(),
    parent_id: Id.optional().describe('make a child key: a subset of the parent, expiring no later'),
    allow_escalation: z.boolean().optional().describe('accept escalation scopes (docs/security.md)'),
  })
  .strict()
  .refine((k) => k.preset !== undefined || k.scopes !== undefined || k.grant !== undefined, 'give a preset, scopes or a grant');

export const keyRoutes = [
  route({
    method: 'GET',
    path: '/keys',
    action: 'keys.browse',
    tag: 'keys',
    summary: 'List keys, filtered by status, a part of the name, a preset they start from, or their parent',
    query: z
      .object({
        status: z.enum(['active', 'revoked']).optional(),
        search: z.string().min(1).max(191).optional(),
        preset: z.string().optional(),
        parent: Id.optional(),
      })
      .strict(),
    response: Keys,
    async handle(deps, { query }) {
      const keys = await listKeys(deps, {
        ...(query.status ? { status: query.status } : {}),
        ...(query.search ? { search: query.search } : {}),
        ...(query.preset ? { preset: query.preset } : {}),
        ...(query.parent ? { parentId: query.parent } : {}),
      });
      return { body: { keys: keys.map(key) } };
    },
  }),
  route({
    method: 'POST',
    path: '/keys',
    action: 'keys.add',
    tag: 'keys',
    summary: 'Create a key from a preset, scopes or a grant; the key is in the answer, once',
    body: z.object({ keys: z.array(NewKey).length(1) }).strict(),
    response: z.object({ keys: z.array(KeyWithSecret) }).strict(),
    status: 201,
    async handle(deps, { body, now }) {
      const k = body.keys[0]!;
      const grant = buildGrant({
        ...(k.preset !== undefined ? { preset: k.preset } : {}),
        ...(k.scopes ? { scopes: k.scopes } : {}),
        ...(k.grant ? { grant: k.grant } : {}),
      });
      const { record, key: secret } = await createKey(
        deps,
        {
          name: k.name,
          grant,
          expiresAt: k.expires_at ? Date.parse(k.expires_at) : null,
          notBefore: k.not_before ? Date.parse(k.not_before) : null,
          maxUses: k.max_uses ?? null,
          limits: k.limits ?? {},
          allowEscalation: k.allow_escalation === true,
          ...(k.parent_id ? { parentId: k.parent_id } : {}),
        },
        now,
      );
      return { body: { keys: [{ ...key(record), key: secret }] }, target: record.id };
    },
  }),
  route({
    method: 'GET',
    path: '/keys/:id',
    action: 'keys.read',
    tag: 'keys',
    summary: 'One key (never its secret), its uses and its relayed webhooks',
    params: IdParams,
    response: z.object({ keys: z.array(KeySchema.extend({ uses: UsesSchema, webhooks: z.array(WebhookSchema) })).length(1) }).strict(),
    async handle(deps, { params, now }) {
      const { record, uses, webhooks } = await showKey(deps, params.id, now);
      return { body: { keys: [{ ...key(record), uses, webhooks: webhooks as z.infer<typeof WebhookSchema>[] }] } };
    },
  }),
  route({
    method: 'PUT',
    path: '/keys/:id',
    action: 'keys.edit',
    tag: 'keys',
    summary: 'Rename a key or replace its limits (its grant never changes: make a new or a child key)',
    params: IdParams,
    body: z
      .object({
        keys: z.array(z.object({ name: z.string().min(1).max(191).optional(), limits: LimitsSchema.optional() }).strict()).length(1),
      })
      .strict(),
    response: Keys,
    async handle(deps, { params, body }) {
      const change = body.keys[0]!;
      const record = await updateKey(deps, params.id, {
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.limits !== undefined ? { limits: change.limits } : {}),
      });
      return { body: { keys: [key(record)] }, target: params.id };
    },
  }),
  route({
    method: 'POST',
    path: '/keys/:id/rotate',
    action: 'keys.rotate',
    tag: 'keys',
    summary: 'A new secret for the same grant; the old one works for grace_seconds (default 24 h)',
    params: IdParams,
    body: z
      .object({
        grace_seconds: z
          .number()
          .int()
          .min(0)
          .max(90 * 86_400)
          .optional(),
      })
      .strict()
      .optional(),
    response: z.object({ keys: z.array(KeyWithSecret).length(1) }).strict(),
    async handle(deps, { params, body, now }) {
      const { record, key: secret } = await rotateKey(deps, params.id, (body?.grace_seconds ?? 86_400) * 1000, now);
      return { body: { keys: [{ ...key(record), key: secret }] }, target: params.id };
    },
  }),
  route({
    method: 'POST',
    path: '/keys/:id/revoke',
    action: 'keys.revoke',
    tag: 'keys',
    summary: 'Revoke a key and its children; their webhooks are removed from Ghost',
    params: IdParams,
    response: z
      .object({
        keys: z.array(KeySchema).length(1),
        changed: z.boolean(),
        revoked: z.array(Id),
        webhooks_retired: z.array(z.string()),
        webhooks_not_removed_from_ghost: z.array(z.string()),
      })
      .strict(),
    async handle(deps, { params, now }) {
      const r = await revokeKey(deps, params.id, deps.ghostWebhooks, now);
      return {
        body: {
          keys: [key(r.record)],
          changed: r.changed,
          revoked: r.revoked,
          webhooks_retired: r.webhooks.retired,
          webhooks_not_removed_from_ghost: r.webhooks.notRemoved,
        },
        target: params.id,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/keys/:id/children',
    action: 'keys.children',
    tag: 'keys',
    summary: 'The keys whose parent this key is',
    params: IdParams,
    response: Keys,
    async handle(deps, { params }) {
      return { body: { keys: (await keyChildren(deps, params.id)).map(key) } };
    },
  }),
  route({
    method: 'GET',
    path: '/keys/:id/advice',
    action: 'keys.advise',
    tag: 'keys',
    summary: 'Least privilege from activity: unused scopes and the narrowest grant for its traffic (ghostgate advise)',
    params: IdParams,
    query: z.object({ since: QuerySince.optional().describe('default 30d') }).strict(),
    response: z
      .object({
        advice: z
          .object({
            key: Id,
            name: z.string(),
            since: z.string(),
            requests: z.number().int(),
            used: z.array(z.string()),
            unused: z.array(z.string()),
            narrowed_wildcards: z.array(z.object({ held: z.string(), used: z.array(z.string()), covers: z.number().int() }).strict()),
            refused_for_missing_scope: z.array(z.string()),
            proposed_grant: z.record(z.string(), z.unknown()),
          })
          .strict(),
      })
      .strict(),
    async handle(deps, { params, query, now }) {
      if (!deps.audit) throw new AdminError('INVALID', 'the audit trail is off (audit.enabled: false): nothing to learn from');
      return { body: { advice: await advise(deps.store, deps.audit, params.id, sinceMs(query.since ?? '30d', now)) } };
    },
  }),
];

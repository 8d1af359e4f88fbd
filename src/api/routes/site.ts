import { z } from 'zod';
import { catalogRoutes, scopesByResource } from '../../admin/catalog.js';
import { AdminError } from '../../admin/errors.js';
import { explainRequest } from '../../admin/explain.js';
import { rotateUpstream } from '../../admin/setup.js';
import { FULL_ACCESS_WORDS } from '../../grants/escalation.js';
import { GrantSchema } from '../../grants/grant.js';
import { PRESETS } from '../../grants/presets.js';
import { route } from '../router.js';
import { Id } from '../schemas.js';

/** Presets, the route catalog, explain, the upstream credential and health. */
const JsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

export const siteRoutes = [
  route({
    method: 'GET',
    path: '/presets',
    action: 'presets.browse',
    tag: 'catalog',
    summary: 'The grant presets a key can start from',
    response: z
      .object({
        presets: z.array(
          z
            .object({
              name: z.string(),
              description: z.string(),
              grant: GrantSchema,
              escalation: z.array(z.string()).describe(`escalation scopes: a key from it is ${FULL_ACCESS_WORDS}`),
            })
            .strict(),
        ),
      })
      .strict(),
    handle() {
      const presets = Object.entries(PRESETS).map(([name, p]) => ({
        name,
        description: p.description,
        grant: p.grant,
        escalation: [...(p.escalation ?? [])],
      }));
      return Promise.resolve({ body: { presets } });
    },
  }),
  route({
    method: 'GET',
    path: '/catalog/routes',
    action: 'catalog.routes',
    tag: 'catalog',
    summary: 'Every Ghost Admin API route the gateway serves, with the scope it needs (routes not listed are refused)',
    response: z
      .object({
        ghost_version: z.string(),
        routes: z.array(
          z
            .object({
              method: z.string(),
              path: z.string(),
              scope: z.string(),
              resource: z.string(),
              action: z.string(),
              ghost_permission: z.string(),
              unsafe_attrs: z.array(z.string()),
              integration_key: z.string(),
              staff_token: z.string(),
              flags: z.array(z.string()),
            })
            .strict(),
        ),
      })
      .strict(),
    handle() {
      return Promise.resolve({ body: catalogRoutes() });
    },
  }),
  route({
    method: 'GET',
    path: '/catalog/scopes',
    action: 'catalog.scopes',
    tag: 'catalog',
    summary: 'The scopes, grouped by Ghost resource, with the routes each allows and whether it escalates',
    response: z
      .object({
        resources: z.array(
          z
            .object({
              resource: z.string(),
              scopes: z.array(
                z.object({ scope: z.string(), action: z.string(), routes: z.array(z.string()), escalation: z.boolean() }).strict(),
              ),
            })
            .strict(),
        ),
      })
      .strict(),
    handle() {
      return Promise.resolve({ body: { resources: scopesByResource() } });
    },
  }),
  route({
    method: 'GET',
    path: '/explain',
    action: 'explain.read',
    tag: 'keys',
    summary: "The decision the gateway would make for a key's request, the rule that decides it and what would allow it",
    query: z
      .object({
        key: Id,
        method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
        path: z.string().min(1).max(2000).describe('/posts/ or /ghost/api/admin/posts/'),
        body: JsonText.optional().describe('the request body, as JSON text'),
        record: JsonText.optional().describe("the record's current state (Ghost's JSON), for rules that depend on it"),
        ip: z.string().max(64).optional(),
      })
      .strict(),
    response: z
      .object({
        explanation: z
          .object({ key: Id, name: z.string(), request: z.string(), decision: z.enum(['allow', 'deny', 'depends']) })
          .catchall(z.unknown()),
      })
      .strict(),
    async handle(deps, { query, now }) {
      if (query.record !== undefined && (query.record === null || typeof query.record !== 'object' || Array.isArray(query.record)))
        throw new AdminError('INVALID', 'record must be a JSON object');
      const out = await explainRequest(
        deps,
        {
          keyId: query.key,
          method: query.method,
          path: query.path,
          ...(query.body !== undefined ? { body: query.body } : {}),
          ...(query.record !== undefined ? { record: query.record as Record<string, unknown> } : {}),
          ...(query.ip !== undefined ? { ip: query.ip } : {}),
        },
        now,
      );
      return { body: { explanation: out as { key: string; name: string; request: string; decision: 'allow' | 'deny' | 'depends' } } };
    },
  }),
  route({
    method: 'GET',
    path: '/upstream',
    action: 'upstream.read',
    tag: 'upstream',
    summary: 'The upstream credential the gateway uses now: its id, kind and role (never its secret), and Ghost’s URL',
    response: z
      .object({
        upstream: z
          .object({
            url: z.string(),
            id: z.string(),
            kind: z.string(),
            role: z.string(),
            pinned_by_config: z.boolean(),
            reload_ms: z.number().int(),
          })
          .strict(),
      })
      .strict(),
    handle(deps) {
      const u = deps.upstream();
      return Promise.resolve({
        body: {
          upstream: {
            url: deps.config.upstream.url,
            id: u.id,
            kind: u.kind,
            role: u.role,
            pinned_by_config: Boolean(deps.config.upstream.key),
            reload_ms: deps.config.upstreamReloadMs,
          },
        },
      });
    },
  }),
  route({
    method: 'POST',
    path: '/upstream/rotate',
    action: 'upstream.rotate',
    tag: 'upstream',
    summary: 'Install a new upstream credential after Ghost accepts it; the gateway switches to it at once',
    body: z
      .object({
        key: z
          .string()
          .regex(/^[0-9a-f]{24}:[0-9a-f]{64}$/, '<24 hex id>:<64 hex secret>')
          .describe('never stored in plain text or echoed'),
      })
      .strict(),
    response: z
      .object({
        upstream: z.object({ rotated: z.boolean(), id: z.string(), kind: z.string(), role: z.string(), reloaded: z.boolean() }).strict(),
      })
      .strict(),
    async handle(deps, { body }) {
      if (deps.config.upstream.key)
        throw new AdminError('INVALID', 'the configuration pins the upstream credential (upstream.key or GHOSTGATE_UPSTREAM_KEY)');
      const r = await rotateUpstream(deps, body.key);
      const reloaded = deps.reloadUpstream ? await deps.reloadUpstream() : false;
      return { body: { upstream: { rotated: r.rotated, id: r.id, kind: r.kind, role: r.role, reloaded } }, target: r.id };
    },
  }),
  route({
    method: 'GET',
    path: '/health',
    action: 'health.read',
    tag: 'health',
    summary: 'Whether the key store, the audit trail and Ghost answer (the parts /ghostgate/readyz does not name)',
    response: z
      .object({
        health: z
          .object({
            status: z.enum(['ready', 'unavailable']),
            store: z.boolean(),
            audit: z.boolean().nullable().describe('null: the audit is off'),
            upstream: z.boolean(),
          })
          .strict(),
      })
      .strict(),
    async handle(deps) {
      const r = await deps.readiness();
      const ok = r.store && r.audit !== false && r.upstream;
      return { body: { health: { status: ok ? 'ready' : 'unavailable', ...r } } };
    },
  }),
];

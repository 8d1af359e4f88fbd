import { z } from 'zod';
import { auditRowJson, EXPORT_PAGE, exportAudit, queryAudit, verifyAudit } from '../../admin/audit.js';
import { auditKey } from '../../admin/context.js';
import { AdminError } from '../../admin/errors.js';
import type { AuditStore } from '../../store/audit.js';
import { route } from '../router.js';
import { AuditRowSchema, Id, QueryInt, QuerySince } from '../schemas.js';
import { sinceMs } from './time.js';

/** The audit trail: query, export (JSON Lines or CSV) and verify. */
const Position = z.object({ seq: z.number().int(), hash: z.string() }).strict();
const Discontinuity = z
  .object({ chain: z.string().nullable(), problem: z.string(), expected: Position.optional(), found: Position.nullable().optional() })
  .strict();
const trail = (audit: AuditStore | undefined): AuditStore => {
  if (!audit) throw new AdminError('INVALID', 'the audit trail is off (audit.enabled: false)');
  return audit;
};

export const auditRoutes = [
  route({
    method: 'GET',
    path: '/audit',
    action: 'audit.browse',
    tag: 'audit',
    summary: 'Audit records matching a filter, oldest first',
    query: z
      .object({
        key: Id.optional(),
        since: QuerySince.optional(),
        decision: z.enum(['allow', 'deny', 'error', 'unknown']).optional(),
        code: z
          .string()
          .regex(/^[A-Z_]{2,64}$/)
          .optional(),
        limit: QueryInt.refine((n) => n <= EXPORT_PAGE, `at most ${EXPORT_PAGE}`)
          .optional()
          .describe(`default 1000, at most ${EXPORT_PAGE}`),
      })
      .strict(),
    response: z.object({ audit: z.array(AuditRowSchema) }).strict(),
    async handle(deps, { query, now }) {
      const rows = await queryAudit(trail(deps.audit), {
        ...(query.key ? { keyId: query.key } : {}),
        ...(query.since ? { since: sinceMs(query.since, now) } : {}),
        ...(query.decision ? { decision: query.decision } : {}),
        ...(query.code ? { code: query.code } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      });
      return { body: { audit: rows.map(auditRowJson) } };
    },
  }),
  route({
    method: 'GET',
    path: '/audit/export',
    action: 'audit.export',
    tag: 'audit',
    summary:
      'Records (all, or since a time) with their hashes, as JSON Lines or CSV, oldest first, a page of at most 10000; the Ghostgate-Next-After header names the position to ask after for the next page',
    query: z
      .object({
        format: z.enum(['jsonl', 'csv']).optional().describe('default jsonl'),
        since: QuerySince.optional(),
        after: z
          .string()
          .regex(/^(0|[1-9][0-9]{0,15})$/, 'a position')
          .transform((v) => Number(v))
          .optional()
          .describe('the Ghostgate-Next-After of the previous page'),
        limit: QueryInt.refine((n) => n <= EXPORT_PAGE, `at most ${EXPORT_PAGE}`)
          .optional()
          .describe(`default and at most ${EXPORT_PAGE}`),
      })
      .strict(),
    produces: ['application/x-ndjson', 'text/csv'],
    async handle(deps, { query, now }) {
      const format = query.format ?? 'jsonl';
      const page = await exportAudit(trail(deps.audit), format, {
        ...(query.since ? { since: sinceMs(query.since, now) } : {}),
        ...(query.after !== undefined ? { afterPos: query.after } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      });
      return {
        text: page.text,
        type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        ...(page.next !== null ? { headers: { 'ghostgate-next-after': String(page.next) } } : {}),
      };
    },
  }),
  route({
    method: 'GET',
    path: '/audit/verify',
    action: 'audit.verify',
    tag: 'audit',
    summary: "Whether every chain is unbroken and the file is continuous with the key store's anchors (ghostgate audit verify)",
    response: z
      .object({
        verify: z
          .object({
            ok: z.boolean(),
            rows: z.number().int(),
            chains: z.array(
              z
                .object({
                  chain: z.string(),
                  rows: z.number().int(),
                  firstSeq: z.number().int().nullable(),
                  lastSeq: z.number().int().nullable(),
                  problems: z.array(z.string()),
                })
                .strict(),
            ),
            problems: z.array(z.string()),
            discontinuities: z.array(Discontinuity),
            acknowledged: z.array(
              z
                .object({
                  chain: z.string(),
                  seq: z.number().int(),
                  at: z.number(),
                  reason: z.string(),
                  discontinuities: z.array(Discontinuity),
                })
                .strict(),
            ),
          })
          .strict(),
      })
      .strict(),
    async handle(deps) {
      const r = await verifyAudit({ audit: trail(deps.audit), key: auditKey(deps.master), store: deps.store });
      return { body: { verify: r } };
    },
  }),
];

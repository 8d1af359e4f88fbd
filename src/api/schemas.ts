import { z } from 'zod';
import { GrantSchema } from '../grants/grant.js';

/**
 * The management API's shared schemas (zod 4). Requests are validated with
 * them and the OpenAPI document is generated from them (openapi.ts). Times
 * are ISO 8601 in UTC; ids are Ghost-style 24 hex.
 */
export const Id = z.string().regex(/^[0-9a-f]{24}$/, 'a 24 hex id');
export const IdParams = z.object({ id: Id }).strict();
const Time = z.string().describe('ISO 8601, UTC');
const NullableTime = Time.nullable();

export const LimitsSchema = z
  .object({
    ipAllow: z.array(z.string().min(1)).max(100).optional(),
    rate: z
      .object({
        perSecond: z.number().int().min(1).optional(),
        perMinute: z.number().int().min(1).optional(),
        burst: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    dailyQuota: z.number().int().min(1).optional(),
    webhooks: z.enum(['outlive', 'stop']).optional(),
  })
  .strict();

export const KeySchema = z
  .object({
    id: Id,
    name: z.string(),
    status: z.enum(['active', 'revoked']),
    grant: GrantSchema,
    escalation: z
      .object({
        full_access: z.boolean(),
        summary: z.string(),
        scopes: z.array(z.object({ scope: z.string(), categories: z.array(z.string()) }).strict()),
        narrowed: z.array(z.object({ scope: z.string(), bound: z.string() }).strict()),
      })
      .strict(),
    parent_id: Id.nullable(),
    created_at: Time,
    expires_at: NullableTime,
    not_before: NullableTime,
    max_uses: z.number().int().nullable(),
    limits: LimitsSchema,
    generation: z.number().int(),
    grace_until: NullableTime,
    revoked_at: NullableTime,
    last_used_at: NullableTime,
    use_count: z.number().int(),
    presets: z.array(z.string()).describe('the presets its grant starts from'),
  })
  .strict();

export const UsesSchema = z.object({ spent: z.number().int(), reserved: z.number().int(), unknown: z.number().int() }).strict();

export const WebhookSchema = z
  .object({
    id: z.string().nullable().describe("Ghost's id"),
    relay_id: z.string(),
    key_id: z.string(),
    key_name: z.string().nullable(),
    event: z.string(),
    target_url: z.string(),
    signed: z.boolean(),
    status: z.enum(['pending', 'active', 'retired']),
    retired_reason: z.string().nullable(),
    created_at: NullableTime,
    updated_at: NullableTime,
    retired_at: NullableTime,
    removed_from_ghost_at: NullableTime,
  })
  .strict();

export const DeliverySchema = z
  .object({
    at: NullableTime,
    delivery_id: z.string(),
    webhook_id: z.string().nullable(),
    key_id: z.string().nullable(),
    event: z.string(),
    attempt: z.number().int(),
    outcome: z.string(),
    status: z.number().int().nullable(),
    latency_ms: z.number().nullable(),
    error: z.string().nullable(),
    view: z.string().nullable(),
  })
  .strict();

export const ApprovalSchema = z
  .object({
    id: z.string(),
    key_id: z.string(),
    summary: z.string(),
    /** The held call as it would be forwarded, for the person deciding (null on approvals held before it was kept). */
    call: z
      .object({
        method: z.string(),
        path_and_query: z.string(),
        body: z.string().nullable(),
        body_encoding: z.enum(['utf8', 'base64']),
        record_version: z.string().nullable().optional(),
      })
      .strict()
      .nullable(),
    status: z.enum(['pending', 'approved', 'denied', 'used']),
    created_at: Time,
    decided_at: NullableTime,
    used_at: NullableTime,
    expires_at: Time,
  })
  .strict();

export const AuditRowSchema = z
  .object({
    chain: z.string(),
    seq: z.number().int(),
    at: Time,
    request_id: z.string(),
    kind: z.enum(['request', 'intent', 'outcome', 'discontinuity']),
    key_id: z.string().nullable(),
    key_name: z.string().nullable(),
    client_ip: z.string().nullable(),
    method: z.string(),
    route: z.string(),
    resource: z.string().nullable(),
    action: z.string().nullable(),
    decision: z.enum(['allow', 'deny', 'error', 'unknown']),
    code: z.string().nullable(),
    status: z.number().int().nullable(),
    latency_ms: z.number().nullable(),
    bytes_in: z.number().nullable(),
    bytes_out: z.number().nullable(),
    detail: z.unknown().describe('JSON details (admin actions: via, actor, action, target)').nullable(),
    hash: z.string(),
  })
  .strict();

/** Ghost's error envelope (src/errors/errors.ts): every refusal of the API is answered in it. */
export const ErrorEnvelopeSchema = z
  .object({
    errors: z
      .array(
        z
          .object({
            message: z.string(),
            context: z.string().nullable(),
            type: z.string(),
            details: z.null(),
            property: z.null(),
            help: z.string().nullable(),
            code: z.string().describe('a stable code of docs/errors.md'),
            id: z.string().describe('the request id'),
            ghostErrorCode: z.null(),
          })
          .strict(),
      )
      .length(1),
  })
  .strict();

/** A query flag: `true` or `false`. */
export const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
/** A positive integer given in the query string. */
export const QueryInt = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'a positive integer')
  .transform((v) => Number(v));
/** A duration back from now (`30d`, `24h`, `15m`, `45s`) or an ISO 8601 time, in the query string. */
export const QuerySince = z
  .string()
  .regex(/^(\d{1,6}[smhd]|\d{4}-\d\d-\d\dT[0-9:.]+Z)$/, 'a duration like 30d, 24h, 15m or an ISO 8601 time (UTC)')
  .refine((v) => /^\d+[smhd]$/.test(v) || !Number.isNaN(Date.parse(v)), 'not a valid time');

import { z } from 'zod';
import { ERRORS } from '../errors/errors.js';
import { API_PREFIX, type ApiRoute } from './router.js';
import { ErrorEnvelopeSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the management API, generated from the same
 * zod schemas the dispatcher validates with (zod 4's own z.toJSONSchema,
 * JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Requests are described
 * as they are read (`io: input`: a query flag is the text "true"), answers as
 * they are written.
 */
type Json = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

/** `{id}` for `:id`, as OpenAPI writes path parameters. */
export const openApiPath = (path: string) => `${API_PREFIX}${path.replace(/:([a-z_]+)/g, '{$1}')}`;

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    schema: p,
  }));
}

/** The error answers a route can give: the statuses of the catalog's codes it may answer with. */
function errorResponses(r: ApiRoute): Json {
  const codes: (keyof typeof ERRORS)[] = [
    'ADMIN_AUTH_MISSING',
    'ADMIN_TOKEN_INVALID',
    'ADMIN_TOKEN_REVOKED',
    'ADMIN_TOKEN_EXPIRED',
    ...(r.method === 'GET' ? [] : (['ADMIN_SCOPE_MISSING'] as const)),
    'API_VALIDATION',
    'ADMIN_NOT_FOUND',
    'ADMIN_INVALID',
    'AUDIT_UNAVAILABLE',
    'STORE_UNAVAILABLE',
    'INTERNAL',
  ];
  const byStatus = new Map<number, string[]>();
  for (const c of codes) byStatus.set(ERRORS[c].status, [...(byStatus.get(ERRORS[c].status) ?? []), c]);
  return Object.fromEntries(
    [...byStatus].map(([status, cs]) => [
      String(status),
      { description: cs.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

function operation(r: ApiRoute): Json {
  const params = [...parameters(r.params, 'path'), ...parameters(r.query, 'query')];
  let requestBody: Json | undefined;
  if (r.body) {
    const optional = r.body instanceof z.ZodOptional;
    const inner = optional ? (r.body as z.ZodOptional<z.ZodType>).unwrap() : r.body;
    requestBody = { required: !optional, content: { 'application/json': { schema: jsonSchema(inner, 'input') } } };
  }
  const ok = r.response
    ? { description: r.summary, content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } }
    : { description: r.summary, content: Object.fromEntries((r.produces ?? []).map((t) => [t, { schema: { type: 'string' } }])) };
  return {
    operationId: r.action,
    summary: r.summary,
    tags: [r.tag],
    ...(r.method === 'GET' ? {} : { description: 'Needs an admin:write token. Audited with the token’s identity.' }),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: { [String(r.status ?? 200)]: ok, ...errorResponses(r) },
  };
}

export function openApiDocument(routes: readonly ApiRoute[]): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) (paths[openApiPath(r.path)] ??= {})[r.method.toLowerCase()] = operation(r);
  paths[`${API_PREFIX}/openapi.json`] = {
    get: {
      operationId: 'openapi.read',
      summary: 'This document',
      tags: ['meta'],
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'ghostgate management API',
      version: '1',
      description:
        'Manage a ghostgate gateway: its keys, presets, route catalog, audit trail, webhooks and approvals. Errors are answered in Ghost’s error envelope with a stable code (docs/errors.md). docs/api.md has examples.',
    },
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ggadm_<24 hex>_<64 hex>',
          description: 'ghostgate admin token create --name N --scope admin:read|admin:write (admin:read may only GET)',
        },
      },
      schemas: { Error: jsonSchema(ErrorEnvelopeSchema, 'output') },
    },
    paths,
  };
}

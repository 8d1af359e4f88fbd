import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { auditAdminAction, type AdminActor } from '../admin/actor.js';
import { AdminError } from '../admin/errors.js';
import { errorEnvelope, gatewayError, type ErrorCode, type GatewayError } from '../errors/errors.js';
import { hasBody, readJsonBody } from '../pipeline/read-body/read-body.js';
import { StoreUnavailableError } from '../store/store.js';
import { authenticateAdmin, scopeAllows } from './auth.js';
import type { ApiDeps } from './deps.js';
import { openApiDocument } from './openapi.js';
import { API_PREFIX, matchRoute, type ApiRoute } from './router.js';
import { API_ROUTES } from './routes/index.js';

/**
 * The management API's front door (docs/api.md): authenticate the admin,
 * match the route, check the token's scope, validate the parameters, query
 * and body with the route's schemas, call the admin service, answer JSON (or
 * Ghost's error envelope with a code of docs/errors.md), and leave one audit
 * record for every change and every refusal (admin/actor.ts).
 */
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
const MAX_BODY = 256 * 1024;

export type ManagementApi = (req: IncomingMessage, res: ServerResponse, ctx: { requestId: string; ip: string | null }) => Promise<void>;

export function managementApi(deps: ApiDeps, routes: readonly ApiRoute[] = API_ROUTES): ManagementApi {
  const now = deps.now ?? Date.now;
  let doc: string | undefined;
  return async (req, res, { requestId, ip }) => {
    const started = now();
    const method = req.method ?? '';
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const pathname = url.pathname;
    let actor: AdminActor | null = null;
    let routeName = `${method} ${pathname.slice(0, 120)}`;
    let action: string | null = null;

    const entry = (
      kind: 'request' | 'intent',
      decision: 'allow' | 'deny' | 'error',
      code: ErrorCode | null,
      status: number | null,
      target: string | null,
    ) =>
      auditAdminAction(deps.auditWriter, {
        kind,
        actor,
        requestId,
        at: now(),
        clientIp: ip,
        method,
        route: routeName,
        action,
        target,
        decision,
        code,
        status,
        latencyMs: kind === 'intent' ? null : now() - started,
      });
    const audit = async (decision: 'allow' | 'deny' | 'error', code: ErrorCode | null, status: number, target?: string | null) => {
      try {
        await entry('request', decision, code, status, target ?? null);
      } catch (err) {
        deps.log.error({ requestId, err: { message: (err as Error).message } }, 'admin action not audited');
      }
    };
    const refuse = async (e: GatewayError, decision: 'deny' | 'error' = 'deny') => {
      const { status, body } = errorEnvelope(e, requestId);
      req.resume();
      await audit(decision, e.code, status, match.ok ? (match.params.id ?? null) : null);
      send(res, status, body, 'application/json; charset=utf-8', e.headers);
    };

    // The document describes the API and holds nothing secret: served without a token, like docs/api.md.
    if (pathname === OPENAPI_PATH && method === 'GET') {
      req.resume();
      doc ??= JSON.stringify(openApiDocument(routes));
      send(res, 200, doc, 'application/json; charset=utf-8');
      return;
    }
    const match = matchRoute(routes, method, pathname);
    if (match.ok) {
      routeName = `${method} ${API_PREFIX}${match.route.path}`;
      action = match.route.action;
    }
    const auth = await authenticateAdmin(req, deps, started);
    if (!auth.ok) return refuse(gatewayError(auth.code));
    actor = auth.actor;
    if (!match.ok) {
      const e = gatewayError(match.code);
      if (match.code === 'API_METHOD_NOT_ALLOWED') e.headers = { allow: match.allow.join(', ') };
      return refuse(e);
    }
    if (!scopeAllows(auth.scope, method))
      return refuse(gatewayError('ADMIN_SCOPE_MISSING', `${routeName} changes the gateway; token ${auth.actor.id} holds ${auth.scope}`));
    const r = match.route;

    // Parameters, query and body, each against the route's schema.
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) {
      if (Object.hasOwn(query, k)) return refuse(gatewayError('API_VALIDATION', `the query parameter ${k.slice(0, 40)} is repeated`));
      query[k] = v;
    }
    const params = parse(r.params, match.params, 'path');
    if (!params.ok) return refuse(params.error);
    const q = parse(r.query, query, 'query');
    if (!q.ok) return refuse(q.error);
    let body: unknown = undefined;
    if (r.body) {
      const read = await readJsonBody(req, MAX_BODY);
      if ('code' in read) return refuse(gatewayError(read.code, read.context));
      const b = parse(r.body, hasBody(req.headers) ? read.json : undefined, 'body');
      if (!b.ok) return refuse(b.error);
      body = b.value;
    } else if (hasBody(req.headers)) return refuse(gatewayError('API_VALIDATION', `${routeName} takes no body`));

    // CASE: a change is made only once its intent is durable in the audit: if it cannot be written, nothing
    // is changed (AUDIT_UNAVAILABLE), whatever audit.onFailure says of reads; as a forwarded write's intent.
    if (method !== 'GET') {
      try {
        await entry('intent', 'allow', null, null, match.params.id ?? null);
      } catch (err) {
        deps.log.error({ requestId, err: { message: (err as Error).message } }, 'admin action refused: its intent could not be audited');
        return refuse(gatewayError('AUDIT_UNAVAILABLE', 'the audit trail cannot be written; nothing was changed'), 'error');
      }
    }
    let result;
    try {
      result = await r.handle(deps, { params: params.value, query: q.value, body, actor, now: started });
    } catch (err) {
      if (err instanceof AdminError)
        return refuse(gatewayError(err.code === 'NOT_FOUND' ? 'ADMIN_NOT_FOUND' : 'ADMIN_INVALID', err.message));
      const store = err instanceof StoreUnavailableError;
      deps.log.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'management API error');
      return refuse(
        gatewayError(
          store ? 'STORE_UNAVAILABLE' : 'INTERNAL',
          store ? 'the gateway could not read its store' : `an unexpected error; the gateway's log has it under request id ${requestId}`,
        ),
        'error',
      );
    }
    const status = r.status ?? 200;
    // A change is answered once its audit record is durable; reads of the API are not recorded.
    if (method !== 'GET') await audit('allow', null, status, 'body' in result ? result.target : null);
    if ('text' in result) {
      send(res, status, result.text, result.type, result.headers);
      return;
    }
    send(res, status, JSON.stringify(result.body), 'application/json; charset=utf-8');
  };
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: GatewayError };

function parse(schema: z.ZodType | undefined, value: unknown, where: 'path' | 'query' | 'body'): Parsed {
  if (!schema) {
    const empty = value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    return empty
      ? { ok: true, value: undefined }
      : { ok: false, error: gatewayError('API_VALIDATION', `this route takes no ${where} parameters`) };
  }
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  const at = [where, ...issue.path.map(String)].join('.');
  return { ok: false, error: gatewayError('API_VALIDATION', `${at}: ${issue.message}`.slice(0, 300)) };
}

function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

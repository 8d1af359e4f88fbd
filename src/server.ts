import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorEnvelope, gatewayError, type ErrorCode, type GatewayError } from './errors/errors.js';
import { recordBreaks } from './grants/constraints.js';
import { redact } from './grants/personal-data.js';
import type { Effects } from './pipeline/authorize/authorize.js';
import { UNCHANGED, type Forwarder } from './pipeline/forward/forward.js';
import { runPipeline, type PipelineDeps } from './pipeline/pipeline.js';
import { StoreUnavailableError, type Store } from './store/store.js';
import { handleKeysApi } from './keys/keys-api.js';
import type { KeyPolicy } from './keys/mint.js';
import type { AuditLog } from './pipeline/audit/audit-log.js';
import type { RequestEvents } from './pipeline/events.js';
import type { HealthHandler } from './health.js';
import type { AuditDecision, AuditEntry, AuditKind } from './pipeline/audit/record.js';
import { clientIp } from './pipeline/lifecycle/lifecycle.js';
import type { UsageRecorder } from './pipeline/usage.js';
import type { PreparedWrite, WebhookService } from './webhooks/service.js';
import type { McpEndpoint, McpOutcome } from './mcp/endpoint.js';
import { dispatchInProcess } from './mcp/dispatch.js';
import type { ManagementApi } from './api/handler.js';
import { API_PREFIX } from './api/router.js';
import { KEYS_API_PATH } from './keys/keys-api.js';

/**
 * The HTTP front door: runs the pipeline, turns refusals into Ghost's error
 * envelope, forwards what is allowed and applies the grant's effects to the
 * answer. Any unexpected error fails closed.
 */
export interface GatewayServerDeps extends PipelineDeps {
  readonly policy: KeyPolicy;
  readonly usage: UsageRecorder;
  /** The audit writer, for intents (durable before a write is forwarded); absent when the audit is switched off (benchmarks only). */
  readonly audit?: AuditLog;
  /** Where the one event of each request goes (the audit writer subscribes: main.ts). */
  readonly events?: RequestEvents;
  /** `refuse` (default): while records cannot be written, every request is refused; `serve-reads`: reads go on unrecorded. */
  readonly auditOnFailure?: 'refuse' | 'serve-reads';
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly now?: () => number;
  /** The webhook relay (src/webhooks/); without it, webhook writes are refused. */
  readonly webhooks?: WebhookService;
  /** /ghostgate/healthz and /ghostgate/readyz (src/health.ts); answered before anything else. */
  readonly health?: HealthHandler;
  /** The MCP endpoint (src/mcp/, docs/mcp.md); its tool calls come back through this server's handler. */
  readonly mcp?: McpEndpoint;
  /**
   * The management API (src/api/, docs/api.md) under /ghostgate/v1; `elsewhere` when `admin.listen`
   * serves it on a listener of its own (then this port answers API_ROUTE_UNKNOWN for it).
   */
  readonly api?: ManagementApi | 'elsewhere';
  /** The web console (src/console/, docs/console.md): /ghostgate/console/ and /ghostgate/request. */
  readonly console?: {
    isPath(url: string | undefined): boolean;
    handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  };
}

/**
 * `POST /ghostgate/v1/keys/` signed with a ghostgate key (`Authorization: Ghost …`) is a key holder
 * minting a child key (keys/keys-api.ts), not the management API, which takes admin tokens (Bearer).
 */
export function isChildMint(req: IncomingMessage): boolean {
  const path = (req.url ?? '').split('?')[0];
  return (
    req.method === 'POST' &&
    (path === KEYS_API_PATH || path === KEYS_API_PATH.slice(0, -1)) &&
    /^Ghost /.test(req.headers.authorization ?? '')
  );
}

/**
 * A request made in process for an MCP tool call (src/mcp/dispatch.ts): its audit
 * records say so in `detail`, with the tool and the MCP request it came from.
 * Passed as an argument, never read from a header, so no client can claim it.
 */
export interface RequestOrigin {
  readonly via: 'mcp';
  readonly tool: string;
  readonly call: string;
}

export function sendError(res: ServerResponse, err: GatewayError, requestId: string): void {
  const { status, body } = errorEnvelope(err, requestId);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...err.headers,
  });
  res.end(body);
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/** What the grant does to Ghost's JSON answer: ledger first (it needs ids), then the safety net, then redaction. */
function inspector(
  effects: Effects,
  store: Store,
  keyIds: string[],
  log: Logger,
  requestId: string,
): ((status: number, json: unknown) => Promise<unknown>) | undefined {
  if (!effects.ledger && !effects.check && !effects.redact) return undefined;
  return async (status, json) => {
    if (status < 200 || status >= 300 || !json || typeof json !== 'object') return UNCHANGED;
    const body = json as Record<string, unknown>;
    let changed = false;
    if (effects.ledger) {
      // A record a child key creates is also its ancestors' (a child's set stays within its parent's).
      const created = body[effects.ledger];
      for (const rec of Array.isArray(created) ? created : []) {
        if (rec && typeof rec === 'object' && typeof (rec as { id?: unknown }).id === 'string') {
          for (const keyId of keyIds) await store.ledger.add(keyId, effects.ledger, (rec as { id: string }).id, Date.now());
        }
      }
    }
    if (effects.check) {
      const { resource, constraint, owned } = effects.check;
      const list = body[resource];
      if (Array.isArray(list)) {
        const kept = list.filter(
          (rec) =>
            !rec ||
            typeof rec !== 'object' ||
            recordBreaks(constraint, rec as Record<string, unknown>, (id) => owned.has(id), false) === undefined,
        );
        if (kept.length !== list.length) {
          // Ghost returned records outside the filter the gateway sent: drop them and raise the alarm.
          log.warn(
            { requestId, key: keyIds[0], resource, removed: list.length - kept.length, alert: 'constraint_safety_net' },
            'removed records outside the key constraint',
          );
          body[resource] = kept;
          changed = true;
        }
      }
    }
    if (effects.redact && redact(body, effects.redact) > 0) changed = true;
    return changed ? body : UNCHANGED;
  };
}

type Inspect = (status: number, json: unknown) => Promise<unknown>;
/** Two inspectors in turn: the second sees what the first made of the answer. */
function chain(a: Inspect | undefined, b: Inspect | undefined): Inspect | undefined {
  if (!a || !b) return a ?? b;
  return async (status, json) => {
    const first = await a(status, json);
    const second = await b(status, first === UNCHANGED ? json : first);
    return second === UNCHANGED ? first : second;
  };
}

export function createGatewayServer(deps: GatewayServerDeps): Server {
  const now = deps.now ?? Date.now;
  // The in-process requests of MCP tool calls whose pipeline authenticated the key (McpEndpoint counts the others).
  const keyedOrigins = new WeakSet<RequestOrigin>();
  const serve = (req: IncomingMessage, res: ServerResponse, origin?: RequestOrigin): void => {
    void handle(req, res, origin).catch((err: unknown) => {
      deps.log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'unhandled gateway error');
      if (!res.headersSent) sendError(res, gatewayError('INTERNAL'), 'internal');
      else res.destroy();
    });
  };
  const server = createServer({ requireHostHeader: true }, (req, res) => {
    serve(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse, origin?: RequestOrigin): Promise<void> {
    const started = now();
    const requestId = randomUUID();
    const method = req.method ?? '';
    // Resolved once: the audit records it and the lifecycle checks it.
    const resolvedIp = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustedProxies);
    const ip = resolvedIp ?? null;
    const cl = Number(req.headers['content-length']);
    // Every exit path emits one request event (the audit writes it; a forwarded write's intent is written before).
    const entry = (p: {
      kind: AuditKind;
      decision: AuditDecision;
      code?: string | null;
      status?: number | null;
      bytesOut?: number | null;
      key?: { id: string; name: string } | undefined;
      route: string;
      resource?: string | null;
      action?: string | null;
      detail?: Record<string, string | null>;
    }): AuditEntry => ({
      at: now(),
      requestId,
      kind: p.kind,
      keyId: p.key?.id ?? null,
      keyName: p.key?.name ?? null,
      clientIp: ip,
      method,
      route: p.route,
      resource: p.resource ?? null,
      action: p.action ?? null,
      decision: p.decision,
      code: p.code ?? null,
      status: p.status ?? null,
      latencyMs: p.kind === 'intent' ? null : now() - started,
      bytesIn: Number.isFinite(cl) ? cl : null,
      bytesOut: p.bytesOut ?? null,
      ...(origin || p.detail ? { detail: JSON.stringify({ ...origin, ...p.detail }) } : {}),
    });
    const rawRoute = (req.url ?? '').split('?')[0]!.slice(0, 120);
    // Health probes answer whatever the audit's state (readyz reports it), and are not requests through the gateway.
    // (Only paths under /ghostgate/ can be probes: other requests skip the call and its await.)
    if (deps.health && rawRoute.startsWith('/ghostgate/') && (await deps.health(req, res))) return;

    // Audit required, by policy: while records cannot be written, nothing is served (reads included).
    if (deps.audit && (deps.auditOnFailure ?? 'refuse') === 'refuse' && !(await deps.audit.ready())) {
      sendError(
        res,
        gatewayError(
          'AUDIT_UNAVAILABLE',
          'the audit trail cannot be written; every request is refused until it can (audit.onFailure: refuse)',
        ),
        requestId,
      );
      req.resume();
      deps.events?.emit(entry({ kind: 'request', decision: 'deny', code: 'AUDIT_UNAVAILABLE', route: `${method} ${rawRoute}` }));
      return;
    }

    // The web console: pages for people, not requests through the gateway; its admin actions are audited by the console.
    if (deps.console?.isPath(req.url) && !origin) {
      await deps.console.handle(req, res);
      return;
    }

    // An MCP client (src/mcp/): each tool call is sent back through `handle` as the HTTP request it stands for.
    if (deps.mcp?.isPath(req.url) && !origin) {
      const apiPrefix = `/${deps.ghostPath}/api/admin`;
      const refuse = (code: ErrorCode, context: string, headers?: Record<string, string>) => {
        const e = gatewayError(code, context);
        if (headers) e.headers = headers;
        sendError(res, e, requestId);
        req.resume();
      };
      let o: McpOutcome;
      try {
        o = await deps.mcp.handle(req, res, {
          now: started,
          ip: resolvedIp,
          dispatch: async (r, tool) => {
            const inner: RequestOrigin = { via: 'mcp', tool, call: requestId };
            const answer = await dispatchInProcess(
              (q, s) => {
                serve(q, s, inner);
              },
              req,
              apiPrefix,
              r,
            );
            return { ...answer, keyed: keyedOrigins.has(inner) };
          },
          refuse,
        });
      } catch (err) {
        // Audited like every other exit: a failure inside the MCP SDK or a dispatch is INTERNAL, logged under the request id.
        deps.log.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'mcp request failed');
        o = { method: null, tool: null, code: 'INTERNAL', key: undefined, sent: false };
        if (!res.headersSent) refuse('INTERNAL', `an unexpected error; the gateway's log has it under request id ${requestId}`);
        else res.destroy();
      }
      deps.events?.emit(
        entry({
          kind: 'request',
          decision: o.code ? 'deny' : 'allow',
          code: o.code,
          status: res.statusCode,
          key: o.key,
          route: `${method} /ghostgate/mcp`,
          resource: 'mcp',
          action: o.method,
          detail: o.tool === null ? { via: 'mcp' } : { via: 'mcp', tool: o.tool },
        }),
      );
      return;
    }
    // The management API: admin tokens, its own routes, every change and refusal audited with the admin's identity.
    if (deps.api && (rawRoute === API_PREFIX || rawRoute.startsWith(`${API_PREFIX}/`)) && !isChildMint(req) && !origin) {
      if (deps.api !== 'elsewhere') return deps.api(req, res, { requestId, ip });
      sendError(res, gatewayError('API_ROUTE_UNKNOWN', 'the management API listens on admin.listen, not on this port'), requestId);
      req.resume();
      deps.events?.emit(entry({ kind: 'request', decision: 'deny', code: 'API_ROUTE_UNKNOWN', route: `${method} ${rawRoute}` }));
      return;
    }
    // Ghost calling the webhook relay: its signature is the only credential (src/webhooks/).
    if (deps.webhooks?.isRelayPath(req.url)) {
      const r = await deps.webhooks.relay(req, started);
      // A body not read to its end (too slow, or the caller gone) leaves the connection unusable: closed once answered.
      if (r.close) res.once('finish', () => req.socket.destroy()).setHeader('connection', 'close');
      if (r.code) {
        sendError(res, gatewayError(r.code, r.context), requestId);
        req.resume();
      } else {
        res.writeHead(r.status, { 'content-length': 0, 'cache-control': 'no-store' });
        res.end();
      }
      deps.events?.emit(
        entry({
          kind: 'request',
          decision: r.code ? 'deny' : 'allow',
          code: r.code ?? null,
          status: res.statusCode,
          key: r.key,
          route: 'POST /ghostgate/webhooks/relay/:id',
          resource: 'webhooks',
          action: 'relay',
        }),
      );
      return;
    }
    if ((req.url ?? '').startsWith('/ghostgate/')) {
      let code: string | null = null;
      const send = (r: ServerResponse, status: number, body: unknown) => {
        const text = JSON.stringify(body);
        r.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        r.end(text);
      };
      const mint = { route: 'POST /ghostgate/v1/keys', resource: 'keys', action: 'mint' };
      const { who, audited } = await handleKeysApi(
        deps,
        req,
        res,
        started,
        resolvedIp,
        send,
        (r, e) => {
          code = e.code;
          sendError(r, e, requestId);
          req.resume();
        },
        {
          // Like a forwarded write: the intent is durable before the key is minted; with no audit, nothing to wait for.
          intent: async (key) => deps.audit?.intent(entry({ kind: 'intent', decision: 'allow', key, ...mint })),
          outcome: (key, o) => deps.events?.emit(entry({ kind: 'outcome', ...o, key, ...mint })),
        },
      );
      if (!audited)
        deps.events?.emit(
          entry({
            kind: 'request',
            decision: 'deny',
            code,
            status: res.statusCode,
            key: who,
            route: `${method} /ghostgate/v1/keys`,
            resource: 'keys',
            action: 'mint',
          }),
        );
      return;
    }
    let result;
    try {
      result = await runPipeline(deps, req, started, resolvedIp);
      // An MCP tool call's request that reached the key (so counted against its rate and quota, or refused for it).
      if (origin && result.key) keyedOrigins.add(origin);
    } catch (err) {
      // A failing store is STORE_UNAVAILABLE; anything else is a bug, INTERNAL, logged under the request id the client sees.
      const store = err instanceof StoreUnavailableError;
      deps.log.error(
        { requestId, err: { name: (err as Error).name, message: (err as Error).message } },
        store ? 'store error' : 'internal error',
      );
      result = store
        ? { forward: false as const, code: 'STORE_UNAVAILABLE' as const, context: 'the gateway could not read its store' }
        : {
            forward: false as const,
            code: 'INTERNAL' as const,
            context: `an unexpected error; the gateway's log has it under request id ${requestId}`,
          };
    }
    if (result.forward && method === 'GET' && hasBody(req)) {
      if (result.reservation) await deps.store.keys.settleUse(result.reservation, 'failed', now());
      if (result.lock) await deps.store.recordLocks.release(result.lock, false, now());
      result = {
        forward: false as const,
        code: 'HEADER_AMBIGUOUS' as const,
        context: 'a GET request may not carry a body',
        resolved: result.resolved,
      };
    }
    // A webhook write goes through the relay: Ghost is given the relay's target and secret, the client sees its own.
    let hook: PreparedWrite | undefined;
    if (result.forward && result.effects.webhook && result.key) {
      hook = deps.webhooks
        ? await deps.webhooks.prepareWrite(result.effects.webhook, result.key, now(), UNCHANGED)
        : { ok: false, code: 'WEBHOOK_RELAY_UNAVAILABLE', context: 'the gateway runs without its webhook relay' };
      if (!hook.ok) {
        if (result.reservation) await deps.store.keys.settleUse(result.reservation, 'failed', now());
        if (result.lock) await deps.store.recordLocks.release(result.lock, false, now());
        result = { forward: false as const, code: hook.code, context: hook.context, resolved: result.resolved, key: result.key };
      }
    }
    const route = result.resolved ? `${result.resolved.route.method} ${result.resolved.route.path}` : `${method} ${rawRoute}`;
    const routeFacts = { route, resource: result.resolved?.route.resource ?? null, action: result.resolved?.route.action ?? null };
    if (!result.forward) {
      const e = gatewayError(result.code, result.context, result.help, result.message);
      if (result.retryAfterS !== undefined) e.headers = { 'retry-after': String(result.retryAfterS) };
      sendError(res, e, requestId);
      req.resume();
      deps.events?.emit(entry({ kind: 'request', decision: 'deny', code: result.code, key: result.key, ...routeFacts }));
      deps.log.debug({ requestId, method, route, key: result.key?.id, decision: 'deny', code: result.code }, 'refused');
      return;
    }
    // What decides the key's next requests is settled before the client is answered (issue 16): its use
    // spent or given back, a webhook relay activated, discarded or retired, the record's lock released.
    // A client that acts on the answer at once (a retry, the next call) finds it settled on either store.
    // Once only, whichever path comes first; a store failure here is logged and Ghost's answer still sent
    // (the write was done; a lock not released runs out).
    let settled = false;
    const settle = async (hookStatus: number, use: 'succeeded' | 'failed' | 'unknown', forwarded = true): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        if (result.lock) await deps.store.recordLocks.release(result.lock, forwarded, now());
      } catch (err) {
        deps.log.error({ requestId, key: result.key?.id, err: { message: (err as Error).message } }, 'record lock not released');
      }
      try {
        if (hook?.ok) await hook.settle(hookStatus);
        if (result.reservation) await deps.store.keys.settleUse(result.reservation, use, now());
      } catch (err) {
        deps.log.error({ requestId, key: result.key?.id, err: { message: (err as Error).message } }, 'use or webhook relay not settled');
      }
    };
    // A write is forwarded only once its intent record is durable; if it cannot be written, nothing is forwarded.
    const mutating = method !== 'GET';
    const refuseUnforwarded = async (code: 'AUDIT_UNAVAILABLE' | 'KEY_USES_EXHAUSTED', context: string) => {
      await settle(0, 'failed', false);
      sendError(res, gatewayError(code, context), requestId);
      req.resume();
      deps.events?.emit(entry({ kind: 'request', decision: 'deny', code, key: result.key, ...routeFacts }));
    };
    if (mutating && deps.audit) {
      try {
        await deps.audit.intent(entry({ kind: 'intent', decision: 'allow', key: result.key, ...routeFacts }));
      } catch (err) {
        deps.log.error({ requestId, err: { message: (err as Error).message } }, 'audit intent not written; request refused');
        return refuseUnforwarded('AUDIT_UNAVAILABLE', 'the audit intent could not be written');
      }
    }
    // The fence: a reservation is marked sent before the request leaves, so a reservation never
    // marked sent proves its write never reached Ghost. False: this process's lease ran out and
    // the reservation was resolved by another process; forwarding now could spend the use twice.
    if (result.reservation && !(await deps.store.keys.markSent(result.reservation, requestId))) {
      return refuseUnforwarded(
        'KEY_USES_EXHAUSTED',
        'the reservation of this use was lost (the gateway stalled past its lease); nothing was forwarded',
      );
    }
    const inspect = chain(
      inspector(
        result.effects,
        deps.store,
        result.key ? [result.key.id, ...(result.ancestors ?? []).map((a) => a.id)] : [],
        deps.log,
        requestId,
      ),
      hook?.ok ? hook.inspect : undefined,
    );
    const out = await deps.forwarder.forward(req, res, {
      method,
      pathAndQuery: result.pathAndQuery,
      authorization: result.upstreamAuthorization,
      body:
        (hook?.ok && hook.body ? { bytes: hook.body, type: 'application/json' } : undefined) ??
        result.body ??
        (method !== 'GET' && hasBody(req) ? 'stream' : null),
      requestId,
      ...(inspect ? { inspect } : {}),
      // Only when there is something to settle: without it, the answer streams on the fast path.
      ...(hook?.ok || result.reservation || result.lock
        ? { settle: (s: number) => settle(s, s >= 200 && s < 300 ? 'succeeded' : 'failed') }
        : {}),
    });
    // Ghost's status, when it answered (also when the client had gone by then).
    const status = out.status;
    const succeeded = status !== null && status >= 200 && status < 300;
    // A write that may have reached Ghost and whose answer did not come through: its outcome is
    // `unknown`, never an error (with Ghost's status when its answer began). With no status at all,
    // its use is spent: Ghost may have done it.
    const unknown = !out.ok && out.sent && mutating;
    // CASE: the forward failed before Ghost's answer went out (no answer, or one the gateway could not
    // read): settled here, still before the client is sent the gateway's error.
    await settle(out.ok ? out.status : 0, succeeded ? 'succeeded' : unknown && status === null ? 'unknown' : 'failed');
    if (!result.reservation && result.key && succeeded) deps.usage.add(result.key.id, now());
    if (!out.ok) {
      if (!out.responseStarted && !res.headersSent && !res.destroyed) sendError(res, gatewayError(out.code, out.context), requestId);
      else res.destroy();
    }
    deps.events?.emit(
      entry({
        kind: mutating ? 'outcome' : 'request',
        decision: out.ok ? 'allow' : unknown ? 'unknown' : 'error',
        code: out.ok ? null : out.code,
        status,
        bytesOut: out.ok ? out.bytesOut : null,
        key: result.key,
        ...routeFacts,
      }),
    );
    deps.log.debug({ requestId, method, route, key: result.key?.id, status: out.ok ? out.status : out.code }, 'forwarded');
  }

  return server;
}

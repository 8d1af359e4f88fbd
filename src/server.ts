import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorEnvelope, gatewayError, type GatewayError } from './errors/errors.js';
import { recordBreaks } from './grants/constraints.js';
import { redact } from './grants/redact.js';
import type { Effects } from './pipeline/authorize/authorize.js';
import type { Forwarder } from './pipeline/forward/forward.js';
import { runPipeline, type PipelineDeps } from './pipeline/pipeline.js';
import type { Store } from './store/store.js';

/**
 * The HTTP front door: runs the pipeline, turns refusals into Ghost's error
 * envelope, forwards what is allowed and applies the grant's effects to the
 * answer. Any unexpected error fails closed.
 */
export interface GatewayServerDeps extends PipelineDeps {
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly now?: () => number;
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
function inspector(effects: Effects, store: Store, keyId: string | undefined, log: Logger, requestId: string): ((status: number, json: unknown) => Promise<unknown>) | undefined {
  if (!effects.ledger && !effects.check && !effects.redact) return undefined;
  return async (status, json) => {
    if (status < 200 || status >= 300 || !json || typeof json !== 'object') return json;
    const body = json as Record<string, unknown>;
    if (effects.ledger && keyId) {
      const created = body[effects.ledger];
      for (const rec of Array.isArray(created) ? created : []) {
        if (rec && typeof rec === 'object' && typeof (rec as { id?: unknown }).id === 'string') {
          await store.ledger.add(keyId, effects.ledger, (rec as { id: string }).id, Date.now());
        }
      }
    }
    if (effects.check) {
      const { resource, constraint, owned } = effects.check;
      const list = body[resource];
      if (Array.isArray(list)) {
        const kept = list.filter((rec) => !rec || typeof rec !== 'object' || recordBreaks(constraint, rec as Record<string, unknown>, (id) => owned.has(id), false) === undefined);
        if (kept.length !== list.length) {
          // Ghost returned records outside the filter the gateway sent: drop them and raise the alarm.
          log.warn({ requestId, key: keyId, resource, removed: list.length - kept.length, alert: 'constraint_safety_net' }, 'removed records outside the key constraint');
          body[resource] = kept;
        }
      }
    }
    if (effects.redact) redact(body, effects.redact);
    return body;
  };
}

export function createGatewayServer(deps: GatewayServerDeps): Server {
  const now = deps.now ?? Date.now;
  const server = createServer({ requireHostHeader: true }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      deps.log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'unhandled gateway error');
      if (!res.headersSent) sendError(res, gatewayError('INTERNAL'), 'internal');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = now();
    const requestId = randomUUID();
    const method = req.method ?? '';
    let result;
    try {
      result = await runPipeline(deps, req, started);
    } catch (err) {
      deps.log.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'pipeline error');
      result = { forward: false as const, code: 'STORE_UNAVAILABLE' as const, context: 'the gateway could not read its store' };
    }
    if (result.forward && method === 'GET' && hasBody(req)) {
      result = { forward: false as const, code: 'HEADER_AMBIGUOUS' as const, context: 'a GET request may not carry a body', resolved: result.resolved };
    }
    if (!result.forward) {
      sendError(res, gatewayError(result.code, result.context, result.help, result.message), requestId);
      req.resume();
      deps.log.info({ requestId, method, route: result.resolved?.route.path, key: result.key?.id, decision: 'deny', code: result.code, ms: now() - started }, 'refused');
      return;
    }
    const inspect = inspector(result.effects, deps.store, result.key?.id, deps.log, requestId);
    const out = await deps.forwarder.forward(req, res, {
      method,
      pathAndQuery: result.pathAndQuery,
      authorization: result.upstreamAuthorization,
      body: result.body ?? (method !== 'GET' && hasBody(req) ? 'stream' : null),
      ...(inspect ? { inspect } : {}),
    });
    if (out.ok) {
      if (result.key) await deps.store.keys.recordUse(result.key.id, now());
    } else if (!out.responseStarted && !res.headersSent) {
      sendError(res, gatewayError(out.code, out.context), requestId);
    } else {
      res.destroy();
    }
    deps.log.info(
      { requestId, method, route: result.resolved.route.path, key: result.key?.id, decision: 'allow', status: out.ok ? out.status : out.code, ms: now() - started },
      'forwarded',
    );
  }

  return server;
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorEnvelope, gatewayError, type GatewayError } from './errors/errors.js';
import type { Forwarder } from './pipeline/forward/forward.js';
import { runPipeline, type PipelineDeps } from './pipeline/pipeline.js';

/**
 * The HTTP front door: runs the pipeline, turns refusals into Ghost's error
 * envelope, forwards what is allowed. Any unexpected error fails closed.
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
    const url = req.url ?? '';
    let result;
    try {
      result = await runPipeline(deps, method, url, req.headers, started);
    } catch (err) {
      deps.log.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'pipeline error');
      result = { forward: false as const, code: 'STORE_UNAVAILABLE' as const, context: 'the gateway could not read its store' };
    }
    if (result.forward && method === 'GET' && hasBody(req)) {
      result = { forward: false as const, code: 'HEADER_AMBIGUOUS' as const, context: 'a GET request may not carry a body', resolved: result.resolved };
    }
    if (!result.forward) {
      const e = gatewayError(result.code, result.context, result.help, result.message);
      sendError(res, e, requestId);
      req.resume();
      deps.log.info({ requestId, method, route: result.resolved?.route.path, key: result.key?.id, decision: 'deny', code: result.code, ms: now() - started }, 'refused');
      return;
    }
    const out = await deps.forwarder.forward(req, res, {
      method,
      pathAndQuery: result.pathAndQuery,
      authorization: result.upstreamAuthorization,
      hasBody: method !== 'GET' && hasBody(req),
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

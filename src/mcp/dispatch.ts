import type { IncomingMessage, ServerResponse } from 'node:http';
import inject, { type InjectOptions } from 'light-my-request';
import type { ToolHttpRequest } from './request.js';

/**
 * Runs a tool call's HTTP request through the gateway's own request handler,
 * in process (light-my-request, Fastify's `inject`): the same resolve,
 * authenticate, lifecycle, authorize, forward, redact and audit as a request
 * from the network, with the caller's own credential, address and forwarding
 * headers, so that the decision is the one HTTP would get. No loopback
 * connection: over one, the client address the lifecycle checks would be the
 * gateway's own.
 */
export type GatewayHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface GatewayAnswer {
  readonly status: number;
  /** Ghost's (or the gateway's refusal's) JSON, or undefined for an empty or non-JSON answer. */
  readonly json: unknown;
}

export interface InnerRequest extends ToolHttpRequest {
  /** The Authorization header to send: the caller's own (mcp/credential.ts), or none for a public route. */
  readonly authorization: string | undefined;
}

export async function dispatchInProcess(
  handler: GatewayHandler,
  outer: IncomingMessage,
  apiPrefix: string,
  r: InnerRequest,
): Promise<GatewayAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'ghostgate-mcp' };
  if (r.authorization !== undefined) headers.authorization = r.authorization;
  if (outer.headers.host !== undefined) headers.host = outer.headers.host;
  // The client address is resolved from these as for the MCP request itself (trustedProxies).
  const xff = outer.headers['x-forwarded-for'];
  if (xff !== undefined) headers['x-forwarded-for'] = Array.isArray(xff) ? xff.join(', ') : xff;
  const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await inject(
    (req, res) => {
      // CASE: the whole body is in memory; the forwarder reads `complete` to tell a client's cut upload (forward.ts).
      (req as { complete?: boolean }).complete = true;
      handler(req, res);
    },
    {
      method: r.method as InjectOptions['method'],
      url: `${apiPrefix}${r.pathAndQuery}`,
      headers,
      ...(payload !== undefined ? { payload } : {}),
      ...(outer.socket.remoteAddress !== undefined ? { remoteAddress: outer.socket.remoteAddress } : {}),
    },
  );
  let json: unknown;
  try {
    json = res.payload === '' ? undefined : (JSON.parse(res.payload) as unknown);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json };
}

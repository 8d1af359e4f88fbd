import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool, errors as undiciErrors } from 'undici';
import type { ErrorCode } from '../../errors/errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

/**
 * Streams the checked request to Ghost and Ghost's answer back, unchanged
 * but for hop-by-hop headers and the credential. One keep-alive pool to the
 * upstream origin (undici).
 */
export interface ForwardRequest {
  readonly method: string;
  /** Canonical path plus validated query: exactly what was checked. */
  readonly pathAndQuery: string;
  readonly authorization: string | undefined;
  readonly hasBody: boolean;
}

export type ForwardOutcome =
  | { ok: true; status: number; bytesOut: number }
  | { ok: false; code: ErrorCode; context: string; responseStarted: boolean };

export class Forwarder {
  private readonly pool: Pool;
  private readonly host: string;
  private readonly proto: string;
  readonly basePath: string;

  constructor(
    upstreamUrl: string,
    private readonly timeoutMs: number,
    connections: number,
  ) {
    const url = new URL(upstreamUrl);
    this.host = url.host;
    this.proto = url.protocol.replace(':', '');
    // A Ghost installed under a sub-directory prefixes every path (reference 1.0).
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections,
      keepAliveTimeout: 10_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
    });
  }

  async forward(req: IncomingMessage, res: ServerResponse, f: ForwardRequest): Promise<ForwardOutcome> {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    let responseStarted = false;
    try {
      const upstream = await this.pool.request({
        method: f.method as 'GET',
        path: this.basePath + f.pathAndQuery,
        headers: upstreamRequestHeaders(req.headers, f.authorization, this.host, this.proto),
        body: f.hasBody ? req : null,
        signal: abort.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      responseStarted = true;
      res.writeHead(upstream.statusCode, clientResponseHeaders(upstream.headers));
      let bytesOut = 0;
      upstream.body.on('data', (c: Buffer) => {
        bytesOut += c.length;
      });
      await pipeline(upstream.body, res);
      return { ok: true, status: upstream.statusCode, bytesOut };
    } catch (err) {
      return { ok: false, ...classify(err), responseStarted };
    } finally {
      res.off('close', onClose);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function classify(err: unknown): { code: ErrorCode; context: string } {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return { code: 'UPSTREAM_TIMEOUT', context: (err as Error).name };
  }
  const code = (err as { code?: string }).code ?? '';
  return { code: 'UPSTREAM_UNREACHABLE', context: code || (err as Error).name || 'upstream error' };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool, errors as undiciErrors } from 'undici';
import type { ErrorCode } from '../../errors/errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

/**
 * Streams the checked request to Ghost and Ghost's answer back, unchanged
 * but for hop-by-hop headers and the credential. One keep-alive pool to the
 * upstream origin (undici). When the key's grant must see the answer
 * (redaction, the constraint safety net, the ledger), a JSON answer is read
 * whole, handed to `inspect`, and sent as it returns it.
 */
export interface ForwardRequest {
  readonly method: string;
  /** Canonical path plus validated (or constrained) query: exactly what was checked. */
  readonly pathAndQuery: string;
  readonly authorization: string | undefined;
  /** A body the gateway already read and checked, or 'stream' to stream the client's, or null. */
  readonly body: CheckedBody | 'stream' | null;
  /** Sent to Ghost as X-Request-ID, which Ghost takes as its own request id (ghost/core/core/server/web/parent/middleware/request-id.js): its log lines carry the audit record's id. */
  readonly requestId?: string;
  /** Sees and may rewrite a JSON answer; returns the value to send, or UNCHANGED to send Ghost's bytes as they are. */
  readonly inspect?: (status: number, json: unknown) => unknown; // or a promise of it
  /**
   * Runs once Ghost's status is known (after `inspect`) and before the client is sent any of the answer,
   * so what decides the client's next request (a max use given back or spent, a webhook relay retired)
   * is durable when the client reads this answer (issue 16). It must not throw. Not run when the
   * forward fails before an answer is sent: the caller settles then.
   */
  readonly settle?: (status: number) => Promise<void>;
}

/**
 * A body the gateway read whole and checked: its bytes, and the media type it read them as (JSON the
 * gateway sets as `application/json`; a multipart upload keeps the boundary its bytes were parsed with).
 */
export interface CheckedBody {
  readonly bytes: Buffer;
  readonly type: string;
}

export type ForwardOutcome =
  /** bytesOut: null when a streamed answer had no Content-Length (not counted on the hot path). */
  | { ok: true; status: number; bytesOut: number | null }
  | {
      ok: false;
      code: ErrorCode;
      context: string;
      responseStarted: boolean;
      /** Ghost's status when its answer began before the failure (the request was done), else null. */
      status: number | null;
      /**
       * Whether the request may have reached Ghost: false only when it provably did not (no
       * connection was made, or the client's upload was cut before its end, which Ghost's
       * body-parser refuses). A write with `sent` and no status may have been done by Ghost.
       */
      sent: boolean;
    };

/** What an inspector returns when it changed nothing: Ghost's bytes are sent untouched (no re-serialisation). */
export const UNCHANGED = Symbol('unchanged');

/** Largest JSON answer the gateway reads whole to inspect it. */
const MAX_INSPECTED_RESPONSE = 64 * 1024 * 1024;

/** A Ghost installed under a sub-directory prefixes every path (core/boot.js mounts Ghost at `config.getSubdir()`). */
export function upstreamBasePath(upstreamUrl: URL | string): string {
  return new URL(upstreamUrl).pathname.replace(/\/+$/, '');
}

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
    this.basePath = upstreamBasePath(url);
    this.pool = new Pool(url.origin, {
      connections,
      keepAliveTimeout: 10_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
    });
  }

  async forward(req: IncomingMessage, res: ServerResponse, f: ForwardRequest): Promise<ForwardOutcome> {
    // Writes count once sent (issue 11, class 6): a client that hangs up after its whole request
    // was received does not abort the call to Ghost, which may already be doing the write; its
    // answer is still read (and inspected: the ledger learns the created record). Only an upload
    // cut before its end is aborted: Ghost's body-parser refuses a short body, so nothing was done.
    // (Bodiless requests get no AbortController: one per request measurably costs throughput.)
    const abort = f.body === 'stream' ? new AbortController() : undefined;
    let uploadCut = false as boolean; // set by the upload stream's callback
    const onClose = () => {
      if (!req.complete && abort) {
        uploadCut = true;
        abort.abort();
      }
    };
    // Only an upload can be cut: a bodiless request gets no listener (it would do nothing).
    if (abort) res.once('close', onClose);
    let responseStarted = false;
    let status: number | null = null;
    // Where Ghost's answer goes: the client, or nowhere once the client has gone.
    const sink = (): Writable => (res.destroyed ? discard() : res);
    try {
      const headers = upstreamRequestHeaders(req.headers, f.authorization, this.host, this.proto);
      if (f.requestId) headers['x-request-id'] = f.requestId;
      if (f.inspect) {
        // An answer the gateway inspects must arrive whole and uncompressed. No conditional GET either:
        // a 304 would answer for Ghost's unredacted body (its ETag), an oracle on what the key may not see.
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a fixed list of request headers
        for (const h of ['accept-encoding', 'if-none-match', 'if-modified-since']) delete headers[h];
      }
      if (f.body !== null && f.body !== 'stream') {
        // The body the gateway read and checked, forwarded byte for byte with the type it read it as.
        headers['content-type'] = f.body.type;
        headers['content-length'] = String(f.body.bytes.length);
      }
      const options = {
        method: f.method as 'GET',
        path: this.basePath + f.pathAndQuery,
        headers,
        body: f.body === 'stream' ? req : f.body === null ? null : f.body.bytes,
        ...(abort ? { signal: abort.signal } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      };
      if (!f.inspect && !f.settle) {
        // undici writes Ghost's answer straight into the client response (no stream pipeline per request).
        // Not with `settle`: this factory runs synchronously, so nothing could be awaited before the head.
        let length: number | null = null;
        await this.pool.stream(options, ({ statusCode, headers: h }) => {
          status = statusCode;
          const cl = Number(h['content-length']);
          length = Number.isFinite(cl) ? cl : null;
          responseStarted = true;
          const out = sink();
          if (out === res) res.writeHead(statusCode, clientResponseHeaders(h));
          return out;
        });
        return { ok: true, status: Number(status), bytesOut: length };
      }
      const upstream = await this.pool.request(options);
      status = upstream.statusCode;
      const outHeaders = clientResponseHeaders(upstream.headers);
      // Only an answer to inspect is read whole; one merely settled first streams like any other.
      const inspect = f.inspect;
      const isJson = String(upstream.headers['content-type'] ?? '').includes('application/json');
      if (inspect && isJson) {
        const raw = Buffer.from(await upstream.body.arrayBuffer());
        if (raw.length > MAX_INSPECTED_RESPONSE)
          return this.failed('UPSTREAM_BAD_ANSWER', 'answer too large to inspect', responseStarted, status);
        let json: unknown;
        try {
          json = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
        } catch {
          return this.failed('UPSTREAM_BAD_ANSWER', 'Ghost answered with JSON that does not parse', responseStarted, status);
        }
        const inspected = json === undefined ? UNCHANGED : await inspect(upstream.statusCode, json);
        const out = inspected === UNCHANGED ? raw : Buffer.from(JSON.stringify(inspected));
        outHeaders['content-length'] = String(out.length);
        if (inspected !== UNCHANGED) delete outHeaders.etag; // the body changed
        await f.settle?.(upstream.statusCode);
        responseStarted = true;
        if (!res.destroyed) {
          res.writeHead(upstream.statusCode, outHeaders);
          res.end(out);
        }
        return { ok: true, status: upstream.statusCode, bytesOut: out.length };
      }
      await f.settle?.(upstream.statusCode);
      responseStarted = true;
      const out = sink();
      if (out === res) res.writeHead(upstream.statusCode, outHeaders);
      let bytesOut = 0;
      upstream.body.on('data', (c: Buffer) => {
        bytesOut += c.length;
      });
      await pipeline(upstream.body, out);
      return { ok: true, status: upstream.statusCode, bytesOut };
    } catch (err) {
      const c = classify(err);
      // CASE: Ghost answered (its status is known) and the answer then broke, or the client left mid-answer.
      const sent = status !== null || (!uploadCut && c.sent);
      return { ok: false, code: c.code, context: c.context, responseStarted, status, sent };
    } finally {
      if (abort) res.off('close', onClose);
    }
  }

  private failed(code: ErrorCode, context: string, responseStarted: boolean, status: number): ForwardOutcome {
    return { ok: false, code, context, responseStarted, status, sent: true };
  }

  /** A GET with the upstream credential, for checks the gateway makes itself (a record's current state). */
  async fetchRecord(path: string, authorization: string): Promise<Record<string, unknown> | null> {
    const r = await this.pool.request({
      method: 'GET',
      path: this.basePath + path,
      headers: { host: this.host, 'x-forwarded-proto': this.proto, authorization, accept: 'application/json' },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const text = await r.body.text();
    if (r.statusCode === 404) return null;
    if (r.statusCode !== 200) throw new Error(`Ghost answered ${r.statusCode}`);
    const json = JSON.parse(text) as unknown;
    if (!json || typeof json !== 'object') throw new Error('Ghost answered with something other than an object');
    return json as Record<string, unknown>;
  }

  /** Waits for Ghost's answers in flight; `abort`: drops them (a drain that ran out of time). */
  async close(abort = false): Promise<void> {
    if (abort) await this.pool.destroy();
    else await this.pool.close();
  }
}

/** Errors that prove the request never reached Ghost: no connection was made. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** What a failed call to Ghost was: a timeout or unreachable, and whether the request may have reached Ghost. */
export function classify(err: unknown): { code: ErrorCode; context: string; sent: boolean } {
  const code = (err as { code?: string }).code ?? '';
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return { code: 'UPSTREAM_TIMEOUT', context: (err as Error).name, sent: !(err instanceof undiciErrors.ConnectTimeoutError) };
  }
  return { code: 'UPSTREAM_UNREACHABLE', context: code || (err as Error).name || 'upstream error', sent: !NOT_CONNECTED.has(code) };
}

/** A sink for Ghost's answer once the client has gone: read to the end, sent nowhere. */
function discard(): Writable {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
}

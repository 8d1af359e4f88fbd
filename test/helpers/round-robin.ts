import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small round-robin load balancer for the replica tests, behaving as nginx
 * does with `proxy_next_upstream error` (deploy/nginx.conf): a request goes
 * to the next backend in turn on a connection of its own; when the backend
 * refuses the connection (a replica stopped or draining closes its listener),
 * the request was not sent, so it is tried on the next one, writes included.
 * Anything else (a reset after sending, a 5xx) is passed to the client as it
 * came: nothing is retried that a replica may have acted on.
 */
export interface RoundRobin {
  readonly url: string;
  /** The backends' URLs; replace one to point at a restarted replica. */
  readonly backends: string[];
  /** Requests tried again on another backend after a refused connection. */
  readonly retried: number;
  close(): Promise<void>;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const endToEnd = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)));

export async function roundRobin(backends: string[]): Promise<RoundRobin> {
  let next = 0;
  let retried = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (left: number) => {
        const target = new URL(req.url ?? '/', backends[next++ % backends.length]);
        const up = request(
          target,
          { method: req.method, headers: { ...endToEnd(req.headers), 'content-length': String(body.length) }, agent: false },
          (ans) => {
            res.writeHead(ans.statusCode ?? 502, endToEnd(ans.headers));
            ans.pipe(res);
          },
        );
        up.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED' && left > 1) {
            retried++;
            setTimeout(() => attempt(left - 1), 10);
            return;
          }
          if (!res.headersSent) res.writeHead(502, { 'x-balancer-error': err.code ?? 'error' });
          res.end();
        });
        up.end(body);
      };
      attempt(backends.length * 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    backends,
    get retried() {
      return retried;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

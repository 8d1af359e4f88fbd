import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

/**
 * The baseline: the fastest passthrough a Node engineer would write. undici's `Pool.stream` writes the
 * upstream answer straight into the client response (no stream pipeline per request), keep-alive both
 * ways, the request body streamed, only the hop-by-hop headers dropped (RFC 9110 7.6.1).
 */
const target = process.argv[2]!;
const host = new URL(target).host;
const pool = new Pool(target, { connections: 64, keepAliveTimeout: 10_000 });
const HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade'];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers, host };
  for (const h of HOP) headers[h] = undefined;
  try {
    await pool.stream(
      { method: req.method as 'GET', path: req.url ?? '/', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
      ({ statusCode, headers: up }) => {
        const out: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(up)) if (!HOP.includes(k)) out[k] = v;
        res.writeHead(statusCode, out);
        return res;
      },
    );
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
}
const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));

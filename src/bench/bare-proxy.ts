import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

/** The baseline: a bare Node passthrough proxy on undici, streaming both ways, keep-alive. */
const target = process.argv[2]!;
const pool = new Pool(target, { connections: 64, keepAliveTimeout: 10_000 });
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const up = await pool.request({
      method: req.method as 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers, host: new URL(target).host, connection: undefined },
      body: req.method === 'GET' ? null : req,
    });
    res.writeHead(up.statusCode, up.headers as Record<string, string>);
    await pipeline(up.body, res);
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
}
const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));

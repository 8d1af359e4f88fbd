import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Sits between the gateway and the real Ghost and counts what reaches Ghost:
 * the proof that a refused call forwards nothing and an allowed one forwards once.
 */
export interface CountingProxy {
  readonly url: string;
  readonly seen: { method: string; url: string }[];
  close(): Promise<void>;
}

/**
 * `hold`: a call it names waits for the promise it returns before it goes on to Ghost (a request kept in
 * flight); `holdAnswer`: Ghost's answer to a call it names waits for its promise (an answer read as it
 * was, delivered late).
 */
export async function startCountingProxy(
  target: string,
  hold: (method: string, url: string) => Promise<void> | undefined = () => undefined,
  holdAnswer: (method: string, url: string) => Promise<void> | undefined = () => undefined,
): Promise<CountingProxy> {
  const t = new URL(target);
  const seen: { method: string; url: string }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    const held = hold(req.method ?? '', req.url ?? '');
    // Asked as the call arrives, so that what the test says then holds, however late Ghost answers.
    const late = holdAnswer(req.method ?? '', req.url ?? '');
    if (held) void held.then(() => send(req, res, late));
    else send(req, res, late);
  });
  const send = (req: IncomingMessage, res: ServerResponse, late: Promise<void> | undefined) => {
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (upRes) => {
        const answer = () => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        };
        if (late) void late.then(answer);
        else answer();
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };
  await new Promise<void>((r) =>
    server.listen(0, '127.0.0.1', () => {
      r();
    }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) =>
        server.close(() => {
          r();
        }),
      );
    },
  };
}

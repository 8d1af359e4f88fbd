import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatchInProcess } from './dispatch.js';

const outer = (headers: Record<string, string>, remoteAddress = '203.0.113.9') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

/** A handler standing in for the gateway's: records what it was handed and answers as told. */
function recorder(status: number, body: string) {
  const seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; ip?: string; body?: string }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, ip: req.socket.remoteAddress, body: text });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  };
  return { seen, handler };
}

test("the handler is handed the tool's request with the caller's credential, address, host and forwarding header", async () => {
  const { seen, handler } = recorder(201, '{"posts":[{"id":"p"}]}');
  const a = await dispatchInProcess(
    handler,
    outer({ host: 'gate.example.com', 'x-forwarded-for': '198.51.100.7', authorization: 'Bearer not-passed-on' }),
    '/ghost/api/admin',
    { method: 'POST', pathAndQuery: '/posts/?source=html', body: { posts: [{ title: 'T' }] }, authorization: 'Ghost a.b.c' },
  );
  assert.deepEqual(a, { status: 201, json: { posts: [{ id: 'p' }] } });
  assert.equal(seen.length, 1);
  const r = seen[0]!;
  assert.equal(r.method, 'POST');
  assert.equal(r.url, '/ghost/api/admin/posts/?source=html');
  assert.equal(r.ip, '203.0.113.9');
  assert.equal(r.headers!.authorization, 'Ghost a.b.c');
  assert.equal(r.headers!.host, 'gate.example.com');
  assert.equal(r.headers!['x-forwarded-for'], '198.51.100.7');
  assert.equal(r.headers!['content-type'], 'application/json');
  assert.equal(r.body, '{"posts":[{"title":"T"}]}');
  assert.equal(r.headers!['content-length'], String(Buffer.byteLength(r.body)));
});

test('a bodiless request carries no body and no credential when none is given; a non-JSON answer has no json', async () => {
  const { seen, handler } = recorder(502, 'Bad Gateway');
  const a = await dispatchInProcess(handler, outer({ host: 'h' }), '/ghost/api/admin', {
    method: 'GET',
    pathAndQuery: '/site/',
    authorization: undefined,
  });
  assert.deepEqual(a, { status: 502, json: undefined });
  const h = seen[0]!.headers!;
  assert.equal(h.authorization, undefined);
  assert.equal(h['content-type'], undefined);
  assert.equal(h['x-forwarded-for'], undefined);
  assert.equal(seen[0]!.body, '');
});

test('the path reaches the handler as built: an encoded slash stays encoded for the canonicaliser to refuse', async () => {
  const { seen, handler } = recorder(200, '{}');
  await dispatchInProcess(handler, outer({ host: 'h' }), '/ghost/api/admin', {
    method: 'GET',
    pathAndQuery: '/posts/..%2Fintegrations/',
    authorization: 'Ghost x',
  });
  assert.equal(seen[0]!.url, '/ghost/api/admin/posts/..%2Fintegrations/');
});

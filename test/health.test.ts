import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway } from './helpers/gateway.js';

const UPSTREAM_KEY = `${'aa'.repeat(12)}:${'bb'.repeat(32)}`;

describe('health probes', () => {
  test('healthz answers while the process serves; readyz only when the store, the audit and Ghost answer, with no details; Ghost is asked at most once per cache period', async () => {
    const ghost = await startFakeUpstream();
    let ghostUp = true;
    ghost.respond = (r, res) => {
      // Only Ghost's public site endpoint, without a credential.
      const ok = ghostUp && r.method === 'GET' && r.url === '/ghost/api/admin/site/' && r.headers.authorization === undefined;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(ok ? '{"site":{}}' : '{}');
    };
    const gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    const probe = async (path: string, method = 'GET') => {
      const r = await request(`${gw.url}/ghostgate/${path}`, { method });
      return { status: r.statusCode, body: await r.body.text() };
    };
    try {
      assert.deepEqual(await probe('healthz'), { status: 200, body: '{"status":"ok"}' });
      assert.deepEqual(await probe('readyz'), { status: 200, body: '{"status":"ready"}' });
      for (let i = 0; i < 5; i++) await probe('readyz');
      assert.equal(ghost.requests.length, 1, 'Ghost asked once, not once per probe');
      assert.equal((await probe('readyz', 'POST')).status, 405);
      const events: unknown[] = [];
      gw.gateway.events.subscribe((e) => events.push(e));
      await probe('healthz');
      assert.equal(events.length, 0, 'probes are not requests through the gateway');
      await gw.gateway.store.close();
      assert.deepEqual(await probe('readyz'), { status: 503, body: '{"status":"unavailable"}' }, 'the key store is gone');
      assert.equal((await probe('healthz')).status, 200);
    } finally {
      gw.gateway.server.close();
      gw.gateway.server.closeAllConnections();
    }
    // Ghost down: not ready (a gateway of its own, so that the cached answer is not reused).
    ghostUp = false;
    const down = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    try {
      const r = await request(`${down.url}/ghostgate/readyz`);
      assert.equal(r.statusCode, 503);
      assert.equal(await r.body.text(), '{"status":"unavailable"}');
    } finally {
      await down.close();
      await ghost.close();
    }
  });
});

test('readyz answers 503 "draining" once the gateway is shutting down, without asking the store or Ghost', async () => {
  const { createServer } = await import('node:http');
  const { pino } = await import('pino');
  const { healthProbes } = await import('../src/health.js');
  let draining = false;
  const asked: string[] = [];
  const handler = healthProbes({
    store: {
      settings: {
        get: (k: string) => {
          asked.push(`store ${k}`);
          return Promise.resolve(undefined);
        },
      },
    } as never,
    upstreamUp: () => {
      asked.push('ghost');
      return Promise.resolve(true);
    },
    log: pino({ level: 'silent' }),
    draining: () => draining,
  });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ghostgate/readyz`;
  try {
    assert.equal((await request(url)).statusCode, 200);
    asked.length = 0;
    draining = true;
    const r = await request(url);
    assert.deepEqual({ status: r.statusCode, body: await r.body.text() }, { status: 503, body: '{"status":"draining"}' });
    assert.deepEqual(asked, []);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

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

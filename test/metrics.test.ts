import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';

const UPSTREAM_KEY = `${'aa'.repeat(12)}:${'bb'.repeat(32)}`;

test('metrics: off by default; with metrics.listen, requests by resource, action, decision and code on their own listener, never on the gateway port', async () => {
  const ghost = await startFakeUpstream();
  const plain = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
  assert.equal(plain.gateway.metricsUrl, undefined, 'off by default');
  await plain.close();
  const gw = await startTestGateway({
    upstreamUrl: ghost.url,
    upstreamKey: UPSTREAM_KEY,
    extra: { metrics: { listen: { host: '127.0.0.1', port: 0 } } },
  });
  try {
    const { key } = await gw.createKey(['posts:browse']);
    for (const path of ['posts/', 'posts/', 'tags/'])
      await (await request(`${gw.url}/ghost/api/admin/${path}`, { headers: { authorization: authHeader(key) } })).body.dump();
    const scrape = await request(`${gw.gateway.metricsUrl!}/metrics`);
    assert.equal(scrape.statusCode, 200);
    const text = await scrape.body.text();
    assert.match(text, /^ghostgate_requests_total\{resource="posts",action="browse",decision="allow",code="none"\} 2$/m);
    assert.match(text, /^ghostgate_requests_total\{resource="tags",action="browse",decision="deny",code="SCOPE_MISSING"\} 1$/m);
    assert.match(text, /^ghostgate_request_duration_seconds_count\{decision="allow"\} 2$/m);
    assert.match(text, /^ghostgate_audit_available 1$/m);
    assert.match(text, /^ghostgate_process_resident_memory_bytes \d+/m);
    assert.ok(!text.includes(key.split(':')[0]!), 'no key id in any label');
    assert.equal((await request(`${gw.gateway.metricsUrl!}/other`)).statusCode, 404);
    const onGateway = await request(`${gw.url}/metrics`);
    assert.notEqual(onGateway.statusCode, 200, 'the gateway port does not serve metrics');
    await onGateway.body.dump();
  } finally {
    await gw.close();
    await ghost.close();
  }
});

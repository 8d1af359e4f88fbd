import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { mintKey } from '../src/keys/mint.js';
import { openAudit } from '../src/admin/context.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startServe } from './helpers/serve-process.js';
import { authHeader } from './helpers/token.js';

/**
 * Graceful shutdown (issue 16): on SIGTERM `serve` stops accepting, answers readyz 503, lets the
 * requests in flight finish with their audit records, and exits 0; a request that outlives
 * listen.drainSeconds is cut.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ghost: FakeUpstream;
let gw: TestGateway;
const held: (() => void)[] = [];

before(async () => {
  ghost = await startFakeUpstream();
  ghost.respond = (r, res: ServerResponse) => {
    if (r.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"site":{}}');
      return;
    }
    held.push(() => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"posts":[{"id":"p1"}]}');
    });
  };
  gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, extra: { listen: { drainSeconds: 3 } } });
});
after(async () => {
  for (const r of held.splice(0)) r();
  // What `before` opened is closed even when it failed half-way (a process left listening would hang the run).
  await (gw as TestGateway | undefined)?.close();
  await (ghost as FakeUpstream | undefined)?.close();
});

const write = (url: string, key: string) =>
  request(`${url}/ghost/api/admin/posts/`, {
    method: 'POST',
    headers: { authorization: authHeader(key), 'content-type': 'application/json' },
    body: '{"posts":[{"title":"x"}]}',
  }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));

const waitFor = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await sleep(25);
  assert.ok(cond(), `timed out waiting for ${what}`);
};

test('SIGTERM: new connections are refused, the write in flight finishes and is audited, exit 0', async () => {
  const k = await mintKey(
    gw.gateway.store,
    gw.master,
    gw.config.policy,
    { name: 'drain', grant: { version: 1, scopes: ['posts:add'] } },
    Date.now(),
  );
  const serve = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
  const before = ghost.requests.filter((r) => r.method === 'POST').length;
  const pending = write(serve.url, k.key);
  await waitFor(() => ghost.requests.filter((r) => r.method === 'POST').length === before + 1, 'the write at Ghost');
  // A second connection, opened before the signal, asks readyz while the first request drains.
  serve.child.kill('SIGTERM');
  await sleep(300);
  const refused = await request(`${serve.url}/ghostgate/readyz`).then(
    (r) => r.statusCode,
    (e: unknown) => (e as { code?: string }).code ?? 'error',
  );
  assert.equal(refused, 'ECONNREFUSED', 'no new connection once draining');
  for (const r of held.splice(0)) r();
  const answered = await pending;
  assert.equal(answered.status, 201, 'the request in flight was answered');
  assert.equal(await serve.exited, 0);
  const audit = await openAudit(gw.config);
  try {
    const rows = await audit.query({ keyId: k.record.id });
    assert.ok(
      rows.some((r) => r.kind === 'outcome' && r.status === 201),
      `the outcome is in the audit: ${JSON.stringify(rows.map((r) => [r.kind, r.status]))}`,
    );
  } finally {
    await audit.close();
  }
});

test('SIGTERM: a request still in flight after listen.drainSeconds is cut, and the process exits 0', async () => {
  const k = await mintKey(
    gw.gateway.store,
    gw.master,
    gw.config.policy,
    { name: 'cut', grant: { version: 1, scopes: ['posts:add'] } },
    Date.now(),
  );
  const serve = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
  const before = ghost.requests.filter((r) => r.method === 'POST').length;
  const pending = write(serve.url, k.key).catch(() => ({ status: 0, body: '' }));
  await waitFor(() => ghost.requests.filter((r) => r.method === 'POST').length === before + 1, 'the write at Ghost');
  const t0 = Date.now();
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0);
  const took = Date.now() - t0;
  assert.ok(took >= 2500 && took < 20_000, `waited for the drain, and no longer (${took} ms)`);
  assert.equal((await pending).status, 0, 'the held request was cut');
  for (const r of held.splice(0)) r();
});

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { mintKey } from '../src/keys/mint.js';
import { PRESETS } from '../src/grants/presets.js';
import { openAudit } from '../src/admin/context.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { cli, startServe } from './helpers/serve-process.js';
import { authHeader } from './helpers/token.js';

/**
 * Max uses are durable facts (issue 18, cases 1 and 2) and writes count once
 * sent (issue 11, class 6): a key with N uses never makes more than N
 * successful writes, whatever other processes, crashes and hang-ups do.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
type Err = { errors: { code: string }[] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('max uses across processes, crashes and hang-ups', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  /** Writes Ghost received and has not answered yet. */
  const held: (() => void)[] = [];
  const posts = () => ghost.requests.filter((r) => r.method === 'POST');
  const mint = async (maxUses: number, grant: unknown = { version: 1, scopes: ['posts:add'] }) =>
    mintKey(gw.gateway.store, gw.master, gw.config.policy, { name: `max-${maxUses}`, grant, maxUses }, Date.now());
  const write = (url: string, key: string, path = 'posts/', body = '{"posts":[{"title":"x"}]}') =>
    request(`${url}/ghost/api/admin/${path}`, {
      method: 'POST',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      body,
    }).then(async (r) => {
      const text = await r.body.text();
      return { status: r.statusCode, code: r.statusCode >= 400 ? (JSON.parse(text) as Err).errors[0]!.code : null };
    });
  const waitFor = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !cond(); i++) await sleep(25);
    assert.ok(cond(), `timed out waiting for ${what}`);
  };
  const release = () => {
    for (const r of held.splice(0)) r();
  };

  before(async () => {
    ghost = await startFakeUpstream();
    // relay: webhooks are created through the gateway's relay (a publicUrl Ghost can reach).
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, relay: true });
  });
  after(async () => {
    release();
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    release();
    ghost.requests.length = 0;
    // Writes are held until the test releases them: they are "in flight" meanwhile.
    ghost.respond = (r, res: ServerResponse) => {
      if (r.method !== 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"site":{}}');
        return;
      }
      held.push(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(`{"posts":[{"id":"p${ghost.requests.length}"}],"webhooks":[{"id":"w${ghost.requests.length}"}]}`);
      });
    };
  });

  test('a CLI command run while a 3-use key has 3 writes in flight gives no use back: never more than 3 successful writes', async () => {
    const k = await mint(3);
    const first = [1, 2, 3].map(() => write(gw.url, k.key));
    await waitFor(() => posts().length === 3, 'three writes at Ghost');
    // Any CLI command opens the store (the landed main reset every in-flight use there).
    for (const args of [
      ['token', 'list', '--json'],
      ['token', 'show', k.record.id, '--json'],
    ])
      assert.equal(cli(gw.configFile, args).code, 0);
    const more = [1, 2, 3].map(() => write(gw.url, k.key));
    await sleep(300);
    release();
    const results = await Promise.all([...first, ...more]);
    assert.equal(results.filter((r) => r.status === 201).length, 3);
    assert.deepEqual(
      results.filter((r) => r.status !== 201).map((r) => r.code),
      ['KEY_USES_EXHAUSTED', 'KEY_USES_EXHAUSTED', 'KEY_USES_EXHAUSTED'],
    );
    assert.equal(posts().length, 3);
    // A use is settled just after its answer is sent: on PostgreSQL that commit can land after the client has the answer.
    for (let i = 0; i < 80 && (await gw.gateway.store.keys.uses(k.record.id, Date.now())).reserved > 0; i++) await sleep(25);
    const shown = JSON.parse(cli(gw.configFile, ['token', 'show', k.record.id, '--json']).out);
    assert.deepEqual(shown.uses, { spent: 3, reserved: 0, unknown: 0 });
  });

  test('a second gateway process on the same store gives no use back: never more than 3 successful writes', async () => {
    const k = await mint(3);
    const first = [1, 2, 3].map(() => write(gw.url, k.key));
    await waitFor(() => posts().length === 3, 'three writes at Ghost');
    const second = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
    try {
      const more = [1, 2, 3].map(() => write(second.url, k.key));
      await sleep(300);
      release();
      const results = await Promise.all([...first, ...more]);
      assert.equal(results.filter((r) => r.status === 201).length, 3);
      assert.equal(posts().length, 3);
    } finally {
      await second.kill('SIGTERM');
    }
  });

  test('kill -9 while a one-time key’s write is at Ghost, then a restart: the key cannot write again', async () => {
    const k = await mint(1);
    const first = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
    const pending = write(first.url, k.key).catch(() => ({ status: 0, code: 'CONNECTION_LOST' }));
    await waitFor(() => posts().length === 1, 'the write at Ghost');
    await first.kill('SIGKILL');
    assert.equal((await pending).status, 0, 'the client lost its gateway');
    release(); // Ghost completes the write, as it would
    const restarted = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
    try {
      const again = await write(restarted.url, k.key);
      assert.equal(again.code, 'KEY_USES_EXHAUSTED');
      assert.equal(posts().length, 1, 'never two writes at Ghost');
    } finally {
      await restarted.kill('SIGTERM');
    }
    // Its holder is dead: once its lease runs out the sent use counts as unknown; until then, as reserved.
    const uses = JSON.parse(cli(gw.configFile, ['token', 'show', k.record.id, '--json']).out).uses as {
      spent: number;
      reserved: number;
      unknown: number;
    };
    assert.equal(uses.spent, 0);
    assert.equal(uses.reserved + uses.unknown, 1);
  });

  test('a client that hangs up after sending a one-time key’s write: one write at Ghost, the use spent, the audit holds Ghost’s status, the ledger the webhook', async () => {
    const k = await mint(1, PRESETS['webhook-setup']!.grant);
    // site.changed: the event the webhook-setup preset may subscribe to (it delivers no record).
    const body = '{"webhooks":[{"event":"site.changed","target_url":"http://127.0.0.1:9/hook"}]}';
    const sock = connect(Number(new URL(gw.url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      `POST /ghost/api/admin/webhooks/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authHeader(k.key)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await waitFor(() => posts().length === 1, 'the write at Ghost');
    sock.destroy(); // the client hangs up before Ghost answers
    await sleep(100);
    release();
    await sleep(300); // the gateway reads Ghost's answer, though nobody is there to receive it
    for (let i = 0; i < 3; i++) assert.equal((await write(gw.url, k.key, 'webhooks/', body)).code, 'KEY_USES_EXHAUSTED');
    assert.equal(posts().length, 1, 'exactly one write reached Ghost');
    assert.deepEqual(await gw.gateway.store.keys.uses(k.record.id, Date.now()), { spent: 1, reserved: 0, unknown: 0 });
    assert.deepEqual(
      await gw.gateway.store.ledger.ids(k.record.id, 'webhooks'),
      ['w1'],
      'the ledger learned the webhook from Ghost’s answer',
    );
    await sleep(gw.config.audit.flushMs * 3);
    const a = await openAudit(gw.config);
    const outcome = (await a.query({ keyId: k.record.id })).filter((r) => r.kind === 'outcome');
    await a.close();
    assert.equal(outcome.length, 1);
    assert.equal(outcome[0]!.status, 201);
    assert.equal(outcome[0]!.decision, 'allow');
  });

  test('a write Ghost never answers (the connection breaks after it was sent): the use is spent as unknown and the audit says unknown, never error', async () => {
    const k = await mint(1);
    ghost.respond = (r, res) => {
      if (r.method === 'POST') res.socket?.destroy();
    };
    const r = await write(gw.url, k.key);
    assert.equal(r.code, 'UPSTREAM_UNREACHABLE');
    assert.equal((await write(gw.url, k.key)).code, 'KEY_USES_EXHAUSTED');
    assert.equal(posts().length, 1);
    assert.deepEqual(await gw.gateway.store.keys.uses(k.record.id, Date.now()), { spent: 0, reserved: 0, unknown: 1 });
    await sleep(gw.config.audit.flushMs * 3);
    const a = await openAudit(gw.config);
    const outcome = (await a.query({ keyId: k.record.id })).filter((x) => x.kind === 'outcome');
    await a.close();
    assert.deepEqual(
      outcome.map((x) => [x.decision, x.code, x.status]),
      [['unknown', 'UPSTREAM_UNREACHABLE', null]],
    );
  });

  test('a write refused before it leaves (Ghost unreachable) gives its use back', async () => {
    const down = await startTestGateway({ upstreamUrl: 'http://127.0.0.1:9', upstreamKey: UPSTREAM_KEY });
    try {
      const k = await mintKey(
        down.gateway.store,
        down.master,
        down.config.policy,
        { name: 'once', grant: { version: 1, scopes: ['posts:add'] }, maxUses: 1 },
        Date.now(),
      );
      assert.equal((await write(down.url, k.key)).code, 'UPSTREAM_UNREACHABLE');
      assert.deepEqual(await down.gateway.store.keys.uses(k.record.id, Date.now()), { spent: 0, reserved: 0, unknown: 0 });
    } finally {
      await down.close();
    }
  });
});

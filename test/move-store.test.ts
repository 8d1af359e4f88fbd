import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { join, dirname } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'undici';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startGateway, type RunningGateway } from '../src/main.js';
import { openStore } from '../src/admin/context.js';
import { pgUnavailable, testSchema, type TestSchema } from '../src/store/postgres/postgres.test.helper.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { cli } from './helpers/serve-process.js';
import { authHeader } from './helpers/token.js';

/**
 * `ghostgate migrate-store`: a SQLite deployment that has served (keys with a
 * child, a revoked key, a max-uses key with a use a crashed gateway sent,
 * records in the ledger, daily counts, a webhook relay, an approval, the
 * audit trail and its anchors) moved into an empty PostgreSQL schema; the
 * audit chains verify there with the same rows, the same keys work through a
 * gateway on PostgreSQL, and a second move or a live source is refused.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const skip = await pgUnavailable();
type Verify = { ok: boolean; chains: { chain: string; rows: number }[] };

describe('migrate-store from SQLite to PostgreSQL', { ...(skip ? { skip } : {}) }, () => {
  let ghost: FakeUpstream;
  let schema: TestSchema;
  let gw: TestGateway;
  let pgGateway: RunningGateway | undefined;
  const keys: Record<string, { id: string; key: string }> = {};
  const pgEnv = () => ({ GHOSTGATE_STORE_DRIVER: 'postgres', GHOSTGATE_STORE_URL: schema.url });
  const call = (url: string, key: string, method: 'GET' | 'POST' = 'GET') =>
    request(`${url}/ghost/api/admin/posts/`, {
      method,
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: '{"posts":[{"title":"x"}]}' } : {}),
    }).then(async (r) => {
      const text = await r.body.text();
      return r.statusCode < 400 ? String(r.statusCode) : (JSON.parse(text) as { errors: { code: string }[] }).errors[0]!.code;
    });

  before(async () => {
    ghost = await startFakeUpstream();
    let n = 0;
    ghost.respond = (r, res: ServerResponse) => {
      res.writeHead(r.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(r.method === 'POST' ? `{"posts":[{"id":"${(++n).toString(16).padStart(24, '0')}"}]}` : '{"posts":[]}');
    };
    schema = await testSchema(false);
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    keys.parent = await gw.createKey(['posts:browse', 'posts:add'], 'parent', { limits: { dailyQuota: 100 } });
    keys.child = await gw.createKey(['posts:browse'], 'child', { parentId: keys.parent.id });
    keys.revoked = await gw.createKey(['posts:browse'], 'revoked');
    keys.once = await gw.createKey(['posts:add'], 'once', { maxUses: 3 });
    for (const k of ['parent', 'child', 'revoked']) assert.equal(await call(gw.url, keys[k]!.key), '200');
    assert.equal(await call(gw.url, keys.parent!.key, 'POST'), '201');
    assert.equal(await call(gw.url, keys.once!.key, 'POST'), '201');
    await gw.gateway.store.keys.revoke(keys.revoked!.id, Date.now());
    assert.equal(await call(gw.url, keys.revoked!.key), 'KEY_REVOKED');
    const store = gw.gateway.store;
    // A gateway that crashed with a use of `once` sent and another reserved (its lease released, as when it ran out).
    const crashed = await store.holders.register({ pid: 9, host: 'h', startedAt: Date.now() }, Date.now() + 60_000);
    const sent = (await store.keys.reserveUse(keys.once!.id, crashed, Date.now()))!;
    await store.keys.markSent(sent, 'req-crashed');
    await store.keys.reserveUse(keys.once!.id, crashed, Date.now());
    await store.holders.release(crashed);
    // Records the keys made, as a grant with `created by this key` constraints keeps them.
    await store.ledger.add(keys.parent!.id, 'posts', 'a'.repeat(24), Date.now());
    await store.ledger.add(keys.child!.id, 'posts', 'b'.repeat(24), Date.now());
    await store.webhooks.add({
      id: 'f'.repeat(32),
      keyId: keys.parent!.id,
      event: 'post.published',
      targetUrl: 'https://hooks.example/x',
      secretSealed: null,
      relayUrl: 'https://gw.example/ghostgate/webhooks/relay/' + 'f'.repeat(32),
      createdAt: Date.now(),
    });
    await store.approvals.open({
      id: 'appr-1',
      keyId: keys.parent!.id,
      fingerprint: 'fp',
      family: keys.parent!.id,
      subject: 'sub',
      deniedSince: 0,
      summary: 's',
      call: { method: 'DELETE', pathAndQuery: '/ghost/api/admin/posts/p/', body: null, bodyEncoding: 'utf8', recordVersion: 'v1' },
      now: Date.now(),
      expiresAt: Date.now() + 3_600_000,
      maxPending: 10,
    });
    await gw.close(true);
  });
  after(async () => {
    await pgGateway?.close();
    await ghost.close();
    await schema.drop();
    rmSync(dirname(gw.configFile), { recursive: true, force: true });
  });

  test('everything moves in one run, and the audit chains verify on PostgreSQL with the rows they had', () => {
    const before = JSON.parse(cli(gw.configFile, ['audit', 'verify', '--json']).out) as Verify;
    assert.equal(before.ok, true);
    const r = cli(gw.configFile, ['migrate-store', '--from', `sqlite:${gw.config.store.path}`, '--json'], {
      GHOSTGATE_STORE_URL: schema.url,
    });
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { to: string; tables: Record<string, number>; unknownUses: number };
    assert.equal(report.tables.keys, 4);
    assert.equal(report.tables.ledger, 2);
    assert.equal(report.tables.webhook_relays, 1);
    assert.equal(report.tables.approvals, 1);
    assert.ok(report.tables.key_daily! >= 1, 'report.tables.key_daily! >= 1');
    assert.equal(
      report.tables.audit,
      before.chains.reduce((n, c) => n + c.rows, 0),
      'every audit row',
    );
    assert.ok(report.tables.audit! >= 8, 'report.tables.audit! >= 8');
    assert.equal(report.unknownUses, 1, 'the sent use of the crashed gateway');
    const after = cli(gw.configFile, ['audit', 'verify', '--json'], pgEnv());
    assert.equal(after.code, 0, after.out + after.err);
    const moved = JSON.parse(after.out) as Verify;
    assert.equal(moved.ok, true, after.out);
    assert.deepEqual(
      moved.chains.filter((c) => c.rows > 0),
      before.chains.filter((c) => c.rows > 0),
    );
  });

  test('a gateway on the PostgreSQL store serves the same keys as before: children, revocations, uses and the ledger kept', async () => {
    const { config } = loadConfig(gw.configFile, pgEnv());
    pgGateway = await startGateway(config, pino({ level: 'silent' }));
    assert.equal(await call(pgGateway.url, keys.parent!.key), '200');
    assert.equal(await call(pgGateway.url, keys.child!.key), '200');
    assert.equal(await call(pgGateway.url, keys.revoked!.key), 'KEY_REVOKED');
    const store = pgGateway.store;
    assert.deepEqual(await store.keys.uses(keys.once!.id, Date.now()), { spent: 1, reserved: 0, unknown: 1 });
    assert.equal(await call(pgGateway.url, keys.once!.key, 'POST'), '201', 'the third use');
    assert.equal(await call(pgGateway.url, keys.once!.key, 'POST'), 'KEY_USES_EXHAUSTED');
    assert.deepEqual(await store.ledger.ids(keys.parent!.id, 'posts'), ['a'.repeat(24)]);
    assert.equal((await store.webhooks.list({ keyId: keys.parent!.id })).length, 1);
    const moved = await store.approvals.get('appr-1');
    assert.equal(moved?.status, 'pending');
    // The held call moved with it: what the person deciding is shown.
    assert.equal(moved?.call?.recordVersion, 'v1');
    assert.equal((await store.keys.get(keys.child!.id))?.parentId, keys.parent!.id);
  });

  test('a second move into the same store is refused, and so is a source a gateway still serves from', async () => {
    const again = cli(gw.configFile, ['migrate-store', '--from', `sqlite:${gw.config.store.path}`, '--to', schema.url]);
    assert.notEqual(again.code, 0);
    assert.match(again.err, /already holds keys/);
    assert.doesNotMatch(again.err + again.out, /postgres:\/\/[^\s]*@/, 'no database URL with credentials printed');
    const other = await testSchema(false);
    try {
      const live = await openStore(gw.config);
      await live.holders.register({ pid: 1, host: 'h', startedAt: Date.now() }, Date.now() + 60_000);
      await live.close();
      const r = cli(gw.configFile, ['migrate-store', '--from', `sqlite:${gw.config.store.path}`, '--to', other.url]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /still hold leases/);
    } finally {
      await other.drop();
    }
    const missing = cli(gw.configFile, [
      'migrate-store',
      '--from',
      `sqlite:${join(dirname(gw.config.store.path), 'nope.db')}`,
      '--to',
      schema.url,
    ]);
    assert.notEqual(missing.code, 0);
    assert.equal(readFileSync(gw.config.masterSecretFile, 'utf8').trim().length, 64);
  });
});

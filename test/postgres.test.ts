import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startGateway, StartError } from '../src/main.js';
import { mintKey } from '../src/keys/mint.js';
import { PG_MIGRATIONS } from '../src/store/postgres/pg-migrations.js';
import { pgUnavailable, testSchema, type TestSchema } from '../src/store/postgres/postgres.test.helper.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { cli } from './helpers/serve-process.js';
import { authHeader } from './helpers/token.js';

/**
 * Two gateway processes' worth of wiring (two in-process gateways, each with
 * its own pools, listener and audit chain) on one PostgreSQL schema: start-up
 * refuses a schema not migrated, max uses are exact across both, a revocation
 * through one is refused by the other within 1 s, and `audit verify` checks
 * both chains in the database.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const skip = await pgUnavailable();
type Err = { errors: { code: string }[] };

describe('two gateways on one PostgreSQL store', { ...(skip ? { skip } : {}) }, () => {
  let ghost: FakeUpstream;
  let schema: TestSchema;
  let a: TestGateway;
  let b: TestGateway;
  const call = (gw: TestGateway, key: string, method: 'GET' | 'POST', path = 'posts/') =>
    request(`${gw.url}/ghost/api/admin/${path}`, {
      method,
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: '{"posts":[{"title":"x"}]}' } : {}),
    }).then(async (r) => {
      const text = await r.body.text();
      return { status: r.statusCode, code: r.statusCode >= 400 ? (JSON.parse(text) as Err).errors[0]!.code : null };
    });

  before(async () => {
    ghost = await startFakeUpstream();
    ghost.respond = (r, res: ServerResponse) => {
      res.writeHead(r.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(r.method === 'POST' ? `{"posts":[{"id":"${'1'.repeat(24)}"}]}` : '{"posts":[]}');
    };
    schema = await testSchema(false);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await ghost.close();
    await schema.drop();
  });

  const pgStore = () => ({ extra: { store: { driver: 'postgres', url: schema.url, pollMs: 500 } } });

  test('a gateway refuses a schema whose migrations are not current (STORE_MIGRATIONS_PENDING); `ghostgate migrate` runs them', async () => {
    a = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY }); // a config file to drive the CLI with
    // The store's URL from the environment, as an operator would pass it.
    const env = { GHOSTGATE_STORE_DRIVER: 'postgres', GHOSTGATE_STORE_URL: schema.url };
    await assert.rejects(
      startGateway(loadConfig(a.configFile, env).config, pino({ level: 'silent' })),
      (e: unknown) => e instanceof StartError && e.code === 'STORE_MIGRATIONS_PENDING',
    );
    const first = cli(a.configFile, ['migrate', '--json'], env);
    assert.equal(first.code, 0, first.err);
    const out = JSON.parse(first.out) as { from: number; to: number; store: string };
    assert.deepEqual([out.from, out.to], [0, PG_MIGRATIONS.length]);
    const again = cli(a.configFile, ['migrate'], env);
    assert.match(again.out, new RegExp(`is current \\(schema version ${PG_MIGRATIONS.length}\\)`));
    await a.close();
    a = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, ...pgStore() });
    // Replicas of one deployment share the master secret.
    b = await startTestGateway({
      upstreamUrl: ghost.url,
      upstreamKey: UPSTREAM_KEY,
      masterHex: readFileSync(a.config.masterSecretFile, 'utf8').trim(),
      ...pgStore(),
    });
    assert.equal(a.config.store.driver, 'postgres');
  });

  test('20 parallel writes with a one-use key spread over both gateways: exactly one reaches Ghost', async () => {
    const k = await mintKey(
      a.gateway.store,
      a.master,
      a.config.policy,
      { name: 'once', grant: { version: 1, scopes: ['posts:add'] }, maxUses: 1 },
      Date.now(),
    );
    const before = ghost.requests.filter((r) => r.method === 'POST').length;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a : b, k.key, 'POST')));
    const ok = results.filter((r) => r.status === 201);
    assert.equal(ok.length, 1, JSON.stringify(results));
    assert.ok(
      results.every((r) => r.status === 201 || r.code === 'KEY_USES_EXHAUSTED'),
      "results.every((r) => r.status === 201 || r.code === 'KEY_USES_EXHAUSTED')",
    );
    assert.equal(ghost.requests.filter((r) => r.method === 'POST').length - before, 1, 'one write reached Ghost');
  });

  test('a key revoked through one gateway is refused by the other within 1 s (measured), with no query per request', async (t) => {
    const k = await mintKey(
      a.gateway.store,
      a.master,
      a.config.policy,
      { name: 'rev', grant: { version: 1, scopes: ['posts:browse'] } },
      Date.now(),
    );
    assert.equal((await call(b, k.key, 'GET')).status, 200, 'b has the key cached');
    const t0 = performance.now();
    const r = cli(a.configFile, ['token', 'revoke', k.record.id], {});
    assert.equal(r.code, 0, r.err);
    const cliMs = performance.now() - t0;
    let refused: string | null = null;
    // From when the command returned: on a loaded machine the CLI alone can take longer than the bound.
    while (refused === null && performance.now() - t0 - cliMs < 3000) {
      const res = await call(b, k.key, 'GET');
      if (res.status !== 200) refused = res.code;
    }
    const ms = performance.now() - t0;
    assert.equal(refused, 'KEY_REVOKED');
    t.diagnostic(
      `token revoke (CLI) took ${cliMs.toFixed(0)} ms; gateway b refused the key ${(ms - cliMs).toFixed(0)} ms after it returned`,
    );
    assert.ok(ms - cliMs < 1000, 'within 1 s of the revocation');
  });

  test('`audit verify` checks every gateway’s chain in the database', async () => {
    // Answered requests are written within audit.flushMs (batched), not before their answer: wait for both
    // gateways' batches (bounded) before counting their chains.
    let v = cli(a.configFile, ['audit', 'verify', '--json'], {});
    let report = JSON.parse(v.out) as { ok: boolean; chains: { chain: string; rows: number }[] };
    for (let i = 0; i < 20 && report.chains.filter((c) => c.rows > 0).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      v = cli(a.configFile, ['audit', 'verify', '--json'], {});
      report = JSON.parse(v.out) as typeof report;
    }
    assert.equal(v.code, 0, v.out + v.err);
    assert.equal(report.ok, true);
    assert.ok(report.chains.filter((c) => c.rows > 0).length >= 2, `one chain per gateway; the report: ${v.out.slice(0, 2000)}`);
  });
});

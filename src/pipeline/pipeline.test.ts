import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { MasterSecret, newKeyId } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { MAX_KEY_DEPTH, type KeyLimits, type KeyRecord, type Store } from '../store/store.js';
import { authenticateKey, takeTraffic, type PipelineDeps } from './pipeline.js';
import { RateLimiter, secondsToUtcMidnight } from './lifecycle/lifecycle.js';

/**
 * authenticateKey and takeTraffic called directly, with a real SQLite store and a chosen clock: the
 * edges the gateway tests, which run on the wall clock, cannot place a request on.
 */
describe('authenticateKey and takeTraffic', () => {
  let dir: string;
  let store: Store;
  let deps: PipelineDeps;
  const master = new MasterSecret(MasterSecret.generateHex());
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-pipeline-'));
    store = openSqliteStore(join(dir, 'k.db'));
    deps = { store, master, clockSkewS: 30, rateLimiter: new RateLimiter() } as unknown as PipelineDeps;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const key = (spec: { parentId?: string; limits?: KeyLimits } = {}): Promise<KeyRecord> =>
    store.keys.create({ id: newKeyId(), name: 'k', grant: { version: 1, scopes: ['posts:browse'] }, createdAt: now - 60_000, ...spec });
  // A token signed with the key's secret of `generation`, issued now (the clock skew covers the test's own clock).
  const token = (id: string, generation = 1) =>
    `Ghost ${createSigner({ key: master.keySecret(id, generation), algorithm: 'HS256', kid: id, expiresIn: 300_000 })({ aud: '/admin/' })}`;
  const code = (r: { ok: true } | { ok: false; refusal: { code: string } } | undefined) =>
    r === undefined || r.ok ? 'ok' : r.refusal.code;

  test('after a rotation the previous secret verifies until the grace period ends, and not at its last instant', async () => {
    const k = await key();
    const graceUntil = Date.now() + 10_000;
    const rotated = (await store.keys.rotate(k.id, graceUntil))!;
    assert.equal(rotated.graceUntil, graceUntil);
    const old = token(k.id, 1);
    assert.equal(code(await authenticateKey(deps, old, '/admin/', graceUntil - 1, '127.0.0.1')), 'ok');
    assert.equal(code(await authenticateKey(deps, old, '/admin/', graceUntil, '127.0.0.1')), 'TOKEN_SIGNATURE');
    assert.equal(code(await authenticateKey(deps, token(k.id, rotated.generation), '/admin/', graceUntil, '127.0.0.1')), 'ok');
  });

  test('a chain deeper than the store allows is refused as revoked, not thrown', async () => {
    let parent = await key();
    for (let i = 0; i < MAX_KEY_DEPTH + 1; i++) parent = await key({ parentId: parent.id });
    const r = await authenticateKey(deps, token(parent.id), '/admin/', Date.now(), '127.0.0.1');
    assert.equal(code(r), 'KEY_REVOKED');
    assert.equal(!r.ok && r.refusal.key?.id, parent.id);
  });

  test('traffic: false authenticates without spending the rate; the default spends it', async () => {
    const k = await key({ limits: { rate: { perSecond: 1, burst: 1 } } });
    const at = Date.now();
    for (let i = 0; i < 3; i++) assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1', false)), 'ok');
    assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1')), 'ok');
    assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1')), 'RATE_LIMITED');
    assert.equal(
      code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1', false)),
      'ok',
      'a check alone is never refused for rate',
    );
  });

  test('a rate refusal says when a request would pass again', async () => {
    const k = await key({ limits: { rate: { perMinute: 1 } } });
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    const r = await takeTraffic(deps, k, [], now);
    assert.equal(code(r), 'RATE_LIMITED');
    assert.equal(!r!.ok && r!.refusal.retryAfterS, 60, 'one request a minute');
  });

  test('a daily quota admits exactly its number of requests, then refuses until UTC midnight', async () => {
    const k = await key({ limits: { dailyQuota: 2 } });
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    const r = await takeTraffic(deps, k, [], now);
    assert.equal(code(r), 'QUOTA_EXCEEDED');
    assert.equal(!r!.ok && r!.refusal.retryAfterS, secondsToUtcMidnight(now));
    assert.equal(!r!.ok && r!.refusal.key, k);
    // The next UTC day starts a new count.
    assert.equal(await takeTraffic(deps, k, [], now + 86_400_000), undefined);
  });

  test('a child is held to its parent’s daily quota, and the refusal names the parent', async () => {
    const parent = await key({ limits: { dailyQuota: 1 } });
    const child = await key({ parentId: parent.id });
    assert.equal(await takeTraffic(deps, child, [parent], now), undefined);
    const r = await takeTraffic(deps, child, [parent], now);
    assert.equal(code(r), 'QUOTA_EXCEEDED');
    assert.match(!r!.ok ? r!.refusal.context : '', /parent/);
    assert.equal(!r!.ok && r!.refusal.key, child);
  });
});

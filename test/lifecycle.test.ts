import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { mintKey } from '../src/keys/mint.js';
import type { KeySpec } from '../src/keys/mint.js';
import { formatKey, newKeyId } from '../src/secrets/keys.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { authHeader, clientToken } from './helpers/token.js';

const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
type Err = { errors: { code: string; context: string }[] };

describe('key lifecycle, through the gateway, against a strict fake Ghost', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  const mint = async (spec: Partial<KeySpec> & { scopes?: string[] }, parent?: string) => {
    const p = parent ? await gw.gateway.store.keys.get(parent) : undefined;
    return mintKey(
      gw.gateway.store,
      gw.master,
      gw.config.policy,
      { name: 't', grant: { version: 1, scopes: spec.scopes ?? ['posts:browse'] }, ...spec },
      Date.now(),
      p,
    );
  };
  const get = (key: string, headers: Record<string, string> = {}) =>
    request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(key), ...headers } });
  const code = async (r: Awaited<ReturnType<typeof request>>) => ((await r.body.json()) as Err).errors[0]!.code;

  before(async () => {
    ghost = await startFakeUpstream();
    // The gateway trusts 127.0.0.1 as a proxy, so tests can present other client addresses.
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, extra: { trustedProxies: ['127.0.0.1'] } });
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
    ghost.respond = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":[]}');
    };
  });

  test('an expired key, a not-yet-valid key, a refused IP, a burst over the rate limit and a revoked key each get their own code, and nothing reaches Ghost', async () => {
    const expired = await mint({ expiresAt: Date.now() + 50 });
    await new Promise((r) => setTimeout(r, 80));
    const early = await mint({ notBefore: Date.now() + 3_600_000 });
    const fenced = await mint({ limits: { ipAllow: ['203.0.113.0/24', '2001:db8::/32'] } });
    const limited = await mint({ limits: { rate: { perSecond: 1, burst: 2 } } });
    const revoked = await mint({});
    await gw.gateway.store.keys.revoke(revoked.record.id, Date.now());

    const r1 = await get(expired.key);
    assert.equal(r1.statusCode, 401);
    assert.equal(await code(r1), 'KEY_EXPIRED');
    const r2 = await get(early.key);
    assert.equal(r2.statusCode, 401);
    assert.equal(await code(r2), 'KEY_NOT_YET_VALID');
    const r3 = await get(fenced.key, { 'x-forwarded-for': '198.51.100.4' });
    assert.equal(r3.statusCode, 403);
    assert.equal(await code(r3), 'IP_NOT_ALLOWED');
    const r5 = await get(revoked.key);
    assert.equal(r5.statusCode, 401);
    assert.equal(await code(r5), 'KEY_REVOKED');
    assert.equal(ghost.requests.length, 0);

    const inside = await get(fenced.key, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(inside.statusCode, 200);
    await inside.body.dump();
    const v6 = await get(fenced.key, { 'x-forwarded-for': '2001:db8::7' });
    assert.equal(v6.statusCode, 200);
    await v6.body.dump();

    const burst = await Promise.all([1, 2, 3, 4].map(() => get(limited.key)));
    const statuses = burst.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const refused = burst.find((r) => r.statusCode === 429)!;
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(await code(refused), 'RATE_LIMITED');
    await Promise.all(burst.map((r) => r.body.dump().catch(() => {})));
    assert.equal(ghost.requests.length, 4, 'two inside the allowlist, two inside the burst');
  });

  test('max uses under parallel requests: exactly one of 20 concurrent requests reaches Ghost', async () => {
    const once = await mint({ maxUses: 1 });
    ghost.respond = (_r, res) => {
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"posts":[]}');
      }, 30);
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => get(once.key)));
    const codes = await Promise.all(results.map(async (r) => (r.statusCode === 201 ? (await r.body.dump(), 'OK') : await code(r))));
    assert.equal(codes.filter((c) => c === 'OK').length, 1);
    assert.equal(codes.filter((c) => c === 'KEY_USES_EXHAUSTED').length, 19);
    assert.equal(ghost.requests.length, 1);
    const after = await get(once.key);
    assert.equal(await code(after), 'KEY_USES_EXHAUSTED');
    assert.equal((await gw.gateway.store.keys.get(once.record.id))?.useCount, 1);
  });

  test('a use is counted only when Ghost answers with success', async () => {
    const twice = await mint({ maxUses: 1 });
    ghost.respond = (_r, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"message":"boom"}]}');
    };
    const failed = await get(twice.key);
    assert.equal(failed.statusCode, 500);
    await failed.body.dump();
    // The failed call's reservation is given back before its answer goes out (issue 16), on either store:
    // a client that retries at once is not refused KEY_USES_EXHAUSTED.
    assert.deepEqual(await gw.gateway.store.keys.uses(twice.record.id, Date.now()), { spent: 0, reserved: 0, unknown: 0 });
    ghost.respond = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":[]}');
    };
    const ok = await get(twice.key);
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    assert.equal(await code(await get(twice.key)), 'KEY_USES_EXHAUSTED');
  });

  test('rotation: the new secret works at once, the old one until the grace period ends', async () => {
    const k = await mint({});
    const rotated = (await gw.gateway.store.keys.rotate(k.record.id, Date.now() + 300))!;
    const fresh = formatKey(k.record.id, gw.master.keySecret(k.record.id, rotated.generation));
    assert.notEqual(fresh, k.key);
    for (const key of [fresh, k.key]) {
      const r = await get(key);
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    }
    await new Promise((r) => setTimeout(r, 350));
    const old = await get(k.key);
    assert.equal(old.statusCode, 401);
    assert.equal(await code(old), 'TOKEN_SIGNATURE');
    const still = await get(fresh);
    assert.equal(still.statusCode, 200);
    await still.body.dump();
  });

  test('a key holder mints a narrower child through the gateway; a wider one is refused; revoking the parent revokes the child', async () => {
    const parent = await mint({ scopes: ['posts:browse', 'posts:read', 'keys:mint'], expiresAt: Date.now() + 3_600_000 });
    const mintVia = (key: string, body: unknown, aud = '/ghostgate/') =>
      request(`${gw.url}/ghostgate/v1/keys/`, {
        method: 'POST',
        headers: { authorization: `Ghost ${clientToken(key, aud)}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const wider = await mintVia(parent.key, { keys: [{ name: 'wider', grant: { version: 1, scopes: ['posts:edit'] } }] });
    assert.equal(wider.statusCode, 403);
    assert.equal(await code(wider), 'CHILD_NOT_SUBSET');
    const later = await mintVia(parent.key, {
      keys: [
        { name: 'later', grant: { version: 1, scopes: ['posts:browse'] }, expires_at: new Date(Date.now() + 7_200_000).toISOString() },
      ],
    });
    assert.equal(await code(later), 'CHILD_NOT_SUBSET');
    const replay = await mintVia(parent.key, { keys: [{ name: 'x', grant: { version: 1, scopes: ['posts:browse'] } }] }, '/admin/');
    assert.equal(await code(replay), 'TOKEN_AUDIENCE', 'an Admin API token cannot be replayed on the key API');

    const ok = await mintVia(parent.key, { keys: [{ name: 'reader child', grant: { version: 1, scopes: ['posts:browse'] } }] });
    assert.equal(ok.statusCode, 201);
    const child = ((await ok.body.json()) as { keys: { id: string; key: string; parent_id: string; expires_at: string }[] }).keys[0]!;
    assert.equal(child.parent_id, parent.record.id);
    assert.equal(
      Date.parse(child.expires_at),
      Math.floor(parent.record.expiresAt! / 1000) * 1000,
      'the child expires with its parent by default',
    );
    const used = await get(child.key);
    assert.equal(used.statusCode, 200);
    await used.body.dump();
    const noMint = await mintVia(child.key, { keys: [{ name: 'grandchild', grant: { version: 1, scopes: ['posts:browse'] } }] });
    assert.equal(await code(noMint), 'SCOPE_MISSING');

    await gw.gateway.store.keys.revoke(parent.record.id, Date.now());
    const after = await get(child.key);
    assert.equal(after.statusCode, 401);
    assert.equal(await code(after), 'KEY_REVOKED');
  });

  test('a child is held to its parent’s rate limit too', async () => {
    const parent = await mint({ limits: { rate: { perSecond: 1, burst: 1 } } });
    const child = await mint({}, parent.record.id);
    const a = await get(parent.key);
    assert.equal(a.statusCode, 200);
    await a.body.dump();
    const b = await get(child.key);
    assert.equal(b.statusCode, 429);
    assert.match(((await b.body.json()) as Err).errors[0]!.context, /parent/);
  });

  test('a child of an expired or not-yet-valid parent is refused, whatever its own window says', async () => {
    const expiring = await mint({ expiresAt: Date.now() + 50 });
    const early = await mint({ notBefore: Date.now() + 3_600_000 });
    // Rows as an older gateway could have written them: the child's own window is open.
    const child = async (parentId: string) => {
      const id = newKeyId();
      const rec = await gw.gateway.store.keys.create({
        id,
        name: 'child',
        grant: { version: 1, scopes: ['posts:browse'] },
        createdAt: Date.now(),
        parentId,
      });
      return formatKey(id, gw.master.keySecret(id, rec.generation));
    };
    const ofExpired = await child(expiring.record.id);
    const ofEarly = await child(early.record.id);
    await new Promise((r) => setTimeout(r, 80));
    const a = await get(ofExpired);
    assert.equal(a.statusCode, 401);
    assert.equal(await code(a), 'KEY_EXPIRED');
    const b = await get(ofEarly);
    assert.equal(await code(b), 'KEY_NOT_YET_VALID');
    assert.equal(ghost.requests.length, 0);
  });

  test('the site policy refuses keys without expiry or living too long', async () => {
    const strict = { requireExpiry: true, maxKeyLifetimeDays: 30 };
    const spec = { name: 'p', grant: { version: 1, scopes: ['posts:browse'] } };
    await assert.rejects(mintKey(gw.gateway.store, gw.master, strict, spec, Date.now()), /needs an expiry/);
    await assert.rejects(
      mintKey(gw.gateway.store, gw.master, strict, { ...spec, expiresAt: Date.now() + 31 * 86_400_000 }, Date.now()),
      /at most 30 days/,
    );
    const ok = await mintKey(gw.gateway.store, gw.master, strict, { ...spec, expiresAt: Date.now() + 86_400_000 }, Date.now());
    assert.ok(ok.record.expiresAt, 'ok.record.expiresAt');
  });
});

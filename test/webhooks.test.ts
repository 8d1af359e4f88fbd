import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, TEST_STORE, type TestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';
import { RelaySecrets } from '../src/webhooks/relay-secrets.js';
import { signatureHeader, verifySignature } from '../src/webhooks/signature.js';

const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
let ghostIds = 0;
const nextGhostId = () => (++ghostIds).toString(16).padStart(24, 'f');
const A = '/ghost/api/admin';

describe('the webhook relay against a strict fake Ghost', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let client: Server;
  let clientUrl: string;
  let clientDelayMs = 0;
  const delivered: { headers: IncomingHttpHeaders; body: string }[] = [];

  before(async () => {
    ghost = await startFakeUpstream();
    gw = await startTestGateway({
      upstreamUrl: ghost.url,
      upstreamKey: UPSTREAM_KEY,
      timeoutMs: 2000,
      relay: true,
      extra: { webhooks: { allowInternalIPs: true, backoffMs: 50, timeoutMs: 3000 } },
    });
    client = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      // A target ending in /fast answers at once, whatever the slow ones do.
      req.on('end', () =>
        setTimeout(
          () => {
            delivered.push({ headers: req.headers, body });
            res.end();
          },
          req.url?.endsWith('/fast') ? 0 : clientDelayMs,
        ),
      );
    });
    await new Promise<void>((r) =>
      client.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    clientUrl = `http://127.0.0.1:${(client.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await gw.close();
    await ghost.close();
    client.closeAllConnections();
    client.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
    delivered.length = 0;
    clientDelayMs = 0;
    // Ghost's answer to add and edit echoes what it stored (webhooks.js; verified on 6.65.0 in the e2e suite).
    ghost.respond = (r, res) => {
      if (r.method === 'DELETE') {
        res.writeHead(204);
        return res.end();
      }
      const item = JSON.parse(r.body.toString()).webhooks[0];
      res.writeHead(r.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      const id = r.method === 'PUT' ? r.url.split('/')[5]! : nextGhostId();
      res.end(
        JSON.stringify({
          webhooks: [
            {
              id,
              event: item.event ?? 'post.published',
              target_url: item.target_url,
              secret: item.secret,
              name: item.name ?? null,
              api_version: 'v6.65',
              integration_id: 'i'.repeat(24),
            },
          ],
        }),
      );
    };
  });

  const call = (key: string, method: 'POST' | 'PUT' | 'DELETE' | 'GET', path: string, body?: unknown) =>
    request(`${gw.url}${A}${path}`, {
      method,
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  /** Creates a webhook through the gateway; returns what Ghost was given and what the client was answered. */
  async function create(key: string, item: Record<string, unknown>) {
    const res = await call(key, 'POST', '/webhooks/', { webhooks: [item] });
    const text = await res.body.text();
    assert.equal(res.statusCode, 201, text);
    const sent = JSON.parse(ghost.requests.at(-1)!.body.toString()).webhooks[0];
    const relayId = /\/ghostgate\/webhooks\/relay\/([0-9a-f]{32})$/.exec(sent.target_url)?.[1];
    assert.ok(relayId, `Ghost is given the relay: ${sent.target_url}`);
    const answer = JSON.parse(text).webhooks[0];
    return { sent, answer, relayId: relayId, text, ghostId: answer.id as string };
  }

  /** Ghost's call to the relay, signed as Ghost signs (webhook-trigger.js). */
  const ghostCalls = (relayId: string, payload: unknown, o: { secret?: string; t?: number; header?: string | null } = {}) => {
    const body = JSON.stringify(payload);
    const secret = o.secret ?? new RelaySecrets(gw.master).relaySecret(relayId);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-version': 'v6.65',
      'user-agent': 'Ghost/6.65 (https://github.com/TryGhost/Ghost)',
    };
    if (o.header !== null) headers['x-ghost-signature'] = o.header ?? signatureHeader(secret, body, o.t ?? Date.now());
    return request(`${gw.url}/ghostgate/webhooks/relay/${relayId}`, { method: 'POST', headers, body });
  };
  const TAG_IDS: Record<string, string> = { partner: 'a1'.padStart(24, '0'), news: 'a2'.padStart(24, '0') };
  const post = (tags: string[], title = 'a post') => ({
    event: 'post.published',
    post: {
      current: {
        id: 'p'.repeat(24),
        title,
        status: 'published',
        tags: tags.map((slug) => ({ id: TAG_IDS[slug], slug })),
        authors: [{ id: 'u1', slug: 'ann', email: 'ann@example.com' }],
      },
      previous: {},
    },
  });
  const settle = () => gw.gateway.deliveries.idle();

  test('Ghost is given the relay and a secret only the gateway knows; the client is answered with its own target and secret', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'webhooks:edit', 'posts:read']);
    const { sent, answer, relayId, text, ghostId } = await create(key, {
      event: 'post.published',
      target_url: clientUrl,
      secret: 'client-secret',
      name: 'zap',
    });
    assert.deepEqual(Object.keys(sent).sort(), ['event', 'name', 'secret', 'target_url']);
    assert.equal(sent.target_url, `${gw.config.publicUrl}/ghostgate/webhooks/relay/${relayId}`);
    assert.equal(sent.secret, new RelaySecrets(gw.master).relaySecret(relayId));
    assert.notEqual(sent.secret, 'client-secret');
    assert.equal(answer.target_url, clientUrl);
    assert.equal(answer.secret, 'client-secret');
    assert.ok(!text.includes('/ghostgate/') && !text.includes(sent.secret), 'the relay never leaks to the key holder');
    const row = await gw.gateway.store.webhooks.get(relayId);
    assert.equal(row?.status, 'active');
    assert.equal(row?.ghostId, ghostId);
    assert.ok(row?.secretSealed && !row.secretSealed.includes('client-secret'), 'the client’s secret is stored sealed');
    // Edits keep Ghost on the relay and the client on its own values.
    ghost.requests.length = 0;
    const other = `${clientUrl}/v2`;
    const e = await call(key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ target_url: other, name: 'zap 2' }] });
    const edited = JSON.parse(await e.body.text()).webhooks[0];
    assert.equal(e.statusCode, 200);
    assert.equal(JSON.parse(ghost.requests[0]!.body.toString()).webhooks[0].target_url, sent.target_url);
    assert.equal(edited.target_url, other);
    assert.equal(edited.secret, 'client-secret');
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.targetUrl, other);
  });

  test('a delivery signed by Ghost for this webhook is filtered by the key’s grant and signed with the client’s secret', async () => {
    // The anchor pinned to the tag's id, as minting pins it (grants/anchors.ts).
    const { key } = await gw.createKey({
      version: 1,
      scopes: ['webhooks:add', 'posts:read'],
      constraints: { posts: { tags: [{ id: TAG_IDS.partner!, slug: 'partner' }] } },
      redact: { users: ['email'] },
    });
    const { relayId } = await create(key, { event: 'post.published', target_url: clientUrl, secret: 'client-secret' });
    assert.equal((await ghostCalls(relayId, post(['news']))).statusCode, 204);
    assert.equal((await ghostCalls(relayId, post(['partner'], 'for the partner'))).statusCode, 202);
    await settle();
    assert.equal(delivered.length, 1);
    const d = delivered[0]!;
    const body = JSON.parse(d.body);
    assert.equal(body.post.current.title, 'for the partner');
    assert.equal(body.post.current.authors[0].email, undefined, 'redacted as a read would be');
    assert.equal(verifySignature(d.headers['x-ghost-signature'], Buffer.from(d.body), 'client-secret', Date.now(), 60_000).ok, true);
    assert.equal(d.headers['content-version'], 'v6.65');
    assert.equal(d.headers['user-agent'], 'Ghost/6.65 (https://github.com/TryGhost/Ghost)');
  });

  test('a relay call that does not come from Ghost is refused and delivers nothing: unsigned, forged, another webhook’s, replayed', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const { relayId } = await create(key, { event: 'post.published', target_url: clientUrl });
    const ghost2 = (await create(key, { event: 'post.published', target_url: `${clientUrl}/2` })).relayId;
    const payload = post(['news']);
    const otherSecret = new RelaySecrets(gw.master).relaySecret(ghost2);
    const cases: [string, Promise<Awaited<ReturnType<typeof ghostCalls>>>, number, string][] = [
      ['unsigned', ghostCalls(relayId, payload, { header: null }), 401, 'WEBHOOK_SIGNATURE_INVALID'],
      ['forged', ghostCalls(relayId, payload, { secret: 'guess' }), 401, 'WEBHOOK_SIGNATURE_INVALID'],
      ['signed for another webhook', ghostCalls(relayId, payload, { secret: otherSecret }), 401, 'WEBHOOK_SIGNATURE_INVALID'],
      ['malformed header', ghostCalls(relayId, payload, { header: 'sha256=abc' }), 401, 'WEBHOOK_SIGNATURE_INVALID'],
      ['replayed after the window', ghostCalls(relayId, payload, { t: Date.now() - 301_000 }), 401, 'WEBHOOK_SIGNATURE_STALE'],
      // An id the gateway never made (relay ids are 128-bit secrets): 410 at once, before the body is read.
      ['an unknown relay', ghostCalls('0'.repeat(32), payload, { secret: 'x' }), 410, 'WEBHOOK_RETIRED'],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      const err = JSON.parse(await res.body.text()).errors[0];
      assert.equal(res.statusCode, status, name);
      assert.equal(err.code, code, name);
    }
    // The same signed delivery twice inside the window is delivered once.
    const t = Date.now();
    assert.equal((await ghostCalls(relayId, payload, { t })).statusCode, 202);
    assert.equal((await ghostCalls(relayId, payload, { t })).statusCode, 200);
    await settle();
    assert.equal(delivered.length, 1);
  });

  test('a slow client target does not slow the relay’s answer to Ghost nor requests through the gateway', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'posts:read', 'posts:browse']);
    const { relayId } = await create(key, { event: 'post.published', target_url: clientUrl });
    clientDelayMs = 1500;
    const started = Date.now();
    for (let i = 0; i < 5; i++) assert.equal((await ghostCalls(relayId, post(['news'], `slow ${i}`))).statusCode, 202);
    const relayMs = Date.now() - started;
    ghost.respond = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":[]}');
    };
    const t0 = Date.now();
    const r = await call(key, 'GET', '/posts/');
    await r.body.text();
    const browseMs = Date.now() - t0;
    assert.equal(r.statusCode, 200);
    // Were a delivery on the request path, the first call alone would take the target's 1500 ms.
    assert.ok(
      relayMs < 1200 && browseMs < 1200,
      `relay answered 5 calls in ${relayMs} ms, a browse took ${browseMs} ms, while the target takes 1500 ms each`,
    );
    assert.equal(delivered.length, 0, 'the deliveries are still under way');
    await settle();
    assert.equal(delivered.length, 5);
  });

  test('one key’s slow target does not hold up another key’s deliveries (a line per root key)', async () => {
    const slowKey = await gw.createKey(['webhooks:add', 'posts:read'], 'slow');
    const fastKey = await gw.createKey(['webhooks:add', 'posts:read'], 'fast');
    const slow = await create(slowKey.key, { event: 'post.published', target_url: `${clientUrl}/slow` });
    const fast = await create(fastKey.key, { event: 'post.published', target_url: `${clientUrl}/fast` });
    clientDelayMs = 800;
    // More than webhooks.concurrency (8) slow deliveries: in one shared line, the fast key's would wait behind them.
    for (let i = 0; i < 10; i++) assert.equal((await ghostCalls(slow.relayId, post(['news'], `slow ${i}`))).statusCode, 202);
    const sentAt = Date.now();
    assert.equal((await ghostCalls(fast.relayId, post(['news'], 'fast'))).statusCode, 202);
    while (!delivered.some((d) => JSON.parse(d.body).post.current.title === 'fast') && Date.now() - sentAt < 5000)
      await new Promise((r) => setTimeout(r, 10));
    const fastMs = Date.now() - sentAt;
    const slowDone = delivered.filter((d) => JSON.parse(d.body).post.current.title.startsWith('slow')).length;
    assert.ok(fastMs < 500, `the fast key’s delivery arrived after ${fastMs} ms, while the slow target takes 800 ms each`);
    assert.ok(slowDone <= 4, `only ${slowDone} of the slow key’s had arrived by then (2 at a time)`);
    await settle();
    assert.equal(delivered.length, 11);
  });

  test('revoking the key stops deliveries and removes the webhook from Ghost', async () => {
    const { id, key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const { relayId, ghostId } = await create(key, { event: 'post.published', target_url: clientUrl });
    await gw.gateway.store.keys.revoke(id, Date.now());
    ghost.requests.length = 0;
    const res = await ghostCalls(relayId, post(['news']));
    assert.equal(res.statusCode, 410, 'Ghost deletes a webhook answered with 410');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      ghost.requests.map((r) => `${r.method} ${r.url}`),
      [`DELETE ${A}/webhooks/${ghostId}/`],
    );
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.status, 'retired');
    await settle();
    assert.equal(delivered.length, 0);
  });

  test('creation is refused, and nothing forwarded, for a private target without allowInternalIPs and without a publicUrl', async () => {
    for (const [extra, code] of [
      [{ webhooks: { allowInternalIPs: false } }, 'WEBHOOK_TARGET_REFUSED'],
      [{ publicUrl: undefined }, 'WEBHOOK_RELAY_UNAVAILABLE'],
    ] as const) {
      const g = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, relay: true, extra });
      try {
        const { key } = await g.createKey(['webhooks:add', 'posts:read']);
        ghost.requests.length = 0;
        const res = await request(`${g.url}${A}/webhooks/`, {
          method: 'POST',
          headers: { authorization: authHeader(key), 'content-type': 'application/json' },
          body: JSON.stringify({ webhooks: [{ event: 'post.published', target_url: clientUrl }] }),
        });
        assert.equal(JSON.parse(await res.body.text()).errors[0].code, code);
        assert.equal(ghost.requests.length, 0);
      } finally {
        await g.close();
      }
    }
  });

  test('a one-time key’s webhook outlives its uses; at expiry webhooks outlive the key by default and stop with webhooks: stop', async () => {
    const once = await gw.createKey(['webhooks:add', 'posts:read'], 'one-time', { maxUses: 1 });
    const onceHook = await create(once.key, { event: 'post.published', target_url: `${clientUrl}/once` });
    assert.equal(
      JSON.parse(
        await (
          await call(once.key, 'POST', '/webhooks/', { webhooks: [{ event: 'post.published', target_url: `${clientUrl}/again` }] })
        ).body.text(),
      ).errors[0].code,
      'KEY_USES_EXHAUSTED',
    );
    assert.equal((await ghostCalls(onceHook.relayId, post(['news']))).statusCode, 202);

    const expires = Date.now() + 600;
    const outlive = await gw.createKey(['webhooks:add', 'posts:read'], 'outlive', { expiresAt: expires });
    const stop = await gw.createKey(['webhooks:add', 'posts:read'], 'stop', { expiresAt: expires, limits: { webhooks: 'stop' } });
    const a = await create(outlive.key, { event: 'post.published', target_url: `${clientUrl}/outlive` });
    const b = await create(stop.key, { event: 'post.published', target_url: `${clientUrl}/stop` });
    assert.equal((await ghostCalls(b.relayId, post(['news']))).statusCode, 202, 'before expiry, both deliver');
    await new Promise((r) => setTimeout(r, expires - Date.now() + 50));
    ghost.requests.length = 0;
    assert.equal((await ghostCalls(a.relayId, post(['news']))).statusCode, 202);
    assert.equal((await ghostCalls(b.relayId, post(['news']))).statusCode, 410);
    await settle();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      ghost.requests.map((r) => `${r.method} ${r.url}`),
      [`DELETE ${A}/webhooks/${b.ghostId}/`],
    );
    assert.equal((await gw.gateway.store.webhooks.get(b.relayId))?.retiredReason, 'key expired (webhooks: stop)');
    assert.equal(delivered.length, 3, 'the one-time key’s, the stop key’s before expiry, the outlive key’s after');
  });

  test('a key deleting its webhook retires the relay; editing its event needs the read scope and keeps the relay', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'webhooks:edit', 'webhooks:destroy', 'posts:read']);
    const { relayId, ghostId } = await create(key, { event: 'post.published', target_url: clientUrl });
    const refused = await call(key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ event: 'member.added' }] });
    assert.equal(JSON.parse(await refused.body.text()).errors[0].code, 'SCOPE_MISSING');
    const edited = await call(key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ event: 'post.unpublished' }] });
    assert.equal(edited.statusCode, 200, await edited.body.text());
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.event, 'post.unpublished');
    const del = await call(key, 'DELETE', `/webhooks/${ghostId}/`);
    await del.body.text();
    assert.equal(del.statusCode, 204);
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.status, 'retired');
    // Should Ghost still call (it will not: the webhook is gone), the relay answers 410.
    assert.equal((await ghostCalls(relayId, post(['news']))).statusCode, 410);
  });

  test('a webhook that is not an active relay is neither edited nor deleted through the gateway, even one in the key’s ledger', async () => {
    const { id, key } = await gw.createKey(['webhooks:add', 'webhooks:edit', 'webhooks:destroy', 'posts:read']);
    // Made in Ghost Admin (or before the relay) and recorded in the key's ledger: it points straight at its target.
    const raw = nextGhostId();
    await gw.gateway.store.ledger.add(id, 'webhooks', raw, Date.now());
    const retired = await create(key, { event: 'post.published', target_url: clientUrl });
    await gw.gateway.webhooks.retire((await gw.gateway.store.webhooks.get(retired.relayId))!, 'test', Date.now());
    ghost.requests.length = 0;
    for (const ghostId of [raw, retired.ghostId]) {
      for (const [method, body] of [
        ['PUT', { webhooks: [{ target_url: `${clientUrl}/mine` }] }],
        ['PUT', { webhooks: [{ name: 'renamed' }] }],
        ['DELETE', undefined],
      ] as const) {
        const res = await call(key, method, `/webhooks/${ghostId}/`, body);
        const err = JSON.parse(await res.body.text()).errors[0];
        assert.equal(res.statusCode, 403, `${method} ${ghostId}`);
        assert.equal(err.code, 'WEBHOOK_NOT_RELAYED', `${method} ${ghostId}`);
      }
    }
    assert.deepEqual(
      ghost.requests.map((r) => `${r.method} ${r.url}`),
      [],
      'nothing reached Ghost',
    );
  });

  test('another key allowed to touch every webhook may rename or delete one, never re-point it', async () => {
    const owner = await gw.createKey(['webhooks:add', 'posts:read']);
    const other = await gw.createKey({
      version: 1,
      scopes: ['webhooks:edit', 'webhooks:destroy', 'posts:read'],
      constraints: { webhooks: { createdByKey: false } },
    });
    const { relayId, ghostId } = await create(owner.key, { event: 'post.published', target_url: clientUrl, secret: 'owner-secret' });
    ghost.requests.length = 0;
    for (const item of [{ target_url: `${clientUrl}/stolen` }, { secret: 'mine' }, { event: 'post.unpublished' }]) {
      const res = await call(other.key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [item] });
      assert.equal(JSON.parse(await res.body.text()).errors[0].code, 'RECORD_NOT_OWNED', JSON.stringify(item));
    }
    assert.equal(ghost.requests.length, 0);
    const renamed = await call(other.key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ name: 'renamed' }] });
    const answer = JSON.parse(await renamed.body.text()).webhooks[0];
    assert.equal(renamed.statusCode, 200);
    // The owner's target and secret are the owner's: another key is shown neither (review finding).
    assert.equal(answer.target_url, null);
    assert.equal(answer.secret, null);
    assert.ok(
      !JSON.stringify(answer).includes('owner-secret') && !JSON.stringify(answer).includes(clientUrl),
      "!JSON.stringify(answer).includes('owner-secret') && !JSON.stringify(answer).includes(clientUrl)",
    );
    const sent = JSON.parse(ghost.requests[0]!.body.toString()).webhooks[0];
    assert.equal(sent.name, 'renamed');
    assert.match(sent.target_url, /\/ghostgate\/webhooks\/relay\//, 'Ghost stays on the relay');
    const row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.equal(row.keyId, owner.id, 'deliveries still follow the creating key');
    assert.equal(row.targetUrl, clientUrl);
    const del = await call(other.key, 'DELETE', `/webhooks/${ghostId}/`);
    await del.body.text();
    assert.equal(del.statusCode, 204);
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.status, 'retired');
  });

  test('a parent key may re-point its child’s webhook, as its ledger already counts the child’s creations', async () => {
    const parent = await gw.createKey(['webhooks:add', 'webhooks:edit', 'posts:read'], 'parent');
    const child = await gw.createKey(['webhooks:add', 'posts:read'], 'child', { parentId: parent.id });
    const { relayId, ghostId } = await create(child.key, { event: 'post.published', target_url: clientUrl });
    const res = await call(parent.key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ target_url: `${clientUrl}/parent` }] });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    assert.equal(JSON.parse(text).webhooks[0].target_url, `${clientUrl}/parent`, 'a key above the creator sees the target');
    const row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.equal(row.targetUrl, `${clientUrl}/parent`);
    assert.equal(row.keyId, child.id, 'deliveries still follow the child’s grant');
  });

  test('an edit that changes the event is judged on the new event; one that keeps it, on the stored event', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'webhooks:edit', 'posts:read', 'members:read']);
    const { ghostId } = await create(key, { event: 'member.added', target_url: clientUrl });
    const narrower = await gw.createKey({
      version: 1,
      scopes: ['webhooks:edit', 'posts:read'],
      constraints: { webhooks: { createdByKey: false } },
    });
    ghost.requests.length = 0;
    const r = await call(narrower.key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ name: 'x' }] });
    const err = JSON.parse(await r.body.text()).errors[0];
    assert.equal(err.code, 'SCOPE_MISSING');
    assert.match(err.message, /members:read/);
    const toPosts = await call(key, 'PUT', `/webhooks/${ghostId}/`, { webhooks: [{ event: 'post.published' }] });
    assert.equal(toPosts.statusCode, 200, await toPosts.body.text());
    assert.equal(JSON.parse(ghost.requests[0]!.body.toString()).webhooks[0].event, 'post.published');
  });

  test('the sweep retires webhooks of keys revoked behind the gateway’s back and removes them from Ghost', async () => {
    const { id, key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const { relayId, ghostId } = await create(key, { event: 'post.published', target_url: clientUrl });
    await gw.gateway.store.keys.revoke(id, Date.now());
    ghost.requests.length = 0;
    assert.ok((await gw.gateway.webhooks.sweep(Date.now())) >= 1, '(await gw.gateway.webhooks.sweep(Date.now())) >= 1');
    assert.ok(
      ghost.requests.some((r) => r.method === 'DELETE' && r.url === `${A}/webhooks/${ghostId}/`),
      "ghost.requests.some((r) => r.method === 'DELETE' && r.url === `${A}/webhooks/${ghostId}/`)",
    );
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.status, 'retired');
  });

  test('a retired webhook Ghost did not confirm removing is retried by the sweep until Ghost does (404 counts); then its secret is erased', async () => {
    const { id, key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const { relayId, ghostId } = await create(key, { event: 'post.published', target_url: clientUrl, secret: 'client-secret' });
    let ghostAnswers = 500;
    ghost.respond = (_r, res) => {
      res.writeHead(ghostAnswers, { 'content-type': 'application/json' });
      res.end(
        ghostAnswers === 500
          ? '{"errors":[{"type":"InternalServerError"}]}'
          : ghostAnswers === 404
            ? '{"errors":[{"type":"NotFoundError"}]}'
            : '',
      );
    };
    await gw.gateway.store.keys.revoke(id, Date.now());
    ghost.requests.length = 0;
    await gw.gateway.webhooks.sweep(Date.now());
    await gw.gateway.webhooks.sweep(Date.now());
    const deletes = () => ghost.requests.filter((r) => r.method === 'DELETE' && r.url === `${A}/webhooks/${ghostId}/`).length;
    assert.equal(deletes(), 2, 'retired at the first sweep, removal retried at the second');
    assert.equal(ghost.requests.length, 2);
    let row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.equal(row.status, 'retired');
    assert.equal(row.ghostRemovedAt, null, 'Ghost may still hold it');
    assert.ok(row.secretSealed, 'kept while Ghost may still call');
    assert.equal((await ghostCalls(relayId, post(['news']))).statusCode, 410, 'meanwhile Ghost is told to delete it');
    ghostAnswers = 404;
    await gw.gateway.webhooks.sweep(Date.now());
    assert.equal(deletes(), 3);
    row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.ok(row.ghostRemovedAt !== null, 'Ghost no longer has it');
    assert.equal(row.secretSealed, null, 'the client’s secret is erased');
    await gw.gateway.webhooks.sweep(Date.now());
    assert.equal(deletes(), 3, 'not asked again');
  });

  test('a webhook deleted through the gateway is retired, removed and scrubbed once Ghost answers 204; not when Ghost fails', async () => {
    const { key } = await gw.createKey(['webhooks:add', 'webhooks:destroy', 'posts:read']);
    const { relayId, ghostId } = await create(key, { event: 'post.published', target_url: clientUrl, secret: 'client-secret' });
    ghost.respond = (_r, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"type":"InternalServerError"}]}');
    };
    await (await call(key, 'DELETE', `/webhooks/${ghostId}/`)).body.text();
    assert.equal((await gw.gateway.store.webhooks.get(relayId))?.status, 'active', 'Ghost did not delete it: still relayed');
    ghost.respond = (_r, res) => {
      res.writeHead(204);
      res.end();
    };
    assert.equal((await call(key, 'DELETE', `/webhooks/${ghostId}/`)).statusCode, 204);
    const row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.equal(row.status, 'retired');
    assert.ok(row.ghostRemovedAt !== null, 'row.ghostRemovedAt !== null');
    assert.equal(row.secretSealed, null);
  });
});

describe('webhooks.maxPerKey counts a root key’s whole family', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  before(async () => {
    ghost = await startFakeUpstream();
    ghost.respond = (r, res) => {
      if (r.method === 'DELETE') {
        res.writeHead(204);
        return res.end();
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ webhooks: [{ id: nextGhostId(), ...JSON.parse(r.body.toString()).webhooks[0] }] }));
    };
    gw = await startTestGateway({
      upstreamUrl: ghost.url,
      upstreamKey: UPSTREAM_KEY,
      relay: true,
      extra: { webhooks: { allowInternalIPs: true, maxPerKey: 2 } },
    });
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  const add = (key: string, n: number) =>
    request(`${gw.url}${A}/webhooks/`, {
      method: 'POST',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      body: JSON.stringify({ webhooks: [{ event: 'site.changed', target_url: `http://127.0.0.1:9/${n}` }] }),
    });

  test('a root key and its children share the limit; another family has its own; a deleted webhook frees its place', async () => {
    const scopes = ['webhooks:add', 'webhooks:destroy'];
    const root = await gw.createKey(scopes, 'root');
    const child = await gw.createKey(scopes, 'child', { parentId: root.id });
    const grandchild = await gw.createKey(scopes, 'grandchild', { parentId: child.id });
    const stranger = await gw.createKey(scopes, 'stranger');
    const first = await add(root.key, 1);
    const ghostId = JSON.parse(await first.body.text()).webhooks[0].id as string;
    assert.equal(first.statusCode, 201);
    assert.equal((await add(child.key, 2)).statusCode, 201);
    ghost.requests.length = 0;
    for (const k of [root, child, grandchild]) {
      const res = await add(k.key, 3);
      const err = JSON.parse(await res.body.text()).errors[0];
      assert.equal(res.statusCode, 422);
      assert.equal(err.code, 'WEBHOOK_LIMIT_REACHED');
    }
    assert.equal(ghost.requests.length, 0, 'nothing reached Ghost');
    assert.equal((await add(stranger.key, 4)).statusCode, 201, 'another family');
    assert.equal(
      (await request(`${gw.url}${A}/webhooks/${ghostId}/`, { method: 'DELETE', headers: { authorization: authHeader(root.key) } }))
        .statusCode,
      204,
    );
    assert.equal((await add(grandchild.key, 5)).statusCode, 201, 'the deleted one’s place is free');
  });

  test('a creation Ghost refuses, or the gateway does not forward, holds no place once it is answered', async () => {
    const k = await gw.createKey(['webhooks:add'], 'refused creations');
    assert.equal((await add(k.key, 10)).statusCode, 201, 'one of its two places');
    const respond = ghost.respond;
    ghost.respond = (_r, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"message":"boom","type":"InternalServerError"}]}');
    };
    try {
      // Each refused creation's place is given back before its answer: the next one is judged on the limit, not refused by it.
      for (const n of [11, 12]) {
        const r = await add(k.key, n);
        assert.equal(r.statusCode, 500, await r.body.text());
        assert.deepEqual(
          (await gw.gateway.store.webhooks.list({ keyId: k.id })).map((w) => w.status),
          ['active'],
        );
      }
    } finally {
      ghost.respond = respond;
    }
    if (TEST_STORE === 'sqlite') {
      // CASE: refused after its place was taken, before forwarding (the audit intent cannot be made durable).
      const locker = new Database(gw.config.audit.path); // another process holds the audit file
      locker.exec('BEGIN EXCLUSIVE');
      try {
        const r = await add(k.key, 13);
        assert.equal(JSON.parse(await r.body.text()).errors[0].code, 'AUDIT_UNAVAILABLE');
        assert.deepEqual(
          (await gw.gateway.store.webhooks.list({ keyId: k.id })).map((w) => w.status),
          ['active'],
        );
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
    }
    // The audit recovers by itself within flushMs (audit-log.ts ready()); until then each call is refused as a whole.
    let last = await add(k.key, 14);
    for (let until = Date.now() + 5000; last.statusCode === 503 && Date.now() < until; last = await add(k.key, 14)) {
      await last.body.dump();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(last.statusCode, 201, await last.body.text());
  });
});

describe('the integration a webhook belongs to is the gateway’s to set', () => {
  const INTEGRATION = 'c0'.repeat(12);
  let ghost: FakeUpstream;
  before(async () => {
    ghost = await startFakeUpstream();
    ghost.respond = (r, res) => {
      res.writeHead(r.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      if (r.method === 'GET' && r.url === `${A}/users/me/?include=roles`)
        return res.end(JSON.stringify({ users: [{ id: 'd0'.repeat(12), roles: [{ name: 'Administrator' }] }] }));
      const item = JSON.parse(r.body.toString()).webhooks[0];
      res.end(JSON.stringify({ webhooks: [{ id: nextGhostId(), ...item }] }));
    };
  });
  after(() => ghost.close());
  const add = (gw: TestGateway, key: string, item: Record<string, unknown>) =>
    request(`${gw.url}${A}/webhooks/`, {
      method: 'POST',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      body: JSON.stringify({ webhooks: [item] }),
    });

  test('a staff-token upstream attaches each webhook to webhooks.integrationId; without it, creation is refused', async () => {
    for (const integrationId of [INTEGRATION, undefined]) {
      const gw = await startTestGateway({
        upstreamUrl: ghost.url,
        upstreamKey: UPSTREAM_KEY,
        kind: 'staff',
        relay: true,
        extra: { webhooks: { allowInternalIPs: true, ...(integrationId ? { integrationId } : {}) } },
      });
      try {
        const { key } = await gw.createKey(['webhooks:add']);
        ghost.requests.length = 0;
        const res = await add(gw, key, { event: 'site.changed', target_url: 'http://127.0.0.1:9/hook' });
        const text = await res.body.text();
        if (integrationId) {
          assert.equal(res.statusCode, 201, text);
          const sent = JSON.parse(ghost.requests.find((r) => r.method === 'POST')!.body.toString()).webhooks[0];
          assert.equal(sent.integration_id, INTEGRATION);
        } else {
          assert.equal(JSON.parse(text).errors[0].code, 'WEBHOOK_RELAY_UNAVAILABLE');
          assert.match(JSON.parse(text).errors[0].context, /webhooks\.integrationId/);
          assert.deepEqual(
            ghost.requests.filter((r) => r.url.startsWith(`${A}/webhooks`)),
            [],
          );
        }
      } finally {
        await gw.close();
      }
    }
  });

  test('a client naming an integration_id is refused and nothing reaches Ghost, whatever the upstream', async () => {
    for (const kind of ['integration', 'staff'] as const) {
      const gw = await startTestGateway({
        upstreamUrl: ghost.url,
        upstreamKey: UPSTREAM_KEY,
        kind,
        relay: true,
        extra: { webhooks: { allowInternalIPs: true, integrationId: INTEGRATION } },
      });
      try {
        const { key } = await gw.createKey(['webhooks:add']);
        ghost.requests.length = 0;
        const res = await add(gw, key, { event: 'site.changed', target_url: 'http://127.0.0.1:9/hook', integration_id: 'e0'.repeat(12) });
        const err = JSON.parse(await res.body.text()).errors[0];
        assert.equal(res.statusCode, 400, kind);
        assert.equal(err.code, 'BODY_INVALID', kind);
        assert.match(err.context, /integration_id/);
        assert.deepEqual(
          ghost.requests.filter((r) => r.url.startsWith(`${A}/webhooks`)),
          [],
          kind,
        );
      } finally {
        await gw.close();
      }
    }
  });
});

describe('the relay judges a call’s size and its own load before reading the body', () => {
  const RELAY = 'a'.repeat(32);
  let ghost: FakeUpstream;
  let gw: TestGateway;
  before(async () => {
    ghost = await startFakeUpstream();
    // relayMaxBodyMb: 1 KiB; relayConcurrency: one call checked at a time.
    gw = await startTestGateway({
      upstreamUrl: ghost.url,
      upstreamKey: UPSTREAM_KEY,
      relay: true,
      extra: { webhooks: { allowInternalIPs: true, relayMaxBodyMb: 1 / 1024, relayConcurrency: 1, relayReadTimeoutMs: 300 } },
    });
    // The relay the calls below name: a call naming no known relay is answered 410 before anything (last test).
    const { id } = await gw.createKey(['webhooks:add', 'posts:read']);
    await gw.gateway.store.webhooks.add({
      id: RELAY,
      keyId: id,
      event: 'post.published',
      targetUrl: 'http://127.0.0.1:9/x',
      secretSealed: null,
      relayUrl: `${gw.config.publicUrl}/ghostgate/webhooks/relay/${RELAY}`,
      createdAt: Date.now(),
    });
    await gw.gateway.store.webhooks.activate(RELAY, 'b'.repeat(24), Date.now());
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });

  /** A raw HTTP/1.1 call to the relay, its head (and any body) written as given; resolves with the status line's code. */
  const raw = (head: string[], body = '', relay = RELAY) => {
    const port = new URL(gw.url).port;
    const socket = connect(Number(port), '127.0.0.1');
    const lines = [
      `POST /ghostgate/webhooks/relay/${relay} HTTP/1.1`,
      'Host: gw',
      `X-Ghost-Signature: sha256=${'0'.repeat(64)}, t=${Date.now()}`,
      'Content-Type: application/json',
      ...head,
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    const status = new Promise<{ status: number; text: string }>((resolve, reject) => {
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m && text.includes('\r\n\r\n') && /"code":"[A-Z_]+"|\r\n\r\n$/.test(text)) resolve({ status: Number(m[1]), text });
      });
      socket.on('error', reject);
    });
    return { socket, status };
  };
  const code = (text: string) => /"code":"([A-Z_]+)"/.exec(text)?.[1];

  test('no Content-Length and not chunked: 411; a declared length over relayMaxBodyMb: 413 without waiting for the body', async () => {
    const none = raw(['Connection: close']);
    const r1 = await none.status;
    none.socket.destroy();
    assert.equal(r1.status, 411);
    assert.equal(code(r1.text), 'WEBHOOK_LENGTH_REQUIRED');
    // 10 MB declared, none of it sent: the answer comes anyway.
    const big = raw(['Content-Length: 10000000']);
    const r2 = await big.status;
    big.socket.destroy();
    assert.equal(r2.status, 413);
    assert.equal(code(r2.text), 'BODY_TOO_LARGE');
    // Chunked: refused once the body passes the limit.
    const chunk = 'x'.repeat(2048);
    const chunked = raw(['Transfer-Encoding: chunked'], `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
    const r3 = await chunked.status;
    chunked.socket.destroy();
    assert.equal(r3.status, 413);
    // Within the limit, the call is read and judged on its signature.
    const small = raw(['Content-Length: 2', 'Connection: close'], '{}');
    const r4 = await small.status;
    small.socket.destroy();
    assert.equal(code(r4.text), 'WEBHOOK_SIGNATURE_INVALID');
  });

  test('beyond relayConcurrency calls being checked, the relay answers 503 at once; a slot frees when a call ends', async () => {
    // The first call declares a body and sends half: it holds the one slot while the relay reads.
    const slow = raw(['Content-Length: 4'], '{}');
    await new Promise((r) => setTimeout(r, 100));
    const busy = raw(['Content-Length: 2', 'Connection: close'], '{}');
    const r = await busy.status;
    busy.socket.destroy();
    assert.equal(r.status, 503);
    assert.equal(code(r.text), 'WEBHOOK_RELAY_BUSY');
    slow.socket.write('  ');
    assert.equal(code((await slow.status).text), 'WEBHOOK_SIGNATURE_INVALID');
    slow.socket.destroy();
    const after = raw(['Content-Length: 2', 'Connection: close'], '{}');
    assert.equal(code((await after.status).text), 'WEBHOOK_SIGNATURE_INVALID');
    after.socket.destroy();
  });

  test('a slow body cannot hold the relay: unknown relays are answered 410 before the body and without a slot; a known one gets relayReadTimeoutMs, then 408 and an audit record (review finding)', async () => {
    const records: { code: string | null; route: string }[] = [];
    const stop = gw.gateway.events.subscribe((e) => records.push(e));
    try {
      // Slow calls naming relays the gateway does not know: answered at once, no slot taken.
      const strangers = Array.from({ length: 3 }, (_, i) => raw(['Content-Length: 100'], '{', String(i).repeat(32)));
      for (const s of strangers) {
        const r = await s.status;
        s.socket.destroy();
        assert.deepEqual([r.status, code(r.text)], [410, 'WEBHOOK_RETIRED']);
      }
      // A slow call naming the known relay holds the one slot only until relayReadTimeoutMs (300 ms here).
      const slow = raw(['Content-Length: 100'], '{');
      const started = Date.now();
      const r = await slow.status;
      slow.socket.destroy();
      assert.deepEqual([r.status, code(r.text)], [408, 'WEBHOOK_BODY_TIMEOUT']);
      assert.ok(Date.now() - started < 3000, 'Date.now() - started < 3000');
      const next = raw(['Content-Length: 2', 'Connection: close'], '{}');
      assert.equal(code((await next.status).text), 'WEBHOOK_SIGNATURE_INVALID', 'the slot is free again');
      next.socket.destroy();
      // A caller that hangs up mid-body: audited too.
      const quitter = raw(['Content-Length: 100'], '{');
      await new Promise((res) => setTimeout(res, 50));
      quitter.socket.destroy();
      await new Promise((res) => setTimeout(res, 100));
    } finally {
      stop();
    }
    const relayCodes = records.filter((e) => e.route === 'POST /ghostgate/webhooks/relay/:id').map((e) => e.code);
    assert.deepEqual(
      relayCodes,
      [
        'WEBHOOK_RETIRED',
        'WEBHOOK_RETIRED',
        'WEBHOOK_RETIRED',
        'WEBHOOK_BODY_TIMEOUT',
        'WEBHOOK_SIGNATURE_INVALID',
        'WEBHOOK_BODY_TIMEOUT',
      ],
      'every call leaves one record',
    );
  });
});

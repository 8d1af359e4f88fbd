import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { refusal } from '../helpers/refusal.js';
import { CLI, lab } from './lab-helper.js';

const V = 'v6.0';

/**
 * A receiver that checks Ghost's signatures with Ghost's documented algorithm
 * (https://ghost.org/docs/webhooks/: HMAC-SHA256 of the body followed by t,
 * keyed with the secret), as any tool's receiver would.
 */
function ghostSignatureValid(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const m = /^sha256=([0-9a-f]{64}), t=(\d+)$/.exec(String(headers['x-ghost-signature'] ?? ''));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${body}${m[2]}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex')) && Math.abs(Date.now() - Number(m[2])) < 5 * 60_000;
}

describe('webhooks through the relay, on the lab’s real Ghost with the official client', () => {
  let s: LabState;
  let gw: TestGateway;
  let receiver: Server;
  let base: string;
  let direct: any;
  const got: { path: string; headers: IncomingHttpHeaders; body: string; json: any }[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--config', gw.configFile, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' },
    });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const client = (key: string) => new GhostAdminAPI({ url: gw.url, key, version: V });
  const at = (path: string) => got.filter((g) => g.path === path);
  async function waitFor(pred: () => boolean, ms = 15_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pred() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  }
  /** Ghost fires asynchronously: wait until the gateway's relay has answered and its deliveries are done. */
  const quiet = async () => {
    await new Promise((r) => setTimeout(r, 1500));
    await gw.gateway.deliveries.idle();
  };
  const ghostHasWebhook = async (id: string) => {
    // Ghost has no webhook browse for integrations: an edit that changes nothing tells whether it exists.
    const r = await fetch(`${s.url}/ghost/api/admin/webhooks/${id}/`, {
      method: 'PUT',
      headers: {
        authorization: `Ghost ${(await import('../helpers/token.js')).clientToken(s.integration.adminKey)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ webhooks: [{ id }] }),
    });
    await r.text();
    return r.status === 200;
  };

  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey, relay: true });
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: V });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        got.push({ path: req.url ?? '', headers: req.headers, body, json: JSON.parse(body || 'null') });
        res.end();
      });
    });
    await new Promise<void>((r) =>
      receiver.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    receiver?.close();
    await gw?.close();
  });

  test('a key limited to tag partner gets only partner posts, signed with its own secret; revoking it stops them and removes the Ghost webhook', async () => {
    const { id, key } = await gw.createKey({
      version: 1,
      scopes: ['posts:read', 'webhooks:add'],
      constraints: { posts: { tags: ['partner'] } },
    });
    const api = client(key);
    const target = `${base}/partner`;
    const wh = await api.webhooks.add({ event: 'post.published', target_url: target, secret: 'partner-secret' });
    cleanup.push(() => direct.webhooks.delete({ id: wh.id }));
    assert.equal(wh.target_url, target, 'the client sees its own target');
    assert.equal(wh.secret, 'partner-secret');
    assert.ok(!JSON.stringify(wh).includes('/ghostgate/'), "!JSON.stringify(wh).includes('/ghostgate/')");
    assert.equal(cli(['webhooks', 'show', wh.id, '--json']).key_id, id);
    assert.deepEqual(
      cli(['token', 'show', id, '--json']).webhooks.map((w: any) => w.id),
      [wh.id],
    );

    const untagged = await direct.posts.add({ title: `untagged ${Date.now()}`, status: 'published' });
    cleanup.push(() => direct.posts.delete({ id: untagged.id }));
    const partner = await direct.posts.add({ title: `partner ${Date.now()}`, status: 'published', tags: [{ slug: 'partner' }] });
    cleanup.push(() => direct.posts.delete({ id: partner.id }));
    await waitFor(() => at('/partner').length > 0);
    await quiet();
    const deliveries = at('/partner');
    assert.equal(deliveries.length, 1, `only the partner post: ${deliveries.map((d) => d.json?.post?.current?.title).join(', ')}`);
    const d = deliveries[0]!;
    assert.equal(d.json.event, 'post.published');
    assert.equal(d.json.post.current.id, partner.id);
    assert.ok(ghostSignatureValid('partner-secret', d.headers, d.body), 'a receiver checking Ghost’s signature accepts it');
    assert.ok(!ghostSignatureValid('another-secret', d.headers, d.body), "!ghostSignatureValid('another-secret', d.headers, d.body)");
    assert.equal(d.headers['content-type'], 'application/json');
    assert.match(String(d.headers['content-version']), /^v6\.65$/);
    assert.match(String(d.headers['user-agent']), /^Ghost\//);
    const log = cli(['webhooks', 'deliveries', '--webhook', wh.id, '--json']) as any[];
    assert.deepEqual(log.map((r) => r.outcome).sort(), ['delivered', 'filtered']);
    assert.ok(
      log.every((r) => !('body' in r)),
      "log.every((r) => !('body' in r))",
    );

    // Revoked: Ghost's webhook is removed at once, and nothing more is delivered.
    const revoked = cli(['token', 'revoke', id, '--json']);
    assert.deepEqual(revoked.webhooks_retired, [wh.id]);
    assert.deepEqual(revoked.webhooks_not_removed_from_ghost, []);
    assert.equal(await ghostHasWebhook(wh.id), false, 'the webhook is gone from Ghost');
    const later = await direct.posts.add({ title: `partner later ${Date.now()}`, status: 'published', tags: [{ slug: 'partner' }] });
    cleanup.push(() => direct.posts.delete({ id: later.id }));
    await quiet();
    assert.equal(at('/partner').length, 1);
  });

  test('member webhooks: refused without members:read; a members-reader key gets members without email, name or note', async () => {
    const noMembers = client((await gw.createKey(['posts:read', 'webhooks:add'])).key);
    for (const event of ['member.added', 'member.edited', 'member.deleted']) {
      const r = await refusal(noMembers.webhooks.add({ event, target_url: `${base}/nope` }));
      assert.equal(r.code, 'SCOPE_MISSING', event);
      assert.equal(r.name, 'NoPermissionError');
      assert.match(r.message, /members:read/);
    }
    const reader = await gw.createKey({
      version: 1,
      scopes: ['members:browse', 'members:read', 'webhooks:add'],
      redact: { members: ['email', 'name', 'note'] },
    });
    const wh = await client(reader.key).webhooks.add({ event: 'member.added', target_url: `${base}/members` });
    cleanup.push(() => direct.webhooks.delete({ id: wh.id }));
    const email = `relay-${Date.now()}@members.lab.ghostgate.test`;
    const m = await direct.members.add({ email, name: 'Relay Member', note: 'private note' });
    cleanup.push(() => direct.members.delete({ id: m.id }));
    await waitFor(() => at('/members').length > 0);
    const d = at('/members')[0]!;
    assert.equal(d.json.member.current.id, m.id);
    for (const f of ['email', 'name', 'note']) assert.ok(!(f in d.json.member.current), f);
    assert.ok(!d.body.includes(email) && !d.body.includes('private note'), "!d.body.includes(email) && !d.body.includes('private note')");
    assert.equal(d.headers['x-ghost-signature'], undefined, 'no secret given: unsigned, as Ghost does');
  });

  test('the seed scenario: a one-time key leaves a lasting webhook that keeps delivering after an upstream rotation', async () => {
    // test/e2e/lifecycle.test.ts runs the whole scenario with the CLI; here: a max-uses key's webhook outlives its uses.
    const once = cli([
      'token',
      'create',
      '--name',
      'installer',
      '--preset',
      'webhook-setup',
      '--scope',
      'posts:read',
      '--max-uses',
      '1',
      '--json',
    ]);
    const api = client(once.key);
    const wh = await api.webhooks.add({ event: 'post.added', target_url: `${base}/seed`, secret: 'seed-secret' });
    cleanup.push(() => direct.webhooks.delete({ id: wh.id }));
    assert.equal((await refusal(api.webhooks.add({ event: 'post.edited', target_url: `${base}/seed2` }))).code, 'KEY_USES_EXHAUSTED');
    const p = await direct.posts.add({ title: `seed ${Date.now()}` });
    cleanup.push(() => direct.posts.delete({ id: p.id }));
    await waitFor(() => at('/seed').length > 0);
    assert.equal(at('/seed')[0]!.json.post.current.id, p.id);
    assert.ok(
      ghostSignatureValid('seed-secret', at('/seed')[0]!.headers, at('/seed')[0]!.body),
      "ghostSignatureValid('seed-secret', at('/seed')[0]!.headers, at('/seed')[0]!.body)",
    );
  });

  test('webhooks audit reports a webhook made before the relay, and migrate moves it onto the relay', async () => {
    const { id } = await gw.createKey(['posts:read', 'webhooks:add']);
    // Made straight in Ghost, then recorded in the key's ledger: what the gateway did before the relay.
    const old = await direct.webhooks.add({ event: 'post.added', target_url: `${base}/legacy`, secret: 'legacy-secret' });
    cleanup.push(() => direct.webhooks.delete({ id: old.id }));
    await gw.gateway.store.ledger.add(id, 'webhooks', old.id, Date.now());
    const audit = cli(['webhooks', 'audit', '--json']);
    const found = audit.legacy.find((l: any) => l.id === old.id);
    assert.equal(found?.key_id, id);
    assert.equal(found?.migrate, `ghostgate webhooks migrate ${old.id}`);
    const migrated = cli(['webhooks', 'migrate', old.id, '--json']);
    assert.equal(migrated.target_url, `${base}/legacy`);
    assert.ok(
      !cli(['webhooks', 'audit', '--json']).legacy.some((l: any) => l.id === old.id),
      "!cli(['webhooks', 'audit', '--json']).legacy.some((l: any) => l.id === old.id)",
    );
    const p = await direct.posts.add({ title: `legacy ${Date.now()}` });
    cleanup.push(() => direct.posts.delete({ id: p.id }));
    await waitFor(() => at('/legacy').length > 0);
    const d = at('/legacy')[0]!;
    assert.ok(ghostSignatureValid('legacy-secret', d.headers, d.body), 'still signed with the secret the client set');
  });
});

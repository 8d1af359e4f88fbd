import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import { regenerateIntegrationKey, type LabState } from '../../src/lab/lab.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { CLI, lab } from './lab-helper.js';

describe('the seed scenario: a one-time key sets up a webhook, the upstream key rotates, the webhook keeps firing', () => {
  let s: LabState;
  let gw: TestGateway;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: { event: string; title?: string }[] = [];
  let webhookId: string | undefined;

  const cli = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [CLI, '--config', gw.configFile, ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' },
    });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey, relay: true });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        try {
          const j = JSON.parse(body) as { event?: string; post?: { current?: { title?: string } } };
          deliveries.push({ event: j.event ?? '', title: j.post?.current?.title });
        } catch {
          deliveries.push({ event: 'unparsable' });
        }
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) =>
      receiver.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ghost-hook`;
  });
  after(async () => {
    if (webhookId) {
      const direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
      await direct.webhooks.delete({ id: webhookId }).catch(() => {});
    }
    receiver?.close();
    await gw?.close();
  });

  test('end to end', async () => {
    // The site owner mints a one-time key for the outside service, and a key for another tool.
    const once = cli([
      'token',
      'create',
      '--name',
      'webhook installer',
      '--preset',
      'webhook-setup',
      '--scope',
      'posts:read',
      '--max-uses',
      '1',
      '--expires',
      '1h',
      '--json',
    ]);
    assert.equal(once.max_uses, 1);
    const other = cli(['token', 'create', '--name', 'cms', '--preset', 'publisher', '--json']);

    // The service uses it once, with the official client.
    const installer = new GhostAdminAPI({ url: gw.url, key: once.key, version: 'v6.0' });
    const wh = await installer.webhooks.add({ event: 'post.added', target_url: receiverUrl, name: 'seed scenario' });
    webhookId = wh.id;
    assert.equal(wh.integration_id, s.integration.id);

    // Its next use is refused, with its own code.
    await assert.rejects(
      installer.webhooks.add({ event: 'post.edited', target_url: receiverUrl }),
      (e: any) => e.code === 'KEY_USES_EXHAUSTED',
    );
    await assert.rejects(installer.webhooks.delete({ id: wh.id }), (e: any) => e.code === 'KEY_USES_EXHAUSTED');
    const listed = cli(['token', 'show', once.id, '--json']);
    assert.equal(listed.use_count, 1);
    assert.ok(listed.last_used_at, 'listed.last_used_at');
    assert.deepEqual(
      listed.webhooks.map((w: { id: string; status: string }) => [w.id, w.status]),
      [[wh.id, 'active']],
      'the webhook is relayed and the key owns it',
    );
    assert.equal(wh.target_url, receiverUrl);

    // Its uses are spent; its webhook delivers.
    const cms = new GhostAdminAPI({ url: gw.url, key: other.key, version: 'v6.0' });
    const before = `seed scenario before rotation ${Date.now()}`;
    const first = await cms.posts.add({ title: before });
    for (const until = Date.now() + 15_000; !deliveries.some((d) => d.title === before) && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      deliveries.some((d) => d.event === 'post.added' && d.title === before),
      `deliveries: ${JSON.stringify(deliveries)}`,
    );
    await cms.posts.delete({ id: first.id });

    // The site owner regenerates the integration key in Ghost and installs the new one in the gateway.
    const oldKey = s.integration.adminKey;
    const newKey = await regenerateIntegrationKey();
    assert.notEqual(newKey, oldKey);
    assert.equal(newKey.split(':')[0], oldKey.split(':')[0], 'Ghost keeps the key id and changes the secret');
    const rotated = cli(['upstream', 'rotate', '--key-file', '-', '--json'], `${newKey}\n`);
    assert.equal(rotated.rotated, true);
    assert.equal(await gw.gateway.reloadUpstream(), true);
    s = { ...s, integration: { ...s.integration, adminKey: newKey } };

    // Other keys keep working without any change, and the webhook still fires.
    const title = `seed scenario ${Date.now()}`;
    const post = await cms.posts.add({ title });
    const until = Date.now() + 15_000;
    while (!deliveries.some((d) => d.title === title) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      deliveries.some((d) => d.event === 'post.added' && d.title === title),
      `deliveries: ${JSON.stringify(deliveries)}`,
    );
    await cms.posts.delete({ id: post.id });
    assert.ok(
      !(await cms.posts.browse({ limit: 'all' })).some((p: { id: string }) => p.id === post.id),
      "!(await cms.posts.browse({ limit: 'all' })).some((p: { id: string }) => p.id === post.id)",
    );

    // Use counts of keys without max uses are written once a second.
    let uses = 0;
    for (let i = 0; i < 30 && uses < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      uses = (cli(['token', 'list', '--json']) as { id: string; use_count: number }[]).find((t) => t.id === other.id)!.use_count;
    }
    assert.equal(uses, 5, 'two adds, two deletes and a browse through the gateway');
  });
});

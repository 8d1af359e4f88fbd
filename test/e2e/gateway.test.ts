import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { refusal } from '../helpers/refusal.js';
import { lab } from './lab-helper.js';

type Api = any;
const VERSIONS = ['v6.0', 'v5.0', 'canary'] as const;
const FULL_SCOPES = [
  'posts:*',
  'pages:*',
  'tags:*',
  'members:*',
  'labels:*',
  'newsletters:*',
  'users:browse',
  'users:read',
  'images:upload',
  'media:upload',
  'files:upload',
  'webhooks:*',
  'settings:browse',
  'config:read',
];
// A 1x1 transparent PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe('the gateway in front of the real Ghost, driven by the official client', () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  let fullKey: string;
  let narrowKey: string;
  const files = mkdtempSync(join(tmpdir(), 'ghostgate-e2e-'));

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey, relay: true });
    fullKey = (await gw.createKey(FULL_SCOPES, 'full')).key;
    narrowKey = (await gw.createKey(['posts:browse', 'posts:read'], 'narrow')).key;
    writeFileSync(join(files, 'pixel.png'), PNG);
    writeFileSync(join(files, 'clip.mp4'), Buffer.alloc(2048, 1));
    writeFileSync(join(files, 'notes.txt'), 'ghostgate e2e\n');
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
  });

  for (const version of VERSIONS) {
    test(`version ${version}: allowed reads give the same result as direct calls to Ghost, one upstream request each`, async () => {
      const viaGw: Api = new GhostAdminAPI({ url: gw.url, key: fullKey, version });
      const direct: Api = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version });
      const before = proxy.seen.length;
      let calls = 0;
      const same = async (what: string, f: (api: Api) => Promise<unknown>) => {
        calls++;
        const [a, b] = await Promise.all([f(viaGw), f(direct)]);
        assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)), what);
      };
      const post = s.content.posts.find((p) => p.type === 'post' && p.status === 'draft')!;
      const page = s.content.posts.find((p) => p.type === 'page')!;
      await same('posts.browse', (api) =>
        api.posts.browse({ limit: 'all', include: 'tags,authors', filter: 'status:[draft,published,scheduled]' }),
      );
      await same('posts.read by id', (api) => api.posts.read({ id: post.id }, { formats: 'lexical,html' }));
      await same('posts.read by slug', (api) => api.posts.read({ slug: post.slug }));
      await same('pages.browse', (api) => api.pages.browse({ limit: 'all' }));
      await same('pages.read', (api) => api.pages.read({ id: page.id }));
      await same('tags.browse', (api) => api.tags.browse({ limit: 'all' }));
      await same('tags.read', (api) => api.tags.read({ id: s.content.tags[0]!.id }));
      await same('members.browse', (api) => api.members.browse({ limit: 'all', filter: 'label:vip' }));
      await same('members.read', (api) => api.members.read({ id: s.content.members[0]!.id }));
      await same('newsletters.browse', (api) => api.newsletters.browse());
      await same('newsletters.read', (api) => api.newsletters.read({ id: s.content.newsletters[0]!.id }));
      await same('users.browse', (api) => api.users.browse({ limit: 'all' }));
      await same('users.read', (api) => api.users.read({ id: s.staff.Editor.id }));
      await same('site.read', (api) => api.site.read());
      await same('config.read', (api) => api.config.read());
      assert.equal(proxy.seen.length - before, calls, 'one upstream request per allowed request');
    });

    test(`version ${version}: writes, uploads and webhooks work through the gateway`, async () => {
      const api: Api = new GhostAdminAPI({ url: gw.url, key: fullKey, version });
      const direct: Api = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version });
      const before = proxy.seen.length;
      const tag = `gw-${version.replace('.', '')}-${Date.now().toString(36)}`;

      const t = await api.tags.add({ name: tag });
      assert.equal(t.name, tag);
      const t2 = await api.tags.edit({ id: t.id, description: 'through the gateway' });
      assert.equal((await direct.tags.read({ id: t.id })).description, 'through the gateway');
      assert.equal(t2.id, t.id);
      await api.tags.delete({ id: t.id });
      assert.equal((await refusal(direct.tags.read({ id: t.id }))).name, 'NotFoundError');

      const p = await api.posts.add({ title: `${tag} post`, tags: [{ name: 'Partner' }] });
      assert.equal(p.status, 'draft');
      const p2 = await api.posts.edit({ id: p.id, title: `${tag} post edited`, updated_at: p.updated_at });
      assert.equal(p2.title, `${tag} post edited`);
      await api.posts.delete({ id: p.id });

      const pg = await api.pages.add({ title: `${tag} page` });
      await api.pages.delete({ id: pg.id });

      const m = await api.members.add({ email: `${tag}@members.lab.ghostgate.test`, labels: [{ name: 'vip' }] });
      const m2 = await api.members.edit({ id: m.id, name: 'Edited Member' });
      assert.equal(m2.name, 'Edited Member');
      await api.members.delete({ id: m.id });

      const img = await api.images.upload({ file: join(files, 'pixel.png') });
      assert.match(img.url, /\/content\/images\/.*pixel.*\.png$/);
      assert.equal((await fetch(img.url)).status, 200);
      const media = await api.media.upload({ file: join(files, 'clip.mp4') });
      assert.match(media.url, /\/content\/media\/.*clip.*\.mp4$/);
      const file = await api.files.upload({ file: join(files, 'notes.txt') });
      assert.match(file.url, /\/content\/files\/.*notes.*\.txt$/);

      const wh = await api.webhooks.add({ event: 'post.added', target_url: `http://127.0.0.1:9/${tag}` });
      assert.equal(wh.integration_id, s.integration.id);
      const wh2 = await api.webhooks.edit({ id: wh.id, name: 'renamed' });
      assert.equal(wh2.name, 'renamed');
      await api.webhooks.delete({ id: wh.id });

      // tags 3 + posts 3 + pages 2 + members 3 + uploads 3 + webhooks 3 calls, each forwarded once.
      assert.equal(proxy.seen.length - before, 17);
    });

    test(`version ${version}: calls outside the key's scopes are refused with 403 naming the scope, and nothing reaches Ghost`, async () => {
      const api: Api = new GhostAdminAPI({ url: gw.url, key: narrowKey, version });
      const before = proxy.seen.length;
      const cases: [string, () => Promise<unknown>][] = [
        ['tags:browse', () => api.tags.browse()],
        ['posts:add', () => api.posts.add({ title: 'nope' })],
        ['posts:destroy', () => api.posts.delete({ id: s.content.posts[0]!.id })],
        ['members:browse', () => api.members.browse()],
        ['users:browse', () => api.users.browse()],
        ['webhooks:add', () => api.webhooks.add({ event: 'post.added', target_url: 'http://127.0.0.1:9/x' })],
        ['images:upload', () => api.images.upload({ file: join(files, 'pixel.png') })],
        ['newsletters:browse', () => api.newsletters.browse()],
      ];
      for (const [scope, call] of cases) {
        const e = await refusal(call());
        assert.equal(e.name, 'NoPermissionError', scope);
        assert.equal(e.code, 'SCOPE_MISSING', scope);
        assert.ok(e.message.includes(scope), `${scope}: ${e.message}`);
      }
      assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
      assert.equal((await api.posts.browse({ limit: 1 })).length, 1);
      assert.equal(proxy.seen.length, before + 1);
    });
  }

  test('settings read matches a direct call; an unknown route and the Content API are refused and never forwarded', async () => {
    const before = proxy.seen.length;
    const [a, b] = await Promise.all([
      fetch(`${gw.url}/ghost/api/admin/settings/`, { headers: { authorization: authHeader(fullKey) } }),
      fetch(`${s.url}/ghost/api/admin/settings/`, { headers: { authorization: authHeader(s.integration.adminKey) } }),
    ]);
    assert.equal(a.status, 200);
    // Equal but for the settings that are secrets, which the gateway blanks for every key (docs/grants.md).
    const viaGw = (await a.json()) as { settings: { key: string; value: unknown }[] };
    const straight = (await b.json()) as { settings: { key: string; value: unknown }[] };
    const differ = viaGw.settings.filter((row, i) => JSON.stringify(row) !== JSON.stringify(straight.settings[i]));
    assert.ok(
      differ.every((row) => row.value === null && ['password', 'public_hash', 'slack_url', 'indexnow_api_key'].includes(row.key)),
      JSON.stringify(differ),
    );
    assert.deepEqual(
      viaGw.settings.map((r) => r.key),
      straight.settings.map((r) => r.key),
    );
    for (const path of ['/ghost/api/admin/webhooks/', '/ghost/api/admin/brand_new/', '/ghost/api/content/posts/', '/ghost/', '/']) {
      const r = await fetch(`${gw.url}${path}`, { headers: { authorization: authHeader(fullKey) } });
      assert.equal(r.status, 403, path);
      assert.match(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code, /^ROUTE_(UNKNOWN|NOT_SERVED)$/);
    }
    assert.equal(proxy.seen.length, before + 1);
  });

  test('with an integration key upstream, a route Ghost refuses to integrations is refused as UPSTREAM_FORBIDS', async () => {
    const { key } = await gw.createKey(['integrations:browse', 'posts:browse']);
    const before = proxy.seen.length;
    const r = await fetch(`${gw.url}/ghost/api/admin/integrations/`, { headers: { authorization: authHeader(key) } });
    assert.equal(r.status, 403);
    const e = ((await r.json()) as { errors: { code: string; context: string }[] }).errors[0]!;
    assert.equal(e.code, 'UPSTREAM_FORBIDS');
    assert.match(e.context, /integration/);
    assert.equal(proxy.seen.length, before);
  });
});

describe('the gateway with an Editor staff token upstream (a ceiling)', () => {
  let gw: TestGateway;
  let s: LabState;
  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.staff.Editor.staffToken, kind: 'staff' });
  });
  after(async () => {
    await gw?.close();
  });

  test('a key holding settings:edit still cannot edit settings; its posts:browse works as the Editor', async () => {
    const { key } = await gw.createKey(['settings:edit', 'settings:browse', 'posts:browse', 'members:browse']);
    const api: Api = new GhostAdminAPI({ url: gw.url, key, version: 'v6.0' });
    assert.ok((await api.posts.browse({ limit: 2 })).length > 0, '(await api.posts.browse({ limit: 2 })).length > 0');
    const put = await fetch(`${gw.url}/ghost/api/admin/settings/`, {
      method: 'PUT',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      body: JSON.stringify({ settings: [{ key: 'title', value: 'hijacked' }] }),
    });
    assert.equal(put.status, 403);
    assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UPSTREAM_FORBIDS');
    assert.equal((await refusal(api.members.browse())).code, 'UPSTREAM_FORBIDS');
    const site = (await (await fetch(`${s.url}/ghost/api/admin/site/`)).json()) as { site: { title: string } };
    assert.equal(site.site.title, 'ghostgate lab');
  });
});

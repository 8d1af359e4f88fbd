import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import type { Grant } from '../../src/grants/grant.js';
import { PRESETS, withOverrides } from '../../src/grants/presets.js';
import { GrantSchema } from '../../src/grants/grant.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { refusal } from '../helpers/refusal.js';
import { lab } from './lab-helper.js';

type Api = any;
const V = 'v6.0';

const tagSlugs = (p: { tags?: { slug: string }[] }) => (p.tags ?? []).map((t) => t.slug);

describe('fine-grained grants against the real Ghost, with the official client', () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  let direct: Api;
  const client = async (grant: Grant | unknown): Promise<{ api: Api; key: string; id: string }> => {
    const { id, key } = await createWithGrant(GrantSchema.parse(grant));
    return { api: new GhostAdminAPI({ url: gw.url, key, version: V }), key, id };
  };
  async function createWithGrant(g: Grant) {
    const { newKeyId, formatKey } = await import('../../src/secrets/keys.js');
    const id = newKeyId();
    const rec = await gw.gateway.store.keys.create({ id, name: 'grant test', grant: g, createdAt: Date.now() });
    return { id, key: formatKey(id, gw.master.keySecret(id, rec.generation)) };
  }
  const preset = (name: string, extra: string[] = [], over?: Record<string, unknown>) =>
    client(withOverrides(PRESETS[name]!.grant, extra, over));

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey, relay: true });
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: V });
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
  });

  describe('a key limited to posts tagged partner', () => {
    let api: Api;
    let tagged: any;
    let untagged: any;
    before(async () => {
      ({ api } = await preset('content-reader', ['posts:edit', 'posts:add', 'posts:destroy', 'posts:bulkEdit'], {
        constraints: { posts: { tags: ['partner'] } },
      }));
      const all = await direct.posts.browse({ limit: 'all', include: 'tags' });
      tagged = all.find((p: any) => tagSlugs(p).includes('partner'));
      untagged = all.find((p: any) => !tagSlugs(p).includes('partner'));
      assert.ok(
        tagged && untagged,
        `the lab has tagged and untagged posts; it had: ${JSON.stringify(all.map((p: any) => [p.title, p.status, tagSlugs(p)]))}`,
      );
    });

    test('browsing sees only tagged posts, whatever the client filter says', async () => {
      for (const filter of [
        undefined,
        'tag:-partner',
        'tag:partner,tag:-partner',
        'status:[draft,published,scheduled]',
        `id:${untagged.id}`,
        'tag:-partner,featured:false',
      ]) {
        const posts = await api.posts.browse({ limit: 'all', include: 'tags', ...(filter ? { filter } : {}) });
        for (const p of posts) assert.ok(tagSlugs(p).includes('partner'), `${filter}: ${p.title}`);
        if (filter === undefined) assert.ok(posts.length > 0, 'posts.length > 0');
        assert.ok(!posts.some((p: any) => p.id === untagged.id), String(filter));
      }
    });

    test('a filter that does not parse is refused, never forwarded', async () => {
      const before = proxy.seen.length;
      const e = await refusal(api.posts.browse({ filter: 'tag:partner)+(id:-x' }));
      assert.equal(e.code, 'FILTER_INVALID');
      assert.equal(proxy.seen.length, before);
    });

    test('an untagged post cannot be read, edited or deleted by id or slug', async () => {
      assert.equal((await refusal(api.posts.read({ id: untagged.id }))).code, 'RECORD_OUTSIDE_GRANT');
      assert.equal((await refusal(api.posts.read({ slug: untagged.slug }))).name, 'NotFoundError');
      assert.equal(
        (await refusal(api.posts.edit({ id: untagged.id, title: 'hijacked', updated_at: untagged.updated_at }))).code,
        'RECORD_OUTSIDE_GRANT',
      );
      assert.equal((await refusal(api.posts.delete({ id: untagged.id }))).code, 'RECORD_OUTSIDE_GRANT');
      const still = await direct.posts.read({ id: untagged.id });
      assert.equal(still.title, untagged.title);
      assert.equal((await api.posts.read({ id: tagged.id })).id, tagged.id);
    });

    test('a tagged post cannot lose its tag, and a new post must carry it', async () => {
      const news = s.content.tags.find((t) => t.name === 'News')!; // the lab's (Ghost's own fixtures have another News)
      const e = await refusal(api.posts.edit({ id: tagged.id, tags: [{ id: news.id }], updated_at: tagged.updated_at }));
      assert.equal(e.code, 'BODY_OUTSIDE_GRANT');
      assert.ok(
        tagSlugs(await direct.posts.read({ id: tagged.id }, { include: 'tags' })).includes('partner'),
        "tagSlugs(await direct.posts.read({ id: tagged.id }, { include: 'tags' })).includes('partner')",
      );
      assert.equal((await refusal(api.posts.add({ title: 'untagged by a tagged key' }))).code, 'BODY_OUTSIDE_GRANT');
      const p = await api.posts.add({ title: 'tagged by a tagged key', tags: [{ name: 'Partner' }] });
      const edited = await api.posts.edit({ id: p.id, title: 'still tagged', updated_at: p.updated_at });
      assert.equal(edited.title, 'still tagged');
      await api.posts.delete({ id: p.id });
    });

    test('bulk edits reach only tagged posts', async () => {
      const token = authHeader(
        (
          await createWithGrant(
            GrantSchema.parse({ version: 1, scopes: ['posts:bulkEdit', 'posts:browse'], constraints: { posts: { tags: ['partner'] } } }),
          )
        ).key,
      );
      const res = await fetch(`${gw.url}/ghost/api/admin/posts/bulk/?filter=${encodeURIComponent(`id:${untagged.id}`)}`, {
        method: 'PUT',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ bulk: { action: 'feature' } }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await direct.posts.read({ id: untagged.id })).featured, false);
      const access = await fetch(`${gw.url}/ghost/api/admin/posts/bulk/?filter=tag:partner`, {
        method: 'PUT',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ bulk: { action: 'access', meta: { visibility: 'paid' } } }),
      });
      assert.equal(access.status, 200, 'no visibility constraint: changing access is allowed, on tagged posts only');
      assert.equal((await direct.posts.read({ id: untagged.id })).visibility, 'public');
      await fetch(`${gw.url}/ghost/api/admin/posts/bulk/?filter=tag:partner`, {
        method: 'PUT',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ bulk: { action: 'access', meta: { visibility: 'public' } } }),
      });
      const unknown = await fetch(`${gw.url}/ghost/api/admin/posts/bulk/?filter=tag:partner`, {
        method: 'PUT',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ bulk: { action: 'removeTag', meta: { tags: [{ slug: 'partner' }] } } }),
      });
      assert.equal(unknown.status, 403, 'an action the gateway does not know is refused');
      assert.equal((await unknown.json()).errors[0].code, 'FIELD_REFUSED');
    });

    test('routes that expose posts without a way to limit them are refused', async () => {
      const { key } = await createWithGrant(
        GrantSchema.parse({
          version: 1,
          scopes: ['search_index:fetchPosts', 'posts:exportCSV', 'posts:browse'],
          constraints: { posts: { tags: ['partner'] } },
        }),
      );
      for (const path of ['search-index/posts/', 'posts/export/']) {
        const r = await fetch(`${gw.url}/ghost/api/admin/${path}`, { headers: { authorization: authHeader(key) } });
        assert.equal(r.status, 403, path);
        assert.equal((await r.json()).errors[0].code, 'CONSTRAINT_UNENFORCEABLE');
      }
    });
  });

  describe('drafts-writer cannot publish by any route', () => {
    let api: Api;
    let key: string;
    let mine: any;
    before(async () => {
      ({ api, key } = await preset('drafts-writer', ['posts:bulkEdit', 'posts:copy']));
      mine = await api.posts.add({ title: 'a drafts-writer draft' });
    });
    after(async () => {
      await direct.posts.delete({ id: mine.id }).catch(() => {});
    });
    const raw = (method: string, path: string, body?: unknown) =>
      fetch(`${gw.url}/ghost/api/admin/${path}`, {
        method,
        headers: { authorization: authHeader(key), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const code = async (r: Response) => (await r.json()).errors[0].code as string;

    test('it creates and edits its own drafts and sees only them', async () => {
      assert.equal(mine.status, 'draft');
      mine = await api.posts.edit({ id: mine.id, title: 'a drafts-writer draft, edited', updated_at: mine.updated_at });
      const seen = await api.posts.browse({ limit: 'all' });
      assert.deepEqual(
        seen.map((p: any) => p.id),
        [mine.id],
      );
      const others = s.content.posts.find((p) => p.type === 'post' && p.status === 'draft')!;
      assert.equal((await refusal(api.posts.read({ id: others.id }))).code, 'RECORD_OUTSIDE_GRANT');
      assert.equal(
        (await refusal(api.posts.edit({ id: others.id, title: 'x', updated_at: mine.updated_at }))).code,
        'RECORD_OUTSIDE_GRANT',
      );
    });

    test('editing status to published or scheduled is refused, naming the field', async () => {
      for (const status of ['published', 'scheduled']) {
        const e = await refusal(api.posts.edit({ id: mine.id, status, updated_at: mine.updated_at }));
        assert.equal(e.code, 'FIELD_REFUSED', status);
        assert.match(e.message, /status/);
      }
      assert.equal((await refusal(api.posts.add({ title: 'born published', status: 'published' }))).code, 'FIELD_REFUSED');
      assert.equal((await direct.posts.read({ id: mine.id })).status, 'draft');
    });

    test('?newsletter= and email_segment are refused', async () => {
      const r = await raw('PUT', `posts/${mine.id}/?newsletter=default-newsletter&email_segment=all`, {
        posts: [{ title: 'with a newsletter', updated_at: mine.updated_at }],
      });
      assert.equal(r.status, 403);
      assert.equal(await code(r), 'FIELD_REFUSED');
    });

    test('bulk edits that publish are refused; copying a post it did not create is refused; a copy of its own draft stays a draft', async () => {
      const bulk = await raw('PUT', 'posts/bulk/?filter=status:draft', { bulk: { action: 'publish' } });
      assert.equal(bulk.status, 403);
      assert.equal(await code(bulk), 'FIELD_REFUSED');
      const unpublish = await raw('PUT', 'posts/bulk/?filter=status:published', { bulk: { action: 'unpublish' } });
      assert.equal(unpublish.status, 200, 'unpublishing moves nothing outside drafts, and the filter limits it to its own drafts');
      const published = s.content.posts.find((p) => p.type === 'post' && p.status === 'published')!;
      assert.equal((await direct.posts.read({ id: published.id })).status, 'published');
      const copyOther = await raw('POST', `posts/${published.id}/copy/`);
      assert.equal(copyOther.status, 404);
      const copy = await raw('POST', `posts/${mine.id}/copy/`);
      assert.equal(copy.status, 201);
      const copied = (await copy.json()).posts[0];
      assert.equal(copied.status, 'draft');
      // The copy is the key's own: it can edit it, not publish it.
      assert.equal((await api.posts.read({ id: copied.id })).id, copied.id);
      assert.equal(
        (await refusal(api.posts.edit({ id: copied.id, status: 'published', updated_at: copied.updated_at }))).code,
        'FIELD_REFUSED',
      );
      await direct.posts.delete({ id: copied.id });
    });
  });

  describe('webhook-setup: one key cannot touch another key’s webhooks', () => {
    test('key B is refused editing and deleting key A’s webhook; A manages its own', async () => {
      // A post webhook delivers posts: the preset alone may not create one (docs/webhooks.md).
      assert.equal(
        (await refusal((await preset('webhook-setup')).api.webhooks.add({ event: 'post.added', target_url: 'http://127.0.0.1:9/x' }))).code,
        'SCOPE_MISSING',
      );
      const a = await preset('webhook-setup', ['posts:read']);
      const b = await preset('webhook-setup', ['posts:read']);
      const wh = await a.api.webhooks.add({ event: 'post.added', target_url: `http://127.0.0.1:9/hook-${Date.now()}` });
      const before = proxy.seen.length;
      assert.equal((await refusal(b.api.webhooks.edit({ id: wh.id, name: 'taken over' }))).code, 'RECORD_NOT_OWNED');
      assert.equal((await refusal(b.api.webhooks.delete({ id: wh.id }))).code, 'RECORD_NOT_OWNED');
      assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
      assert.equal((await a.api.webhooks.edit({ id: wh.id, name: 'renamed by its owner' })).name, 'renamed by its owner');
      await a.api.webhooks.delete({ id: wh.id });
    });
  });

  describe('redaction: redacted fields never appear in any response', () => {
    test('content-reader: no staff email in posts with their authors', async () => {
      const { api, key } = await preset('content-reader');
      const emails = [s.owner.email, ...Object.values(s.staff).map((u) => u.email)];
      const answers = [
        await api.posts.browse({ limit: 'all', include: 'authors,tags' }),
        await api.posts.read({ id: s.content.posts[0]!.id }, { include: 'authors' }),
        await api.pages.browse({ limit: 'all', include: 'authors' }),
      ];
      const text = JSON.stringify(answers);
      assert.ok(text.includes('"authors"'), 'authors are there');
      for (const e of emails) assert.ok(!text.includes(e), e);
      // The same call straight to Ghost does carry them: the redaction is the gateway's.
      assert.ok(
        JSON.stringify(await direct.posts.browse({ limit: 'all', include: 'authors' })).includes(s.owner.email),
        "JSON.stringify(await direct.posts.browse({ limit: 'all', include: 'authors' })).includes(s.owner.email)",
      );
      const raw = await (
        await fetch(`${gw.url}/ghost/api/admin/posts/?include=authors&limit=all`, { headers: { authorization: authHeader(key) } })
      ).text();
      assert.ok(!raw.includes('@lab.ghostgate.test'), "!raw.includes('@lab.ghostgate.test')");
    });

    test('members-reader: members without email or name, even one by one', async () => {
      const { api } = await preset('members-reader');
      const list = await api.members.browse({ limit: 'all' });
      assert.ok(list.length >= 4, 'list.length >= 4');
      const one = await api.members.read({ id: s.content.members[0]!.id });
      const text = JSON.stringify([list, one]);
      for (const m of s.content.members) assert.ok(!text.includes(m.email), m.email);
      assert.ok(!('email' in one) && !('name' in one), "!('email' in one) && !('name' in one)");
      assert.ok(Array.isArray(one.labels), 'Array.isArray(one.labels)');
      const exportCsv = await fetch(`${gw.url}/ghost/api/admin/members/upload/`, {
        headers: {
          authorization: authHeader(
            (await createWithGrant(GrantSchema.parse(withOverrides(PRESETS['members-reader']!.grant, ['members:exportCSV'], undefined))))
              .key,
          ),
        },
      });
      assert.equal(exportCsv.status, 403);
      assert.equal((await exportCsv.json()).errors[0].code, 'RESPONSE_UNFILTERABLE');
    });
  });

  describe('members limited by label', () => {
    test('a key limited to label vip lists and reads only vip members', async () => {
      const { api } = await client({
        version: 1,
        scopes: ['members:browse', 'members:read', 'members:edit'],
        constraints: { members: { labels: ['vip'] } },
      });
      const list = await api.members.browse({ limit: 'all', include: 'labels', filter: 'label:-vip' });
      assert.ok(
        list.every((m: any) => m.labels.some((l: any) => l.slug === 'vip')),
        "list.every((m: any) => m.labels.some((l: any) => l.slug === 'vip'))",
      );
      const vip = s.content.members.filter((m) => m.labels.includes('vip'));
      assert.equal((await api.members.browse({ limit: 'all' })).length, vip.length);
      const other = s.content.members.find((m) => !m.labels.includes('vip'))!;
      assert.equal((await refusal(api.members.read({ id: other.id }))).code, 'RECORD_OUTSIDE_GRANT');
      assert.equal((await refusal(api.members.edit({ id: vip[0]!.id, labels: [{ name: 'partner' }] }))).code, 'BODY_OUTSIDE_GRANT');
    });
  });

  describe('publisher', () => {
    test('may publish, may not send email', async () => {
      const { api, key } = await preset('publisher');
      const p = await api.posts.add({ title: 'published by the publisher preset', status: 'published' });
      assert.equal(p.status, 'published');
      const r = await fetch(`${gw.url}/ghost/api/admin/posts/${p.id}/?newsletter=default-newsletter`, {
        method: 'PUT',
        headers: { authorization: authHeader(key), 'content-type': 'application/json' },
        body: JSON.stringify({ posts: [{ title: 'x', updated_at: p.updated_at }] }),
      });
      assert.equal(r.status, 403);
      await api.posts.delete({ id: p.id });
    });
  });
});

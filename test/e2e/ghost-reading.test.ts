import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { login } from '../../src/lab/provision.js';
import { GrantSchema } from '../../src/grants/grant.js';
import { PRESETS, withOverrides } from '../../src/grants/presets.js';
import { readRelation, resolveReferences, lookupKey, type Lookup } from '../../src/grants/relations.js';
import { formatKey, newKeyId } from '../../src/secrets/keys.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { lab } from './lab-helper.js';

type Json = Record<string, any>;
const V = 'v6.0';

/**
 * The gateway decides on a request exactly as Ghost will read it: relation references, redacted data
 * and its oracles, side channels, posts versus pages, moving anchors, email side effects, member
 * writes and settings secrets, each proven on the lab's real Ghost and checked afterwards with the
 * integration key straight against Ghost.
 */
describe('decisions equal Ghost’s reading, on the real Ghost', () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  let direct: any;
  const u = Date.now().toString(36);

  /** A raw request, through the gateway with a key, or straight to Ghost with the integration key. */
  async function call(
    key: string | 'direct',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Json; text: string }> {
    const base = key === 'direct' ? s.url : gw.url;
    const res = await fetch(`${base}/ghost/api/admin/${path}`, {
      method,
      headers: {
        authorization: authHeader(key === 'direct' ? s.integration.adminKey : key),
        'accept-version': V,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON (CSV) */
    }
    return { status: res.status, json, text };
  }
  const errCode = (r: { json: Json }) => r.json.errors?.[0]?.code as string | undefined;
  /** A key with this grant (constraint anchors by slug: the gateway pins them on first use). */
  async function key(grant: unknown): Promise<string> {
    const id = newKeyId();
    const rec = await gw.gateway.store.keys.create({ id, name: 'ghost-reading', grant: GrantSchema.parse(grant), createdAt: Date.now() });
    return formatKey(id, gw.master.keySecret(id, rec.generation));
  }
  const g = (doc: Record<string, unknown>) => ({ version: 1, ...doc });

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey });
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: V });
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
  });

  describe('relation references are read as Ghost reads them', () => {
    let mine: Json;
    let other: Json;
    let post: Json;
    let k: string;
    before(async () => {
      mine = await direct.tags.add({ name: `Rel Mine ${u}` });
      other = await direct.tags.add({ name: `Rel Other ${u}` });
      post = await direct.posts.add({ title: `rel ${u}`, status: 'draft', tags: [{ id: mine.id }] });
      k = await key(g({ scopes: ['posts:browse', 'posts:read', 'posts:edit'], constraints: { posts: { tags: [mine.slug] } } }));
    });
    const fresh = async () => (await direct.posts.read({ id: post.id }, { include: 'tags' })) as Json;

    test('renaming another tag through a post reference is refused, and the tag keeps its slug', async () => {
      const r = await call(k, 'PUT', `posts/${post.id}/`, {
        posts: [{ tags: [{ id: other.id, slug: mine.slug }], updated_at: (await fresh()).updated_at }],
      });
      assert.equal(r.status, 403);
      assert.equal(errCode(r), 'SCOPE_MISSING');
      assert.equal((await direct.tags.read({ id: other.id })).slug, other.slug);
      assert.equal((await direct.tags.read({ id: mine.id })).slug, mine.slug);
    });

    test('a slug-and-name reference that would create a look-alike tag is refused; no tag is created', async () => {
      const r = await call(k, 'PUT', `posts/${post.id}/`, {
        posts: [{ tags: [{ slug: mine.slug, name: 'Mine!' }], updated_at: (await fresh()).updated_at }],
      });
      assert.equal(errCode(r), 'SCOPE_MISSING');
      const lookalikes = await direct.tags.browse({ filter: `name:'Mine!'`, limit: 5 });
      assert.equal(lookalikes.length, 0);
      assert.deepEqual(
        (await fresh()).tags.map((t: Json) => t.id),
        [mine.id],
      );
    });

    test('references by id or slug alone work, and untagging by id is refused', async () => {
      const out = await call(k, 'PUT', `posts/${post.id}/`, {
        posts: [{ tags: [{ id: other.id }], updated_at: (await fresh()).updated_at }],
      });
      assert.equal(errCode(out), 'BODY_OUTSIDE_GRANT');
      const ok = await call(k, 'PUT', `posts/${post.id}/`, {
        posts: [{ tags: [{ slug: mine.slug }, { id: other.id }], updated_at: (await fresh()).updated_at }],
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(new Set((await fresh()).tags.map((t: Json) => t.id)), new Set([mine.id, other.id]));
    });

    test('differential: for every reference shape, the gateway predicts what Ghost then does', async () => {
      // Ask Ghost the lookups the gateway would ask (the same filters), then let Ghost itself write the shape.
      const answerLive = async (lookups: readonly Lookup[]) => {
        const m = new Map<string, Json[]>();
        for (const l of lookups)
          m.set(
            lookupKey(l),
            (await call('direct', 'GET', `tags/?${new URLSearchParams({ filter: l.filter, limit: '2', fields: 'id,name,slug' })}`)).json
              .tags,
          );
        return m;
      };
      const allTags = async () =>
        new Map(((await call('direct', 'GET', 'tags/?limit=100&fields=id,name,slug')).json.tags as Json[]).map((t) => [t.id, t]));
      const shapes: unknown[][] = [
        [{ id: mine.id }],
        [{ slug: mine.slug }],
        [mine.name],
        [{ id: mine.id, name: mine.name, slug: mine.slug }],
        [{ name: mine.name.toUpperCase() }],
        [{ slug: mine.slug, name: `Other name ${u}` }],
        [{ name: `Brand new ${u}` }],
        [{ id: other.id, name: `Renamed ${u}` }],
      ];
      for (const shape of shapes) {
        const reading = readRelation('tags', shape);
        assert.ok(reading.ok, 'reading.ok');
        const predicted = resolveReferences('tags', reading.refs, await answerLive(reading.lookups));
        const before = await allTags();
        const scratch = (await call('direct', 'POST', 'posts/?include=tags', { posts: [{ title: `scratch ${u}`, tags: shape }] })).json
          .posts[0];
        const after = await allTags();
        const created = [...after.keys()].filter((id) => !before.has(id));
        const modified = [...after.keys()].filter(
          (id) => before.has(id) && (before.get(id)!.name !== after.get(id)!.name || before.get(id)!.slug !== after.get(id)!.slug),
        );
        const label = JSON.stringify(shape);
        for (const p of predicted) {
          if (p.kind === 'existing')
            assert.ok(
              scratch.tags.some((t: Json) => t.id === p.id),
              `${label}: Ghost attached ${p.id}`,
            );
          if (p.kind === 'modifies') assert.deepEqual(modified, [p.id], `${label}: Ghost wrote to ${p.id}`);
          if (p.kind === 'creates') assert.equal(created.length, 1, `${label}: Ghost created a tag`);
        }
        if (!predicted.some((p) => p.kind === 'creates')) assert.deepEqual(created, [], `${label}: nothing created`);
        if (!predicted.some((p) => p.kind === 'modifies')) assert.deepEqual(modified, [], `${label}: nothing written`);
        // Undo: the scratch post, created tags, renamed tags.
        await call('direct', 'DELETE', `posts/${scratch.id}/`);
        for (const id of created) await call('direct', 'DELETE', `tags/${id}/`);
        for (const id of modified)
          await call('direct', 'PUT', `tags/${id}/`, { tags: [{ name: before.get(id)!.name, slug: before.get(id)!.slug }] });
      }
    });
  });

  describe('redacted data stays hidden, also from oracles and other containers', () => {
    let reader: string;
    const memberEmails = () => s.content.members.map((m) => m.email);
    const staffEmails = () => [s.owner.email, ...Object.values(s.staff).map((x) => x.email)];
    before(async () => {
      reader = await key(
        withOverrides(
          PRESETS['members-reader']!.grant,
          ['members:activityFeed', 'posts:browse', 'pages:browse', 'users:browse', 'users:read'],
          { redact: { users: ['email'] } },
        ),
      );
    });

    test('filter, search and order on a redacted field are refused and never reach Ghost', async () => {
      for (const q of [
        "filter=email:~'a'",
        "filter=EMAIL:~'a'",
        `filter=${encodeURIComponent("email_recipients.member_email:~'a',id:'0'")}`,
        'search=ada',
        'order=email%20asc',
        'filter=name:-null',
      ]) {
        const before = proxy.seen.length;
        const r = await call(reader, 'GET', `members/?${q}`);
        assert.equal(errCode(r), 'REDACTED_FIELD_QUERIED', q);
        assert.equal(proxy.seen.length, before, `${q} reached Ghost`);
      }
      assert.equal(errCode(await call(reader, 'GET', `users/email/${encodeURIComponent(s.owner.email)}/`)), 'REDACTED_FIELD_QUERIED');
      assert.equal((await call(reader, 'GET', 'members/?filter=status:free')).status, 200);
    });

    test('a lookup key in the query never reaches Ghost: ?email= on a read answers as the id alone does', async () => {
      const m = s.content.members[0]!;
      const wrong = await call(reader, 'GET', `members/${m.id}/?email=${encodeURIComponent('nobody@example.com')}`);
      assert.equal(wrong.status, 200, 'the email is dropped, so Ghost cannot be asked whether it matches');
      assert.equal(
        (await call('direct', 'GET', `members/${m.id}/?email=${encodeURIComponent('nobody@example.com')}`)).status,
        404,
        'Ghost itself would have answered the question',
      );
    });

    test('no member or staff email appears in any answer, whatever the include or the container', async () => {
      // An email change leaves to_email/from_email in the activity feed.
      const victim = s.content.members[3]!;
      const changed = `changed-${u}@members.lab.ghostgate.test`;
      await call('direct', 'PUT', `members/${victim.id}/`, { members: [{ email: changed }] });
      try {
        for (const path of [
          'members/?include=email_recipients,labels',
          `members/${victim.id}/`,
          'members/events/?limit=50',
          'posts/?include=authors,post_revisions.author&limit=5&formats=html',
          'users/?limit=all',
        ]) {
          const r = await call(reader, 'GET', path);
          assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 300)}`);
          for (const e of [...memberEmails(), changed, ...staffEmails()]) assert.ok(!r.text.includes(e), `${path} carries ${e}`);
        }
      } finally {
        await call('direct', 'PUT', `members/${victim.id}/`, { members: [{ email: victim.email }] });
      }
    });
  });

  describe('side channels and posts versus pages', () => {
    test('routes that expose posts or members are refused for a key limited on them', async () => {
      const k = await key(
        g({
          scopes: ['comments:browseAll', 'members:browse', 'posts:browse', 'pages:browse', 'tags:browse'],
          constraints: { posts: { tags: ['partner'] } },
        }),
      );
      assert.equal(errCode(await call(k, 'GET', 'comments/')), 'CONSTRAINT_UNENFORCEABLE');
      assert.equal(errCode(await call(k, 'GET', 'tags/?include=count.posts')), 'CONSTRAINT_UNENFORCEABLE');
      assert.equal((await call(k, 'GET', 'tags/')).status, 200);
      assert.equal(
        errCode(await call(await key(g({ scopes: ['comments:browseAll'] })), 'GET', 'comments/')),
        'SCOPE_MISSING',
        'comments carry members: they need members:read',
      );
    });

    test('a pages route given a post id reads nothing: copy is refused and no copy exists', async () => {
      const internal = s.content.posts.find((p) => p.type === 'post' && p.status === 'draft' && p.tags.length === 0)!;
      const k = await key(
        g({ scopes: ['pages:copy', 'pages:read', 'posts:browse', 'posts:read'], constraints: { posts: { tags: ['partner'] } } }),
      );
      const r = await call(k, 'POST', `pages/${internal.id}/copy/`);
      assert.equal(r.status, 404);
      assert.equal(errCode(r), 'RECORD_OUTSIDE_GRANT');
      assert.ok(!r.text.includes(`Body of ${internal.title}`), '!r.text.includes(`Body of ${internal.title}`)');
      assert.equal((await direct.posts.browse({ filter: `title:'${internal.title} (Copy)'`, limit: 5 })).length, 0);
    });

    test('posts bulk routes cannot reach pages: `type` in the filter is refused and the type is added', async () => {
      const page = (await direct.pages.add({ title: `bulk page ${u}`, status: 'draft' })) as Json;
      const k = await key(g({ scopes: ['posts:bulkEdit', 'posts:bulkDestroy'] }));
      const f = encodeURIComponent(`type:page+slug:${page.slug}`);
      assert.equal(errCode(await call(k, 'PUT', `posts/bulk/?filter=${f}`, { bulk: { action: 'feature' } })), 'FILTER_INVALID');
      assert.equal(errCode(await call(k, 'DELETE', `posts/?filter=${f}`)), 'FILTER_INVALID');
      const bySlug = await call(k, 'PUT', `posts/bulk/?filter=${encodeURIComponent(`slug:${page.slug}`)}`, { bulk: { action: 'feature' } });
      assert.equal(bySlug.status, 200);
      const now = (await direct.pages.read({ id: page.id })) as Json;
      assert.equal(now.featured, false, 'the page was not featured');
      const pk = await key(g({ scopes: ['pages:bulkDestroy'] }));
      const post = (await direct.posts.add({ title: `bulk post ${u}`, status: 'draft' })) as Json;
      assert.equal(
        errCode(await call(pk, 'DELETE', `pages/?filter=${encodeURIComponent(`id:'${post.id}'),(type:post`)}`)),
        'FILTER_INVALID',
      );
      assert.equal((await direct.posts.read({ id: post.id })).id, post.id, 'the post still exists');
      // A write with no body takes its data from the query in Ghost: the gateway drops it.
      const feature = await call(k, 'PUT', `posts/bulk/?filter=${encodeURIComponent(`id:'${post.id}'`)}&action=feature`);
      assert.notEqual(feature.status, 200);
      assert.equal((await direct.posts.read({ id: post.id })).featured, false);
      await direct.pages.delete({ id: page.id });
      await direct.posts.delete({ id: post.id });
    });

    test('bulk addTag: an entry without an id is a tag creation with every field sent, judged as one (tags:add, fields.tags)', async () => {
      const post = (await direct.posts.add({ title: `bulk tag ${u}`, status: 'draft' })) as Json;
      const existing = (await direct.tags.add({ name: `Bulk Existing ${u}` })) as Json;
      const path = `posts/bulk/?filter=${encodeURIComponent(`id:'${post.id}'`)}`;
      const tagSlug = (name: string) => name.toLowerCase().replace(/\s+/g, '-');
      const exists = async (slug: string) => (await call('direct', 'GET', `tags/slug/${slug}/`)).status === 200;
      // The review's case: a key without tags:add created a tag with code injection through bulk addTag.
      const noAdd = await key(
        g({ scopes: ['posts:browse', 'posts:bulkEdit'], fields: { tags: { deny: ['codeinjection_head', 'name', 'slug'] } } }),
      );
      const injected = `Injected ${u}`;
      const r1 = await call(noAdd, 'PUT', path, {
        bulk: { action: 'addTag', meta: { tags: [{ name: injected, codeinjection_head: '<script>alert(1)</script>' }] } },
      });
      assert.equal(errCode(r1), 'SCOPE_MISSING');
      assert.equal(await exists(tagSlug(injected)), false, 'no tag was created');
      // An existing tag by id is attached (its other fields are ignored by Ghost).
      const r2 = await call(noAdd, 'PUT', path, { bulk: { action: 'addTag', meta: { tags: [{ id: existing.id }] } } });
      assert.equal(r2.status, 200, r2.text);
      assert.deepEqual(
        ((await direct.posts.read({ id: post.id, include: 'tags' })) as Json).tags.map((t: Json) => t.id),
        [existing.id],
      );
      // With tags:add, the fields.tags rules hold for the fields the created tag would get.
      const withAdd = await key(
        g({ scopes: ['posts:browse', 'posts:bulkEdit', 'tags:add'], fields: { tags: { deny: ['codeinjection_head'] } } }),
      );
      const r3 = await call(withAdd, 'PUT', path, {
        bulk: { action: 'addTag', meta: { tags: [{ name: injected, codeinjection_head: '<script>alert(1)</script>' }] } },
      });
      assert.equal(errCode(r3), 'FIELD_REFUSED');
      assert.equal(await exists(tagSlug(injected)), false);
      const plain = `Bulk Plain ${u}`;
      const r4 = await call(withAdd, 'PUT', path, { bulk: { action: 'addTag', meta: { tags: [{ name: plain }] } } });
      assert.equal(r4.status, 200, r4.text);
      const created = (await call('direct', 'GET', `tags/slug/${tagSlug(plain)}/`)).json.tags[0] as Json;
      assert.equal(created.codeinjection_head, null);
      await direct.posts.delete({ id: post.id });
      for (const id of [existing.id, created.id]) await direct.tags.delete({ id });
    });

    test('a key that renames its anchor tags does not move its boundary', async () => {
      const a = (await direct.tags.add({ name: `Anchor ${u}` })) as Json;
      const b = (await direct.tags.add({ name: `Secret ${u}` })) as Json;
      const pa = (await direct.posts.add({ title: `anchored ${u}`, status: 'draft', tags: [{ id: a.id }] })) as Json;
      const pb = (await direct.posts.add({ title: `secret draft ${u}`, status: 'draft', tags: [{ id: b.id }] })) as Json;
      const k = await key(withOverrides(PRESETS.publisher!.grant, [], { constraints: { posts: { tags: [a.slug] } } }));
      assert.equal(
        (await call(k, 'GET', `posts/?filter=${encodeURIComponent(`slug:${pa.slug}`)}`)).json.posts.length,
        1,
        'pins the anchor on first use',
      );
      // The key may edit tags: it renames its anchor away and the secret tag to the anchor's slug.
      assert.equal((await call(k, 'PUT', `tags/${a.id}/`, { tags: [{ slug: `${a.slug}-old` }] })).status, 200);
      assert.equal((await call(k, 'PUT', `tags/${b.id}/`, { tags: [{ slug: a.slug }] })).status, 200);
      const seen = (await call(k, 'GET', 'posts/?limit=100&filter=status:draft')).json.posts as Json[];
      assert.ok(
        seen.some((p) => p.id === pa.id),
        'the anchored post is still visible',
      );
      assert.ok(!seen.some((p) => p.id === pb.id), 'the secret draft did not come inside');
      assert.equal((await call(k, 'GET', `posts/${pb.id}/`)).status, 404);
      for (const p of [pa, pb]) await direct.posts.delete({ id: p.id });
      for (const t of [a, b]) await direct.tags.delete({ id: t.id });
    });
  });

  describe('side effects through state changes', () => {
    test('"never send email" refuses republishing a post whose newsletter failed; Ghost sends nothing', async () => {
      const created = (await call('direct', 'POST', 'posts/', { posts: [{ title: `newsletter ${u}`, status: 'draft' }] })).json.posts[0];
      const published = (
        await call('direct', 'PUT', `posts/${created.id}/?newsletter=default-newsletter`, {
          posts: [{ status: 'published', updated_at: created.updated_at }],
        })
      ).json.posts[0];
      let email: Json | null = null;
      for (let i = 0; i < 40 && !email; i++) {
        email = (await call('direct', 'GET', `posts/${created.id}/?include=email`)).json.posts[0].email;
        if (!email) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(email, 'Ghost made an email record for the newsletter');
      const draft = (
        await call('direct', 'PUT', `posts/${created.id}/`, { posts: [{ status: 'draft', updated_at: published.updated_at }] })
      ).json.posts[0];
      const k = await key(PRESETS.publisher!.grant);
      const r = await call(k, 'PUT', `posts/${created.id}/`, {
        posts: [{ title: `edited ${u}`, status: 'published', updated_at: draft.updated_at }],
      });
      assert.equal(r.status, 403, r.text);
      assert.equal(errCode(r), 'FIELD_REFUSED');
      const after = (await call('direct', 'GET', `posts/${created.id}/?include=email`)).json.posts[0];
      assert.equal(after.status, 'draft');
      assert.equal(after.email.id, email.id, 'no new email');
      assert.equal(after.email.submitted_at, email.submitted_at, 'and the failed one was not retried');
      await call('direct', 'DELETE', `posts/${created.id}/`);
    });

    test('a key limited to free members cannot create a comped member', async () => {
      const paid = ((await call('direct', 'GET', 'tiers/?limit=all')).json.tiers as Json[]).find((t) => t.type === 'paid')!;
      const k = await key(g({ scopes: ['members:add', 'members:browse'], constraints: { members: { status: ['free'] } } }));
      const email = `comped-${u}@members.lab.ghostgate.test`;
      const r = await call(k, 'POST', 'members/', { members: [{ email, tiers: [{ id: paid.id }] }] });
      assert.equal(errCode(r), 'BODY_OUTSIDE_GRANT');
      assert.equal((await call('direct', 'GET', `members/?filter=${encodeURIComponent(`email:'${email}'`)}`)).json.members.length, 0);
    });

    test('settings answers never show the private site’s password', async () => {
      const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
      const secret = `Lab-private-${u}`;
      await owner.call('PUT', '/settings/', {
        settings: [
          { key: 'is_private', value: true },
          { key: 'password', value: secret },
        ],
      });
      try {
        const k = await key(g({ scopes: ['settings:browse'] }));
        const r = await call(k, 'GET', 'settings/');
        assert.equal(r.status, 200);
        assert.ok(!r.text.includes(secret), 'the password is blanked');
        assert.ok((await call('direct', 'GET', 'settings/')).text.includes(secret), 'Ghost itself answers it in clear');
      } finally {
        await owner.call('PUT', '/settings/', { settings: [{ key: 'is_private', value: false }] });
      }
    });
  });

  describe('an independent review’s findings stay closed', () => {
    test('a child key minted through the key API cannot drop "never send email" or reveal settings secrets', async () => {
      const parent = await key(g({ scopes: ['members:browse', 'members:add', 'settings:browse', 'keys:mint'], sendEmail: false }));
      const mint = (grant: unknown) =>
        fetch(`${gw.url}/ghostgate/v1/keys/`, {
          method: 'POST',
          headers: { authorization: authHeader(parent, '/ghostgate/'), 'content-type': 'application/json' },
          body: JSON.stringify({ keys: [{ name: 'child', grant }] }),
        });
      for (const grant of [
        g({ scopes: ['settings:browse'], revealSettingSecrets: true }),
        g({ scopes: ['members:add'], sendEmail: true }),
      ]) {
        const r = await mint(grant);
        assert.equal(r.status, 403, JSON.stringify(grant));
        assert.equal(((await r.json()) as Json).errors[0].code, 'CHILD_NOT_SUBSET');
      }
      const child = ((await (await mint(g({ scopes: ['members:add'] }))).json()) as Json).keys[0];
      assert.equal(child.grant.sendEmail, false, 'inherited');
      const email = `magic-${u}@members.lab.ghostgate.test`;
      assert.equal(
        errCode(await call(child.key, 'POST', 'members/?send_email=true&email_type=signup', { members: [{ email }] })),
        'FIELD_REFUSED',
      );
      assert.equal((await call('direct', 'GET', `members/?filter=${encodeURIComponent(`email:'${email}'`)}`)).json.members.length, 0);
    });

    test('a redacted post body stays hidden in its revisions and excerpt', async () => {
      const secret = `Secret body ${u}`;
      const lexical = JSON.stringify({
        root: {
          children: [
            {
              children: [{ detail: 0, format: 0, mode: 'normal', style: '', text: secret, type: 'extended-text', version: 1 }],
              direction: 'ltr',
              format: '',
              indent: 0,
              type: 'paragraph',
              version: 1,
            },
          ],
          direction: 'ltr',
          format: '',
          indent: 0,
          type: 'root',
          version: 1,
        },
      });
      const post = (await call('direct', 'POST', 'posts/', { posts: [{ title: `revised ${u}`, status: 'draft', lexical }] })).json.posts[0];
      await call('direct', 'PUT', `posts/${post.id}/?save_revision=true`, {
        posts: [{ title: `revised again ${u}`, updated_at: post.updated_at }],
      });
      const k = await key(g({ scopes: ['posts:browse', 'posts:read'], redact: { posts: ['lexical', 'html', 'plaintext', 'mobiledoc'] } }));
      const r = await call(k, 'GET', `posts/${post.id}/?include=post_revisions&formats=html,plaintext,lexical`);
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.ok(!r.text.includes(secret), 'the body is in no revision and no excerpt');
      assert.ok(
        (await call('direct', 'GET', `posts/${post.id}/?include=post_revisions&formats=lexical`)).text.includes(secret),
        'Ghost itself answers it',
      );
      await call('direct', 'DELETE', `posts/${post.id}/`);
    });

    test('a tag the key may not rename cannot be renamed through a post either; its redacted fields cannot be filtered', async () => {
      const tag = (await direct.tags.add({ name: `Named ${u}` })) as Json;
      const post = (await direct.posts.add({ title: `tag rules ${u}`, status: 'draft', tags: [{ id: tag.id }] })) as Json;
      const k = await key(
        g({
          scopes: ['posts:browse', 'posts:read', 'posts:edit', 'tags:browse', 'tags:read', 'tags:edit', 'tags:add'],
          fields: { tags: { deny: ['name', 'slug'] } },
          redact: { tags: ['description'] },
        }),
      );
      const r = await call(k, 'PUT', `posts/${post.id}/`, {
        posts: [{ tags: [{ id: tag.id, name: `Renamed ${u}`, slug: `renamed-${u}` }], updated_at: post.updated_at }],
      });
      assert.equal(errCode(r), 'FIELD_REFUSED');
      assert.equal((await direct.tags.read({ id: tag.id })).slug, tag.slug);
      for (const f of ["description:~'a'", "tags.description:~'a'"])
        assert.equal(
          errCode(await call(k, 'GET', `${f.startsWith('tags.') ? 'posts' : 'tags'}/?filter=${encodeURIComponent(f)}`)),
          'REDACTED_FIELD_QUERIED',
          f,
        );
      await direct.posts.delete({ id: post.id });
      await direct.tags.delete({ id: tag.id });
    });
  });

  test('differential: filters forwarded in the gateway’s spelling select what Ghost selects for the client’s', async () => {
    const k = await key(g({ scopes: ['posts:browse'] }));
    for (const f of [
      'status:draft',
      'tag:partner,tag:news',
      "title:~'post'+status:[draft,published]",
      'published_at:>now-30d',
      'featured:false+(tag:partner,status:scheduled)',
      "id:-null+slug:-'x'",
    ]) {
      const q = `posts/?limit=100&fields=id&filter=${encodeURIComponent(f)}`;
      const via = (await call(k, 'GET', q)).json.posts?.map((p: Json) => p.id).sort();
      const straight = (await call('direct', 'GET', q)).json.posts?.map((p: Json) => p.id).sort();
      assert.deepEqual(via, straight, f);
    }
  });
});

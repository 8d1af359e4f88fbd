import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { PRESETS } from '../../src/grants/presets.js';
import { GrantSchema } from '../../src/grants/grant.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { lab } from './lab-helper.js';

/**
 * The bypasses a review proved on a real Ghost 6.65, each tried again through
 * the gateway against the lab's Ghost: first sent straight to Ghost with the
 * integration key (Ghost really does the wider thing), then through the
 * gateway with a narrow key (refused, nothing reaches Ghost, Ghost's state
 * unchanged, read back with the integration key).
 */
const A = '/ghost/api/admin';
// UTF-8 reads a draft; UTF-7 (`+ACI-` is a quote) reads a second "status":"published" after it.
const utf7Body = (updatedAt?: string) =>
  `{"posts":[{"status":"draft",${updatedAt ? `"updated_at":"${updatedAt}",` : ''}"title":"utf7 x+ACI-,+ACI-status+ACI-:+ACI-published"}]}`;

describe("the gateway reads a request as the lab's Ghost does: the proven bypasses stay closed", () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  let direct: any;
  const keyFor = async (preset: string) => {
    const { newKeyId, formatKey } = await import('../../src/secrets/keys.js');
    const id = newKeyId();
    const rec = await gw.gateway.store.keys.create({
      id,
      name: preset,
      grant: GrantSchema.parse(PRESETS[preset]!.grant),
      createdAt: Date.now(),
    });
    return formatKey(id, gw.master.keySecret(id, rec.generation));
  };
  const send = (base: string, key: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: authHeader(key), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}),
    });
  const code = async (r: Response) => ((await r.json()) as { errors: { code: string }[] }).errors[0]!.code;

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey });
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
  });

  test('GET /members/UPLOAD/ runs the members CSV export in Ghost; through the gateway a members-reader gets no CSV', async () => {
    const straight = await send(s.url, s.integration.adminKey, 'GET', `${A}/members/UPLOAD/`);
    assert.equal(straight.status, 200);
    assert.match(straight.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(await straight.text(), /email/);

    const reader = await keyFor('members-reader');
    const ok = await send(gw.url, reader, 'GET', `${A}/members/?limit=1`);
    assert.equal(ok.status, 200, 'the key works for what it may do');
    await ok.body?.cancel();
    const before = proxy.seen.length;
    for (const path of ['members/UPLOAD/', 'members/Upload/', 'members/upload', 'members/EVENTS/', 'members/Bulk/', 'members/bulk/']) {
      const r = await send(gw.url, reader, 'GET', `${A}/${path}`);
      assert.doesNotMatch(r.headers.get('content-type') ?? '', /csv/, path);
      const c = await code(r);
      assert.ok(['PATH_CASE', 'PARAM_RESERVED', 'SCOPE_MISSING', 'RESPONSE_UNFILTERABLE'].includes(c), `${path}: ${c}`);
    }
    assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
  });

  test('/posts/EXPORT/, /posts/BULK/ and /pages/BULK/ are refused for keys that hold read and edit only', async () => {
    const writer = await keyFor('drafts-writer');
    const before = proxy.seen.length;
    for (const [method, path, body] of [
      ['GET', 'posts/EXPORT/', undefined],
      ['PUT', 'posts/BULK/?filter=status:draft', '{"bulk":{"action":"publish"}}'],
      ['PUT', 'posts/Bulk/?filter=status:draft', '{"bulk":{"action":"publish"}}'],
      ['PUT', 'pages/BULK/?filter=status:draft', '{"bulk":{"action":"publish"}}'],
    ] as const) {
      const r = await send(gw.url, writer, method, `${A}/${path}`, body ? { 'content-type': 'application/json' } : {}, body);
      assert.equal(r.status, 400, path);
      assert.equal(await code(r), 'PATH_CASE', path);
    }
    assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
  });

  test('a UTF-7 body publishes a post in Ghost; through the gateway a drafts-writer leaves it a draft', async () => {
    // Straight to Ghost: the body the gateway would have checked as a draft publishes.
    const probe = await direct.posts.add({ title: 'utf7 probe', status: 'draft' });
    try {
      const r = await send(
        s.url,
        s.integration.adminKey,
        'PUT',
        `${A}/posts/${probe.id}/`,
        { 'content-type': 'application/json; charset=utf-7' },
        utf7Body(probe.updated_at),
      );
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal((await direct.posts.read({ id: probe.id })).status, 'published', 'Ghost decodes the declared UTF-7');
    } finally {
      await direct.posts.delete({ id: probe.id });
    }

    const writer = await keyFor('drafts-writer');
    const api = new GhostAdminAPI({ url: gw.url, key: writer, version: 'v6.0' });
    const mine = await api.posts.add({ title: 'a drafts-writer draft' });
    try {
      const before = proxy.seen.length;
      for (const charset of ['utf-7', 'UTF-7', 'utf-7-imap', 'utf-16']) {
        const edit = await send(
          gw.url,
          writer,
          'PUT',
          `${A}/posts/${mine.id}/`,
          { 'content-type': `application/json; charset=${charset}` },
          utf7Body(mine.updated_at),
        );
        assert.equal(edit.status, 415, charset);
        assert.equal(await code(edit), 'BODY_ENCODING', charset);
        const add = await send(
          gw.url,
          writer,
          'POST',
          `${A}/posts/`,
          { 'content-type': `application/json; charset=${charset}` },
          utf7Body(),
        );
        assert.equal(await code(add), 'BODY_ENCODING', charset);
      }
      assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
      assert.equal((await direct.posts.read({ id: mine.id })).status, 'draft');
      const published = await direct.posts.browse({ filter: 'status:published', limit: 'all' });
      assert.ok(!published.some((p: any) => p.title.startsWith('utf7')), 'no post was published');
    } finally {
      await direct.posts.delete({ id: mine.id });
    }
  });

  test('a gzip body, which Ghost would inflate, is refused whether the gateway checks it or streams it', async () => {
    const streamed = await keyFor('publisher');
    const writer = await keyFor('drafts-writer');
    const before = proxy.seen.length;
    for (const key of [streamed, writer]) {
      const r = await send(
        gw.url,
        key,
        'POST',
        `${A}/posts/`,
        { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        gzipSync('{"posts":[{"title":"gzip","status":"published"}]}'),
      );
      assert.equal(r.status, 415);
      assert.equal(await code(r), 'BODY_ENCODING');
    }
    assert.equal(proxy.seen.length, before, 'nothing reached Ghost');
  });
});

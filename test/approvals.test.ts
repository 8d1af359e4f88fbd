import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decideApproval } from '../src/admin/approvals.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';
import { runCli, runCliAsync } from './helpers/cli.js';

/**
 * A grant's `confirm`: a held call forwards nothing and opens an approval; once
 * approved, the same call (and only it) is forwarded exactly once. Against a
 * strict fake Ghost that counts what reaches it.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const POST = '5f1a2b3c4d5e6f7a8b9c0d1e';

describe('calls held for a person’s approval (confirm)', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let key: string;
  let keyId: string;

  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/ghost/api/admin/${path}`, {
      method,
      headers: { authorization: authHeader(key), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => ({}))) as { errors?: { code: string; context: string; help: string }[] };
    return { status: res.status, error: json.errors?.[0] };
  };
  const pendingId = (e: { context: string } | undefined) => /approval ([0-9a-f-]{36})/.exec(e?.context ?? '')![1]!;
  const writes = () => ghost.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url} ${r.body.toString()}`);
  const publish = { posts: [{ status: 'published', title: 'Launch', updated_at: '2026-01-01T00:00:00.000Z' }] };

  before(async () => {
    ghost = await startFakeUpstream();
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    ({ key, id: keyId } = await gw.createKey({ version: 1, scopes: ['posts:*'], confirm: ['posts:publish', 'posts:destroy'] }, 'agent'));
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
    ghost.respond = (req, res) => {
      res.writeHead(req.method === 'DELETE' ? 204 : 200, { 'content-type': 'application/json' });
      res.end(req.method === 'DELETE' ? '' : '{"posts":[{"id":"p"}]}');
    };
  });

  test('a publish is held, approved, then forwarded exactly once; its retry needs a new approval', async () => {
    const first = await send('PUT', `posts/${POST}/`, publish);
    assert.deepEqual([first.status, first.error?.code], [403, 'APPROVAL_PENDING']);
    const id = pendingId(first.error);
    assert.match(first.error!.help, new RegExp(`ghostgate approvals approve ${id}`));
    // Asked again before a decision: the same approval, still nothing forwarded.
    assert.equal(pendingId((await send('PUT', `posts/${POST}/`, publish)).error), id);
    assert.deepEqual(writes(), []);
    const approved = await decideApproval({ store: gw.gateway.store }, id, 'approved', Date.now());
    assert.match(approved.summary, /PUT \/posts\/:id id=5f1a2b3c4d5e6f7a8b9c0d1e title "Launch" \(posts:publish\) by key agent/);
    // Another body is another call: not covered by the approval.
    const other = await send('PUT', `posts/${POST}/`, { posts: [{ ...publish.posts[0], title: 'Other' }] });
    assert.equal(other.error?.code, 'APPROVAL_PENDING');
    assert.notEqual(pendingId(other.error), id);
    assert.equal((await send('PUT', `posts/${POST}/`, publish)).status, 200);
    assert.deepEqual(writes(), [`PUT /ghost/api/admin/posts/${POST}/ ${JSON.stringify(publish)}`]);
    const again = await send('PUT', `posts/${POST}/`, publish);
    assert.equal(again.error?.code, 'APPROVAL_PENDING');
    assert.notEqual(pendingId(again.error), id);
    assert.equal(writes().length, 1);
  });

  test('of concurrent retries of one approved call, exactly one is forwarded', async () => {
    const body = { posts: [{ status: 'scheduled', published_at: '2027-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' }] };
    const id = pendingId((await send('PUT', `posts/${POST}/`, body)).error);
    await decideApproval({ store: gw.gateway.store }, id, 'approved', Date.now());
    const results = await Promise.all(Array.from({ length: 8 }, () => send('PUT', `posts/${POST}/`, body)));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    // The others found the approval spent, or the post locked by the one with Ghost (RECORD_BUSY): none forwarded.
    const others = results.filter((r) => r.status !== 200).map((r) => r.error?.code);
    assert.ok(
      others.every((c) => c === 'APPROVAL_PENDING' || c === 'RECORD_BUSY'),
      others.join(', '),
    );
    assert.equal(writes().length, 1);
  });

  test('calls outside confirm go through; a denied call stays refused and opens no new approval', async () => {
    assert.equal((await send('PUT', `posts/${POST}/`, { posts: [{ title: 'a draft edit', updated_at: 'x' }] })).status, 200);
    assert.equal((await send('GET', 'posts/')).status, 200);
    const del = await send('DELETE', `posts/${POST}/`);
    assert.equal(del.error?.code, 'APPROVAL_PENDING');
    const id = pendingId(del.error);
    await decideApproval({ store: gw.gateway.store }, id, 'denied', Date.now());
    await assert.rejects(decideApproval({ store: gw.gateway.store }, id, 'approved', Date.now()), { code: 'INVALID' });
    const pending = (await gw.gateway.store.approvals.list('pending')).length;
    const again = await send('DELETE', `posts/${POST}/`);
    assert.deepEqual([again.status, again.error?.code], [403, 'APPROVAL_DENIED']);
    assert.match(again.error!.context, new RegExp(id));
    assert.equal((await gw.gateway.store.approvals.list('pending')).length, pending, 'no approval was opened for the retry');
    assert.deepEqual(
      writes().map((w) => w.split(' ')[0]),
      ['PUT'],
    );
  });

  test('over MCP the held call is a tool error naming the approval, and the approved retry succeeds once (approved with the CLI)', async () => {
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.url}/ghostgate/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    const args = { id: POST, body: { status: 'published', updated_at: '2026-02-02T00:00:00.000Z' } };
    const held = (await client.callTool({ name: 'edit_post', arguments: args })) as CallToolResult;
    const error = (held.structuredContent as { error: { code: string; context: string; help: string } }).error;
    assert.equal(error.code, 'APPROVAL_PENDING');
    const id = pendingId(error);
    const listed = runCli(dirname(gw.configFile), '--config', gw.configFile, 'approvals', 'list', '--status', 'pending', '--json');
    assert.equal(listed.code, 0, listed.err);
    assert.ok(
      (JSON.parse(listed.out) as { id: string; keyId: string }[]).some((a) => a.id === id && a.keyId === keyId),
      '(JSON.parse(listed.out) as { id: string; keyId: string }[]).some((a) => a.id === id && a.keyId === keyId)',
    );
    const cli = runCli(dirname(gw.configFile), '--config', gw.configFile, 'approvals', 'approve', id, '--json');
    assert.equal(cli.code, 0, cli.err);
    assert.equal(JSON.parse(cli.out).status, 'approved');
    assert.equal(((await client.callTool({ name: 'edit_post', arguments: args })) as CallToolResult).isError, undefined);
    assert.equal(
      (((await client.callTool({ name: 'edit_post', arguments: args })) as CallToolResult).structuredContent as { error: { code: string } })
        .error.code,
      'APPROVAL_PENDING',
    );
    assert.equal(writes().length, 1);
    const twice = runCli(dirname(gw.configFile), '--config', gw.configFile, 'approvals', 'approve', id);
    assert.equal(twice.code, 1);
    await client.close();
  });

  test('the person deciding sees the held call exactly as it would be forwarded, terminal escapes shown as text', async () => {
    const body = { posts: [{ status: 'published', title: 'Hi\u001b[2J\u009b', updated_at: '2026-03-03T00:00:00.000Z' }] };
    const held = await send('PUT', `posts/${POST}/?formats=lexical`, body);
    const id = pendingId(held.error);
    const dir = dirname(gw.configFile);
    const shown = await runCliAsync(dir, '--config', gw.configFile, 'approvals', 'show', id, '--json');
    assert.equal(shown.code, 0, shown.err);
    const { recordVersion, ...call } = (
      JSON.parse(shown.out) as { call: { method: string; pathAndQuery: string; body: string; recordVersion: string } }
    ).call;
    // The record as Ghost has it now, by a hash of it.
    assert.match(recordVersion, /^[0-9a-f]{32}$/);
    assert.deepEqual(call, {
      method: 'PUT',
      pathAndQuery: `/ghost/api/admin/posts/${POST}/?formats=lexical`,
      body: JSON.stringify(body),
      bodyEncoding: 'utf8',
    });
    const text = await runCliAsync(dir, '--config', gw.configFile, 'approvals', 'show', id);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /"status": "published"/);
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal
    assert.doesNotMatch(text.out, /[\u001b\u009b]/);
    assert.match(text.out, /Hi\\u001b\[2J\\u009b/);
    assert.equal((await runCliAsync(dir, '--config', gw.configFile, 'approvals', 'show', 'nope')).code, 1);
  });

  test('a key with 10 calls pending opens no 11th approval, and still answers the ones it has', async () => {
    const { key: busy } = await gw.createKey({ version: 1, scopes: ['posts:*'], confirm: ['posts:destroy'] }, 'busy');
    const del = async (i: number) => {
      const res = await fetch(`${gw.url}/ghost/api/admin/posts/${POST.slice(0, 22)}${i.toString(16).padStart(2, '0')}/`, {
        method: 'DELETE',
        headers: { authorization: authHeader(busy) },
      });
      return { status: res.status, code: ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code };
    };
    for (let i = 0; i < 10; i++) assert.equal((await del(i)).code, 'APPROVAL_PENDING');
    assert.deepEqual(await del(10), { status: 429, code: 'APPROVAL_LIMIT' });
    assert.equal((await del(3)).code, 'APPROVAL_PENDING', 'an open call is still answered');
    assert.deepEqual(writes(), []);
  });

  test('an approval holds for the record as it was when the call was held: once Ghost’s record changed, the call is held anew', async () => {
    let version = '2026-04-04T00:00:00.000Z';
    let caption = 'a harmless caption';
    ghost.respond = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ posts: [{ id: POST, status: 'draft', updated_at: version, feature_image_caption: caption }] }));
    };
    const body = { posts: [{ status: 'published', updated_at: '2026-04-04T00:00:09.000Z' }] };
    const held = await send('PUT', `posts/${POST}/`, body);
    const id = pendingId(held.error);
    const shown = JSON.parse(
      (await runCliAsync(dirname(gw.configFile), '--config', gw.configFile, 'approvals', 'show', id, '--json')).out,
    ) as {
      call: { recordVersion: string };
    };
    assert.match(shown.call.recordVersion, /^[0-9a-f]{32}$/);
    await decideApproval({ store: gw.gateway.store }, id, 'approved', Date.now());
    // Ghost keeps updated_at when an edit touches only a post's meta fields or tags: the version is the whole record.
    caption = '<a href="https://evil.example/">Claim your refund</a>';
    const metaOnly = await send('PUT', `posts/${POST}/`, body);
    assert.equal(metaOnly.error?.code, 'APPROVAL_PENDING');
    assert.notEqual(pendingId(metaOnly.error), id);
    caption = 'a harmless caption';
    // The record changed after the person approved (an edit of the draft): the approval does not cover it.
    version = '2026-04-04T00:00:09.000Z';
    const after = await send('PUT', `posts/${POST}/`, body);
    assert.equal(after.error?.code, 'APPROVAL_PENDING');
    assert.notEqual(pendingId(after.error), id);
    assert.deepEqual(writes(), []);
    version = '2026-04-04T00:00:00.000Z';
    assert.equal((await send('PUT', `posts/${POST}/`, body)).status, 200);
    assert.equal(writes().length, 1);
  });

  test('with a publish item, an edit of a live post is held whatever its body says; of a draft, it goes through', async () => {
    let status = 'published';
    ghost.respond = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ posts: [{ id: POST, status, updated_at: '2026-05-05T00:00:00.000Z' }] }));
    };
    const edit = { posts: [{ title: 'A new headline', updated_at: '2026-05-05T00:00:00.000Z' }] };
    assert.equal((await send('PUT', `posts/${POST}/`, edit)).error?.code, 'APPROVAL_PENDING');
    status = 'draft';
    assert.equal((await send('PUT', `posts/${POST}/`, edit)).status, 200);
    assert.equal(writes().length, 1);
  });

  test('a denial covers the same call however its body is spelt, on that record, for a day; another record asks anew', async () => {
    const body = '{"posts":[{"status":"published","updated_at":"2026-06-06T00:00:00.000Z"}]}';
    const reordered = '{"posts":[{"updated_at":"2026-06-06T00:00:00.000Z","status":"published"}]}';
    const put = async (id: string, text: string) => {
      const res = await fetch(`${gw.url}/ghost/api/admin/posts/${id}/`, {
        method: 'PUT',
        headers: { authorization: authHeader(key), 'content-type': 'application/json' },
        body: text,
      });
      return ((await res.json()) as { errors: { code: string; context: string }[] }).errors[0]!;
    };
    const first = await put(POST, body);
    assert.equal(first.code, 'APPROVAL_PENDING');
    await decideApproval({ store: gw.gateway.store }, pendingId(first), 'denied', Date.now());
    assert.equal((await put(POST, reordered)).code, 'APPROVAL_DENIED');
    const other = `${POST.slice(0, 23)}f`;
    assert.equal((await put(other, body)).code, 'APPROVAL_PENDING');
    assert.deepEqual(writes(), []);
  });
});

import { after, before, describe, test } from 'node:test';
import { dirname } from 'node:path';
import assert from 'node:assert/strict';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { LabState } from '../../src/lab/lab.js';
import { decideApproval } from '../../src/admin/approvals.js';
import { ERRORS } from '../../src/errors/errors.js';
import { PRESETS } from '../../src/grants/presets.js';
import { openSqliteAudit } from '../../src/store/sqlite/sqlite-audit.js';
import type { AuditRow } from '../../src/store/audit.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { runCliAsync } from '../helpers/cli.js';
import { lab } from './lab-helper.js';

type Api = any;
const V = 'v6.0';

/**
 * An AI agent over MCP, with the official MCP TypeScript client, through the
 * gateway in front of the lab's real Ghost: what the agent-writer preset lets an
 * agent do, what it refuses (as tool errors naming the rule, nothing forwarded),
 * that a tool's input smuggles nothing an HTTP request could not (cases of
 * test/attacks through MCP), and that each call is in the audit trail.
 */
describe('an AI agent over MCP against the real Ghost', () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  let direct: Api;
  let writer: { id: string; key: string };
  let agent: Client;
  const created: string[] = [];
  /** Every tool call the agent made, and the outcome it was given ('ok' or the code of its tool error). */
  const calls: { tool: string; outcome: string }[] = [];

  const connect = async (authorization: string) => {
    const client = new Client({ name: 'e2e agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.url}/ghostgate/mcp`), { requestInit: { headers: { authorization } } }),
    );
    return client;
  };
  const outcome = (r: CallToolResult) => (r.isError ? (r.structuredContent as { error: { code: string } }).error.code : 'ok');
  /** Calls a tool as the agent: its outcome, Ghost's answer, and the requests that reached Ghost meanwhile. */
  const call = async (name: string, args: Record<string, unknown>, client = agent) => {
    const before = proxy.seen.length;
    const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
    if (client === agent) calls.push({ tool: name, outcome: outcome(r) });
    const seen = proxy.seen.slice(before);
    return { code: outcome(r), json: r.structuredContent as any, text: (r.content[0] as { text: string }).text, seen };
  };
  /**
   * A refusal of the gateway's own. Nothing but the gateway's own reads reached Ghost (the current
   * record, relation look-ups); `untouched`: not even those, the request was refused on its face.
   */
  const refused = async (name: string, args: Record<string, unknown>, untouched = false) => {
    const r = await call(name, args);
    assert.ok(r.code in ERRORS, `${name} ${JSON.stringify(args)}: ${r.code} ${r.text.slice(0, 300)}`);
    assert.deepEqual(
      r.seen.filter((x) => untouched || x.method !== 'GET'),
      [],
      `${name} reached Ghost`,
    );
    return r;
  };

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey });
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: V });
    writer = await gw.createKey(PRESETS['agent-writer']!.grant, 'agent writer');
    agent = await connect(`Bearer ${writer.key}`);
  });
  after(async () => {
    await agent?.close();
    for (const id of created) await direct.posts.delete({ id }).catch(() => {});
    await gw?.close();
    await proxy?.close();
  });

  test('agent-writer is shown only its tools, with either credential form', async () => {
    const want = ['add_post', 'browse_posts', 'browse_tags', 'edit_post', 'read_post', 'read_tag'];
    assert.deepEqual((await agent.listTools()).tools.map((t) => t.name).sort(), want);
    const byToken = await connect(authHeader(writer.key));
    assert.deepEqual((await byToken.listTools()).tools.map((t) => t.name).sort(), want);
    await byToken.close();
  });

  test('it creates a draft and edits it', async () => {
    const add = await call('add_post', { body: { title: 'Drafted by an agent', status: 'draft' } });
    assert.equal(add.code, 'ok', add.text);
    assert.deepEqual(
      add.seen.map((x) => x.method),
      ['POST'],
    );
    const post = add.json.posts[0];
    created.push(post.id);
    assert.equal(post.status, 'draft');
    const edit = await call('edit_post', { id: post.id, body: { title: 'Drafted by an agent, edited', updated_at: post.updated_at } });
    assert.equal(edit.code, 'ok', edit.text);
    assert.equal((await direct.posts.read({ id: post.id })).title, 'Drafted by an agent, edited');
    const read = await call('read_post', { id: post.id });
    assert.equal(read.json.posts[0].id, post.id);
  });

  test('it cannot publish, schedule or send: a tool error naming the rule, and the post stays a draft', async () => {
    const mine = await direct.posts.read({ id: created[0] });
    const publish = await refused('edit_post', { id: mine.id, body: { status: 'published', updated_at: mine.updated_at } });
    assert.equal(publish.code, 'FIELD_REFUSED');
    assert.match(publish.text, /status/);
    const at = await refused('edit_post', { id: mine.id, body: { published_at: new Date().toISOString(), updated_at: mine.updated_at } });
    assert.equal(at.code, 'FIELD_REFUSED');
    assert.equal((await refused('add_post', { body: { title: 'published at once', status: 'published' } })).code, 'FIELD_REFUSED');
    // The tool does not offer newsletter to this key; sent anyway, the pipeline refuses it as over HTTP.
    const send = await refused('edit_post', { id: mine.id, newsletter: 'default-newsletter', body: { updated_at: mine.updated_at } });
    assert.equal(send.code, 'FIELD_REFUSED');
    assert.equal((await direct.posts.read({ id: mine.id })).status, 'draft');
  });

  test('it cannot read members: the tool is not listed, and calling it anyway is SCOPE_MISSING', async () => {
    const r = await refused('browse_members', {}, true);
    assert.equal(r.code, 'SCOPE_MISSING');
    assert.match(r.text, /members:browse/);
    assert.equal((await refused('read_member', { id: s.content.members[0]!.id }, true)).code, 'SCOPE_MISSING');
  });

  test("it cannot see another author's draft, by id, slug, filter or listing", async () => {
    const other = s.content.posts.find((p) => p.type === 'post' && p.status === 'draft')!;
    assert.equal((await call('read_post', { id: other.id })).code, 'RECORD_OUTSIDE_GRANT');
    assert.equal((await call('read_post', { slug: other.slug })).code, 'RECORD_OUTSIDE_GRANT');
    const filtered = await call('browse_posts', { filter: `id:${other.id}`, limit: 'all' });
    assert.equal(filtered.code, 'ok');
    assert.deepEqual(filtered.json.posts, []);
    const all = await call('browse_posts', { limit: 'all' });
    assert.ok(all.json.posts.length > 0, 'all.json.posts.length > 0');
    for (const p of all.json.posts) assert.ok(created.includes(p.id) && p.status === 'draft', p.title);
  });

  test('a tool input smuggles nothing an HTTP request could not (attack cases through MCP)', async () => {
    // A filter on a redacted field (staff emails are redacted for this key): an oracle, refused.
    assert.equal((await refused('browse_posts', { filter: "authors.email:~'@'" }, true)).code, 'REDACTED_FIELD_QUERIED');
    assert.equal((await refused('browse_posts', { order: 'authors.email asc' }, true)).code, 'REDACTED_FIELD_QUERIED');
    // An include of a relation outside the constraint: tags' post counts would count other authors' posts.
    assert.equal((await refused('browse_tags', { include: 'count.posts' }, true)).code, 'CONSTRAINT_UNENFORCEABLE');
    // Body fields the grant denies.
    const mine = await direct.posts.read({ id: created[0] });
    // (A post an integration creates is the owner's: naming another staff user changes its authors.)
    const editorId = s.staff.Editor.id;
    for (const body of [{ authors: [{ id: editorId }] }, { visibility: 'paid' }, { email_segment: 'status:-free' }]) {
      const r = await refused('edit_post', { id: mine.id, body: { ...body, updated_at: mine.updated_at } });
      assert.equal(r.code, 'FIELD_REFUSED', JSON.stringify(body));
    }
    assert.equal((await refused('add_post', { body: { title: 'by the editor', authors: [{ id: editorId }] } })).code, 'FIELD_REFUSED');
    // A filter that does not parse, and a path parameter that would name another route.
    assert.equal((await refused('browse_posts', { filter: 'status:draft)+(id:-x' }, true)).code, 'FILTER_INVALID');
    assert.equal((await refused('read_post', { id: `${created[0]}/../../members` }, true)).code, 'PATH_AMBIGUOUS');
    assert.equal((await refused('read_post', { id: 'not-an-id' }, true)).code, 'PARAM_INVALID');
    // Asking for another status through the filter gets only what the constraint allows.
    const published = await call('browse_posts', { filter: 'status:published', limit: 'all' });
    assert.deepEqual(published.json.posts, []);
  });

  test("a revoked key's next call is refused, though its client is connected", async () => {
    const k = await gw.createKey(PRESETS['agent-writer']!.grant, 'revoked agent');
    const client = await connect(`Bearer ${k.key}`);
    assert.equal((await call('browse_posts', { limit: 1 }, client)).code, 'ok');
    await gw.gateway.store.keys.revoke(k.id, Date.now());
    const before = proxy.seen.length;
    await assert.rejects(client.callTool({ name: 'browse_posts', arguments: {} }));
    const res = await fetch(`${gw.url}/ghostgate/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'browse_posts', arguments: {} } }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'KEY_REVOKED');
    assert.equal(proxy.seen.length, before);
    await client.close();
  });

  test('the site resource is read through the gateway from Ghost', async () => {
    const site = await agent.readResource({ uri: 'ghostgate://site' });
    const summary = JSON.parse((site.contents[0] as { text: string }).text);
    assert.equal(summary.url.replace(/\/$/, ''), s.url.replace(/\/$/, ''));
    assert.equal(typeof summary.title, 'string');
    assert.equal(typeof summary.locale, 'string');
  });

  test('agent-editor: a publish waits for a person, then happens exactly once', async () => {
    const k = await gw.createKey(PRESETS['agent-editor']!.grant, 'agent editor');
    const editor = await connect(`Bearer ${k.key}`);
    const draft = await call('add_post', { body: { title: 'Waiting for a person', status: 'draft' } }, editor);
    assert.equal(draft.code, 'ok', draft.text);
    const post = draft.json.posts[0];
    created.push(post.id);
    const puts = () => proxy.seen.filter((x) => x.method === 'PUT' && x.url.includes(post.id)).length;
    const args = { id: post.id, body: { status: 'published', title: 'Published by a person', updated_at: post.updated_at } };
    const held = await call('edit_post', args, editor);
    assert.equal(held.code, 'APPROVAL_PENDING');
    assert.equal(puts(), 0);
    assert.equal((await direct.posts.read({ id: post.id })).status, 'draft');
    const id = /approval ([0-9a-f-]{36})/.exec(held.json.error.context)![1]!;
    // The person deciding sees the body and what it changes in Ghost's record now, read from the real Ghost.
    const shown = await runCliAsync(dirname(gw.configFile), '--config', gw.configFile, 'approvals', 'show', id, '--json');
    assert.equal(shown.code, 0, shown.err);
    const seen = JSON.parse(shown.out) as { call: { body: string }; changes?: { field: string; before: unknown; after: unknown }[] };
    assert.deepEqual(JSON.parse(seen.call.body), { posts: [args.body] }, shown.out);
    assert.deepEqual(seen.changes, [
      { field: 'status', before: 'draft', after: 'published' },
      { field: 'title', before: 'Waiting for a person', after: 'Published by a person' },
    ]);
    await decideApproval({ store: gw.gateway.store }, id, 'approved', Date.now());
    const done = await call('edit_post', args, editor);
    assert.equal(done.code, 'ok', done.text);
    assert.equal(done.json.posts[0].status, 'published');
    assert.equal((await direct.posts.read({ id: post.id })).status, 'published');
    // The same call again is held anew: the approval was for one call.
    assert.equal((await call('edit_post', args, editor)).code, 'APPROVAL_PENDING');
    assert.equal(puts(), 1);
    await editor.close();
  });

  test('agent-editor: an approval is for the post as the person saw it; a draft changed after it (its updated_at set ahead to pass Ghost’s collision check) is not published', async () => {
    const k = await gw.createKey(PRESETS['agent-editor']!.grant, 'agent editor 3');
    const editor = await connect(`Bearer ${k.key}`);
    const draft = await call('add_post', { body: { title: 'The title a person reviewed', status: 'draft' } }, editor);
    assert.equal(draft.code, 'ok', draft.text);
    const post = draft.json.posts[0];
    created.push(post.id);
    // A whole second a little ahead: Ghost stores updated_at in whole seconds and compares it with the body's.
    const ahead = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    const publish = { id: post.id, body: { status: 'published', updated_at: new Date(ahead).toISOString() } };
    const held = await call('edit_post', publish, editor);
    assert.equal(held.code, 'APPROVAL_PENDING');
    await decideApproval(
      { store: gw.gateway.store },
      /approval ([0-9a-f-]{36})/.exec(held.json.error.context)![1]!,
      'approved',
      Date.now(),
    );
    // In that very second the agent edits the draft (a draft edit needs no approval): Ghost stamps it with that second.
    await new Promise((r) => setTimeout(r, Math.max(0, ahead + 50 - Date.now())));
    const swap = await call('edit_post', { id: post.id, body: { title: 'A title nobody reviewed', updated_at: post.updated_at } }, editor);
    assert.equal(swap.code, 'ok', swap.text);
    assert.equal(swap.json.posts[0].updated_at, publish.body.updated_at, 'the edit landed in the second the held call names');
    const replay = await call('edit_post', publish, editor);
    assert.equal(replay.code, 'APPROVAL_PENDING', 'the approval was for the post before the edit');
    assert.equal(replay.seen.filter((x) => x.method === 'PUT').length, 0);
    assert.equal((await direct.posts.read({ id: post.id })).status, 'draft');
    await editor.close();
  });

  test('agent-editor: an edit of a live post is held for a person, and code injection is refused outright', async () => {
    const live = await direct.posts.add({ title: 'Live already', status: 'published' });
    created.push(live.id);
    const k = await gw.createKey(PRESETS['agent-editor']!.grant, 'agent editor 4');
    const editor = await connect(`Bearer ${k.key}`);
    const edit = await call('edit_post', { id: live.id, body: { title: 'Changed while live', updated_at: live.updated_at } }, editor);
    assert.equal(edit.code, 'APPROVAL_PENDING');
    const script = await call(
      'edit_post',
      { id: live.id, body: { codeinjection_head: '<script>alert(1)</script>', updated_at: live.updated_at } },
      editor,
    );
    assert.equal(script.code, 'FIELD_REFUSED');
    assert.equal([...edit.seen, ...script.seen].filter((x) => x.method === 'PUT').length, 0);
    const now = await direct.posts.read({ id: live.id });
    assert.deepEqual([now.title, now.codeinjection_head], ['Live already', null]);
    await editor.close();
  });

  test('agent-editor: status sent and a publication time are publishes too (Ghost stores sent as published): both held', async () => {
    // Ghost's own reading first: with the full key, a post added as sent is stored as published.
    const sent = await direct.posts.add({ title: 'Sent straight to Ghost', status: 'sent' });
    created.push(sent.id);
    assert.equal(sent.status, 'published');
    const k = await gw.createKey(PRESETS['agent-editor']!.grant, 'agent editor 2');
    const editor = await connect(`Bearer ${k.key}`);
    const writes = () => proxy.seen.filter((x) => x.method === 'POST' || x.method === 'PUT').length;
    const before = writes();
    assert.equal((await call('add_post', { body: { title: 'Born live via sent', status: 'sent' } }, editor)).code, 'APPROVAL_PENDING');
    const draft = await call('add_post', { body: { title: 'A draft to schedule', status: 'draft' } }, editor);
    assert.equal(draft.code, 'ok', draft.text);
    const post = draft.json.posts[0];
    created.push(post.id);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const moved = await call('edit_post', { id: post.id, body: { published_at: soon, updated_at: post.updated_at } }, editor);
    assert.equal(moved.code, 'APPROVAL_PENDING');
    assert.equal(writes(), before + 1, 'only the draft reached Ghost');
    assert.equal((await direct.posts.read({ id: post.id })).published_at, null);
    await editor.close();
  });

  test('every tool call the agent made is in the audit trail with its decision', async () => {
    assert.ok(calls.length >= 20, `${calls.length} calls`);
    let rows: AuditRow[] = [];
    // The audit writer commits in groups within flushMs: wait for the last call's record.
    for (let i = 0; i < 50; i++) {
      const a = openSqliteAudit(gw.config.audit.path);
      rows = (await a.query({})).filter((r) => r.detail);
      await a.close();
      if (rows.filter((r) => r.keyId === writer.id && r.action === 'tools/call').length >= calls.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const outer = rows.filter((r) => r.keyId === writer.id && r.resource === 'mcp' && r.action === 'tools/call');
    assert.deepEqual(
      outer.map((r) => JSON.parse(r.detail!).tool),
      calls.map((c) => c.tool),
    );
    for (const [i, o] of outer.entries()) {
      // The request the call made: refused ones with their code, allowed reads and writes with Ghost's status.
      // (A path refused before authentication, PATH_AMBIGUOUS or PARAM_INVALID, carries no key id, as over HTTP: the MCP request's record does.)
      const inner = rows.filter((r) => r.resource !== 'mcp' && r.kind !== 'intent' && JSON.parse(r.detail!).call === o.requestId);
      assert.ok(
        inner.every((r) => r.keyId === writer.id || (r.keyId === null && r.decision === 'deny')),
        `${calls[i]!.tool}: ${inner.map((r) => r.code).join()}`,
      );
      assert.equal(inner.length, 1, `${calls[i]!.tool}: ${inner.length} records`);
      const want = calls[i]!.outcome;
      const { decision, code, status } = inner[0]!;
      const seen = `${calls[i]!.tool}: ${decision} ${code} ${status}`;
      if (want === 'ok') assert.ok(decision === 'allow' && code === null && status! < 300, seen);
      // A refusal of the gateway's own, with its code; else Ghost's own error, forwarded and answered.
      else if (want in ERRORS) assert.deepEqual([decision, code], ['deny', want], seen);
      else assert.ok(decision === 'allow' && status! >= 400, seen);
      assert.equal(JSON.parse(inner[0]!.detail!).tool, calls[i]!.tool);
    }
  });
});

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { RequestEvent } from '../src/pipeline/events.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';
import { runCli } from './helpers/cli.js';
import { dirname } from 'node:path';

/**
 * The MCP endpoint against a strict fake Ghost: how it authenticates (every HTTP
 * request, both credential forms, never the upstream's), that a tool call is the
 * HTTP request it stands for (the exact call Ghost sees, once, or nothing), and
 * that each leaves its audit records. test/e2e/mcp.test.ts runs the agent
 * presets against the lab's real Ghost.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';

describe('the MCP endpoint', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let mcp: string;
  const events: RequestEvent[] = [];

  /** One JSON-RPC message by POST, as an MCP client sends it; the HTTP status and body. */
  const rpc = async (authorization: string | undefined, method: string, params: Record<string, unknown> = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await fetch(mcp, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const errorCode = (r: { json: Record<string, any> }) => r.json.errors?.[0]?.code as string | undefined;
  /** A tool result's outcome: 'ok', or the code of its tool error. */
  const toolCode = (result: CallToolResult) =>
    result.isError ? (result.structuredContent as { error: { code: string } }).error.code : 'ok';
  const callCode = (r: { json: Record<string, any> }) => toolCode(r.json.result as CallToolResult);
  const connect = async (authorization: string) => {
    const client = new Client({ name: 'mcp test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { requestInit: { headers: { authorization } } }));
    return client;
  };

  before(async () => {
    ghost = await startFakeUpstream();
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    mcp = `${gw.url}/ghostgate/mcp`;
    gw.gateway.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
    events.length = 0;
    ghost.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":[]}');
    };
  });

  test('the official client lists the tools of the key, with either credential form', async () => {
    const { key } = await gw.createKey(['posts:browse', 'posts:read', 'tags:browse']);
    for (const authorization of [`Bearer ${key}`, authHeader(key)]) {
      const client = await connect(authorization);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['browse_posts', 'browse_tags', 'read_post']);
      const { resources } = await client.listResources();
      assert.deepEqual(resources.map((r) => r.uri).sort(), ['ghostgate://key/grant', 'ghostgate://site', 'ghostgate://tags']);
      await client.close();
    }
    assert.equal(ghost.requests.length, 0);
  });

  test("a tool call is the HTTP request it stands for: Ghost sees it once, with the gateway's credential", async () => {
    const { key } = await gw.createKey(['posts:browse']);
    const client = await connect(`Bearer ${key}`);
    const r = (await client.callTool({ name: 'browse_posts', arguments: { limit: 5, page: 2, fields: 'id,title' } })) as CallToolResult;
    assert.equal(toolCode(r), 'ok');
    assert.deepEqual(r.structuredContent, { posts: [] });
    assert.equal(ghost.requests.length, 1);
    const seen = ghost.requests[0]!;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/ghost/api/admin/posts/?fields=id%2Ctitle&limit=5&page=2');
    assert.match(String(seen.headers.authorization), /^Ghost /);
    assert.ok(
      !String(seen.headers.authorization).includes(key.split(':')[1]!),
      "!String(seen.headers.authorization).includes(key.split(':')[1]!)",
    );
    assert.notEqual(seen.headers.authorization, authHeader(key));
    await client.close();
  });

  test('a call outside the grant is a tool error with the pipeline’s code, and nothing reaches Ghost', async () => {
    const { key } = await gw.createKey(['posts:browse']);
    const client = await connect(`Bearer ${key}`);
    const r = (await client.callTool({ name: 'edit_post', arguments: { id: ID, body: { title: 'x' } } })) as CallToolResult;
    assert.equal(toolCode(r), 'SCOPE_MISSING');
    assert.match(JSON.stringify(r.structuredContent), /posts:edit/);
    // Another spelling of a path through the tool's id is refused by the canonicaliser as over HTTP.
    assert.equal(
      toolCode((await client.callTool({ name: 'browse_posts', arguments: { filter: 'tag:x)' } })) as CallToolResult),
      'FILTER_INVALID',
    );
    const { key: reader } = await gw.createKey(['posts:read']);
    const c2 = await connect(`Bearer ${reader}`);
    assert.equal(
      toolCode((await c2.callTool({ name: 'read_post', arguments: { id: '../integrations' } })) as CallToolResult),
      'PATH_AMBIGUOUS',
    );
    assert.equal(toolCode((await c2.callTool({ name: 'read_post', arguments: { id: '..' } })) as CallToolResult), 'MCP_TOOL_INPUT');
    assert.equal(
      toolCode((await c2.callTool({ name: 'read_post', arguments: { id: ID, debug: 'true' } })) as CallToolResult),
      'MCP_TOOL_INPUT',
    );
    assert.equal(toolCode((await c2.callTool({ name: 'export_everything', arguments: {} })) as CallToolResult), 'MCP_TOOL_UNKNOWN');
    assert.equal(ghost.requests.length, 0);
    await client.close();
    await c2.close();
  });

  test('the upstream credential, a wrong secret and an unknown scheme are refused before any tool runs', async () => {
    const { key } = await gw.createKey(['posts:browse']);
    const [id] = key.split(':');
    assert.equal(errorCode(await rpc(`Bearer ${UPSTREAM_KEY}`, 'tools/list')), 'TOKEN_SIGNATURE');
    assert.equal(errorCode(await rpc(authHeader(UPSTREAM_KEY), 'tools/list')), 'TOKEN_SIGNATURE');
    assert.equal(errorCode(await rpc(`Bearer ${id}:${'0'.repeat(64)}`, 'tools/list')), 'TOKEN_SIGNATURE');
    assert.equal(errorCode(await rpc(`Basic ${Buffer.from(key).toString('base64')}`, 'tools/list')), 'AUTH_SCHEME');
    assert.equal(errorCode(await rpc(undefined, 'tools/call', { name: 'browse_posts', arguments: {} })), 'AUTH_MISSING');
    // A token for the gateway's own key API is not one for the Admin API, here as on Ghost's paths.
    assert.equal(errorCode(await rpc(authHeader(key, '/ghostgate/'), 'tools/list')), 'TOKEN_AUDIENCE');
    const r = await rpc(`Bearer ${key}`, 'tools/list');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.result.tools.map((t: { name: string }) => t.name),
      ['browse_posts'],
    );
    assert.equal(ghost.requests.length, 0);
  });

  test('a revoked key is refused on its next message, though its client connected before', async () => {
    const { id, key } = await gw.createKey(['posts:browse']);
    const client = await connect(`Bearer ${key}`);
    assert.equal(toolCode((await client.callTool({ name: 'browse_posts', arguments: {} })) as CallToolResult), 'ok');
    await gw.gateway.store.keys.revoke(id, Date.now());
    await assert.rejects(client.callTool({ name: 'browse_posts', arguments: {} }));
    assert.equal(errorCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'KEY_REVOKED');
    assert.equal(ghost.requests.length, 1);
    await client.close();
  });

  test("a key's IP allowlist and its parent's revocation hold on the MCP endpoint", async () => {
    const { key } = await gw.createKey(['posts:browse'], 'far away', { limits: { ipAllow: ['10.0.0.0/8'] } });
    assert.equal(errorCode(await rpc(`Bearer ${key}`, 'tools/list')), 'IP_NOT_ALLOWED');
    const parent = await gw.createKey(['posts:browse'], 'parent');
    const child = await gw.createKey(['posts:browse'], 'child', { parentId: parent.id });
    assert.equal((await rpc(`Bearer ${child.key}`, 'tools/list')).status, 200);
    await gw.gateway.store.keys.revoke(parent.id, Date.now());
    assert.equal(errorCode(await rpc(`Bearer ${child.key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'KEY_REVOKED');
    assert.equal(ghost.requests.length, 0);
  });

  test('a tool call counts once against the key’s rate, as the request it makes', async () => {
    const { key } = await gw.createKey(['posts:browse'], 'slow', { limits: { rate: { perMinute: 3 } } });
    for (let i = 0; i < 3; i++)
      assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'ok');
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'RATE_LIMITED');
    // Other messages are counted themselves.
    assert.equal(errorCode(await rpc(`Bearer ${key}`, 'tools/list')), 'RATE_LIMITED');
    assert.equal(ghost.requests.length, 3);
  });

  test('a message that sends no request with the key counts itself: unknown tools, refused input and the site resource', async () => {
    const { key } = await gw.createKey(['posts:browse', 'posts:read'], 'chatty', { limits: { rate: { perMinute: 5 } } });
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'no_such_tool', arguments: {} })), 'MCP_TOOL_UNKNOWN');
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: { nope: 1 } })), 'MCP_TOOL_INPUT');
    ghost.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ site: { title: 'T', url: 'http://x/', locale: 'en', version: '6.65' } }));
    };
    assert.ok(
      (await rpc(`Bearer ${key}`, 'resources/read', { uri: 'ghostgate://site' })).json.result,
      "(await rpc(`Bearer ${key}`, 'resources/read', { uri: 'ghostgate://site' })).json.result",
    );
    // A call whose request the pipeline refuses before it knows the key (an id that is no id): counted after.
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'read_post', arguments: { id: 'ZZ' } })), 'PARAM_INVALID');
    // Foreseen to send, refused by the SDK's own check of the message: counted after the fact.
    assert.ok(
      (await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {}, _meta: 'x' })).json.error,
      "(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {}, _meta: 'x' })).json.error",
    );
    const over = await rpc(`Bearer ${key}`, 'tools/call', { name: 'no_such_tool', arguments: {} });
    assert.deepEqual([over.status, errorCode(over)], [429, 'RATE_LIMITED']);
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'RATE_LIMITED');
    assert.equal(ghost.requests.filter((r) => r.url.includes('/posts/')).length, 0);
  });

  test('a daily quota counts MCP messages like requests', async () => {
    const { key } = await gw.createKey(['posts:browse'], 'daily', { limits: { dailyQuota: 2 } });
    assert.ok((await rpc(`Bearer ${key}`, 'tools/list')).json.result, "(await rpc(`Bearer ${key}`, 'tools/list')).json.result");
    assert.equal(callCode(await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} })), 'ok');
    assert.equal(errorCode(await rpc(`Bearer ${key}`, 'tools/list')), 'QUOTA_EXCEEDED');
  });

  test('each tool call leaves the audit record of its request, with its decision, the tool and the MCP request it came from', async () => {
    const { id, key } = await gw.createKey(['posts:browse']);
    await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} });
    await rpc(`Bearer ${key}`, 'tools/call', { name: 'destroy_post', arguments: { id: ID } });
    await rpc(`Bearer ${key}`, 'tools/call', { name: 'read_post', arguments: { slug: 'a', id: ID } });
    const outer = events.filter((e) => e.resource === 'mcp');
    const inner = events.filter((e) => e.resource !== 'mcp');
    assert.deepEqual(
      outer.map((e) => [e.route, e.action, e.decision, e.code, JSON.parse(e.detail!).tool, e.keyId]),
      [
        ['POST /ghostgate/mcp', 'tools/call', 'allow', null, 'browse_posts', id],
        ['POST /ghostgate/mcp', 'tools/call', 'allow', null, 'destroy_post', id],
        ['POST /ghostgate/mcp', 'tools/call', 'deny', 'MCP_TOOL_INPUT', 'read_post', id],
      ],
    );
    assert.deepEqual(
      inner.map((e) => [e.route, e.decision, e.code, e.keyId, JSON.parse(e.detail!)]),
      [
        ['GET /posts', 'allow', null, id, { via: 'mcp', tool: 'browse_posts', call: outer[0]!.requestId }],
        ['DELETE /posts/:id', 'deny', 'SCOPE_MISSING', id, { via: 'mcp', tool: 'destroy_post', call: outer[1]!.requestId }],
      ],
    );
  });

  test('a request over HTTP carries no MCP detail, whatever its headers claim', async () => {
    const { key } = await gw.createKey(['posts:browse']);
    const res = await fetch(`${gw.url}/ghost/api/admin/posts/`, {
      headers: { authorization: authHeader(key), 'user-agent': 'ghostgate-mcp' },
    });
    assert.equal(res.status, 200);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.detail, undefined);
  });

  test('the audit names a JSON-RPC method only when it is the protocol’s, so a caller cannot write free text into it', async () => {
    const { key } = await gw.createKey(['posts:browse']);
    const wrong = `Bearer ${key.split(':')[0]}:${'0'.repeat(64)}`;
    // Without a credential of the right form the body is not read at all.
    await rpc(undefined, 'tools/list');
    await rpc(wrong, 'tools/list');
    await rpc(wrong, `x${'y'.repeat(500)}`);
    await rpc(`Bearer ${key}`, 'anything/at-all');
    assert.deepEqual(
      events.map((e) => [e.action, e.decision, e.code]),
      [
        [null, 'deny', 'AUTH_MISSING'],
        ['tools/list', 'deny', 'TOKEN_SIGNATURE'],
        ['other', 'deny', 'TOKEN_SIGNATURE'],
        ['other', 'allow', null],
      ],
    );
  });

  test('GET and DELETE on the endpoint are refused: it keeps no stream and no session', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(mcp, { method, headers: { accept: 'text/event-stream' } });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MCP_METHOD_NOT_ALLOWED');
    }
    assert.deepEqual(
      events.map((e) => [e.decision, e.code]),
      [
        ['deny', 'MCP_METHOD_NOT_ALLOWED'],
        ['deny', 'MCP_METHOD_NOT_ALLOWED'],
      ],
    );
  });

  test("the grant resource says the key's rules in words; the site resource is GET /site/ through the pipeline", async () => {
    const { key } = await gw.createKey({ version: 1, scopes: ['posts:browse'], constraints: { posts: { status: ['draft'] } } }, 'drafts');
    ghost.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ site: { title: 'T', url: 'http://x/', locale: 'en', version: '6.65', icon: null } }));
    };
    const client = await connect(`Bearer ${key}`);
    const grant = await client.readResource({ uri: 'ghostgate://key/grant' });
    const text = (grant.contents[0] as { text: string }).text;
    assert.match(text, /scopes: posts:browse/);
    assert.match(text, /status draft/);
    assert.match(text, /Tools: browse_posts\./);
    assert.equal(ghost.requests.length, 0);
    const site = await client.readResource({ uri: 'ghostgate://site' });
    assert.deepEqual(JSON.parse((site.contents[0] as { text: string }).text), {
      title: 'T',
      url: 'http://x/',
      locale: 'en',
      version: '6.65',
    });
    assert.deepEqual(
      ghost.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /ghost/api/admin/site/'],
    );
    // The key holds no tags:browse, so it is offered no tags resource, and reading it anyway reads nothing.
    assert.ok(
      !(await client.listResources()).resources.some((r) => r.uri === 'ghostgate://tags'),
      "!(await client.listResources()).resources.some((r) => r.uri === 'ghostgate://tags')",
    );
    await assert.rejects(client.readResource({ uri: 'ghostgate://tags' }));
    assert.equal(ghost.requests.length, 1);
    await client.close();
  });

  test('the tags resource is GET /tags/ with the caller’s credential, so within its grant; a refusal is the read’s error', async () => {
    const { id, key } = await gw.createKey(['tags:browse']);
    ghost.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tags":[{"id":"t","name":"News","slug":"news"}]}');
    };
    const client = await connect(`Bearer ${key}`);
    const tags = await client.readResource({ uri: 'ghostgate://tags' });
    assert.deepEqual(JSON.parse((tags.contents[0] as { text: string }).text), { tags: [{ id: 't', name: 'News', slug: 'news' }] });
    assert.deepEqual(
      ghost.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /ghost/api/admin/tags/?fields=id%2Cname%2Cslug&limit=all'],
    );
    const inner = events.find((e) => e.route === 'GET /tags')!;
    assert.deepEqual([inner.keyId, inner.decision, JSON.parse(inner.detail!).tool], [id, 'allow', 'resource:tags']);
    await gw.gateway.store.keys.revoke(id, Date.now());
    await assert.rejects(client.readResource({ uri: 'ghostgate://tags' }));
    assert.equal(ghost.requests.length, 1);
    await client.close();
  });

  test("`audit verify` holds over records carrying MCP detail (the detail is part of each record's hash)", async () => {
    const { key } = await gw.createKey(['posts:browse']);
    await rpc(`Bearer ${key}`, 'tools/call', { name: 'browse_posts', arguments: {} });
    await new Promise((r) => setTimeout(r, 300)); // the audit writer's group commit
    const r = runCli(dirname(gw.configFile), '--config', gw.configFile, 'audit', 'verify', '--json');
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(JSON.parse(r.out).ok, true);
  });
});

test('with mcp.enabled false the endpoint is not served: a message is answered as any path the gateway does not serve', async () => {
  const ghost = await startFakeUpstream();
  const gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, extra: { mcp: { enabled: false } } });
  try {
    const { key } = await gw.createKey(['posts:browse']);
    const res = await fetch(`${gw.url}/ghostgate/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    const body = (await res.json()) as { errors?: { code: string }[]; result?: unknown };
    assert.equal(body.result, undefined);
    assert.equal(res.status, 403);
    assert.equal(body.errors?.[0]?.code, 'ROUTE_UNKNOWN');
    assert.equal(ghost.requests.length, 0);
  } finally {
    await gw.close();
    await ghost.close();
  }
});

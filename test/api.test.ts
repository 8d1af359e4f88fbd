import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openAudit } from '../src/admin/context.js';
import type { FakeUpstream } from './helpers/fake-upstream.js';
import type { TestGateway } from './helpers/gateway.js';
import { adminToken, apiClient, startApiGateway } from './helpers/admin-api.js';

/**
 * The management API (src/api/, docs/api.md) on a real gateway process in front of a strict fake
 * Ghost: every route answers, authentication is required (no token, wrong scope, revoked and expired
 * tokens), bad input is refused in Ghost's envelope with a stable code, and every change and every
 * refusal leaves one audit record with the admin's identity and never a secret.
 */
describe('the management API', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let close: () => Promise<void>;
  let api: ReturnType<typeof apiClient>;
  let read: string;
  let write: string;
  let writeId: string;

  before(async () => {
    ({ ghost, gw, close } = await startApiGateway());
    api = apiClient(gw.url);
    read = (await adminToken(gw.gateway.store, 'admin:read')).token;
    const w = await adminToken(gw.gateway.store, 'admin:write', 'deploy bot');
    write = w.token;
    writeId = w.id;
  });
  after(async () => {
    await close?.();
  });

  /** The audit records of admin actions (each change's outcome; its intent is checked below), newest last. */
  const adminRecords = async () => {
    await new Promise((r) => setTimeout(r, 60));
    const a = await openAudit(gw.config);
    try {
      return (await a.query({})).filter(
        (r) => r.kind !== 'intent' && r.detail && (JSON.parse(r.detail) as { via?: string }).via === 'admin',
      );
    } finally {
      await a.close();
    }
  };
  const code = (r: { json: { errors?: { code: string }[] } }) => r.json.errors?.[0]?.code;

  test('authentication is required: no token, another scheme, a malformed, unknown, revoked or expired token are refused and audited', async () => {
    assert.equal(code(await api('GET', '/ghostgate/v1/keys')), 'ADMIN_AUTH_MISSING');
    assert.equal(code(await api('GET', '/ghostgate/v1/keys', { auth: 'Basic abc' })), 'ADMIN_AUTH_MISSING');
    assert.equal(code(await api('GET', '/ghostgate/v1/keys', { token: 'ggadm_nope' })), 'ADMIN_TOKEN_INVALID');
    const unknown = `ggadm_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('hex')}`;
    assert.equal(code(await api('GET', '/ghostgate/v1/keys', { token: unknown })), 'ADMIN_TOKEN_INVALID');
    // The right id with another secret is the same answer as an unknown id.
    const wrongSecret = `${write.slice(0, 'ggadm_'.length + 25)}${'0'.repeat(64)}`;
    const r = await api('GET', '/ghostgate/v1/keys', { token: wrongSecret });
    assert.deepEqual([r.status, code(r), r.json.errors[0].type], [401, 'ADMIN_TOKEN_INVALID', 'UnauthorizedError']);
    const revoked = await adminToken(gw.gateway.store, 'admin:write', 'revoked');
    assert.equal((await api('GET', '/ghostgate/v1/presets', { token: revoked.token })).status, 200);
    await gw.gateway.store.adminTokens.revoke(revoked.id, Date.now());
    assert.equal(code(await api('GET', '/ghostgate/v1/presets', { token: revoked.token })), 'ADMIN_TOKEN_REVOKED');
    const expired = await adminToken(gw.gateway.store, 'admin:read', 'expiring', Date.now() + 150);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(code(await api('GET', '/ghostgate/v1/presets', { token: expired.token })), 'ADMIN_TOKEN_EXPIRED');
    const rows = (await adminRecords()).filter((x) => x.decision === 'deny' && x.route === 'GET /ghostgate/v1/keys');
    assert.ok(rows.length >= 5, 'every refused attempt is audited');
    for (const x of rows) {
      assert.equal(x.keyId, null);
      assert.doesNotMatch(x.detail!, /ggadm_/, 'never a token in the audit');
    }
  });

  test('an admin:read token may only GET: changes are refused with ADMIN_SCOPE_MISSING and audited with its identity', async () => {
    const r = await api('POST', '/ghostgate/v1/keys', { token: read, body: { keys: [{ name: 'x', scopes: ['posts:browse'] }] } });
    assert.deepEqual([r.status, code(r)], [403, 'ADMIN_SCOPE_MISSING']);
    assert.equal((await gw.gateway.store.keys.list()).length, 0, 'nothing was created');
    const row = (await adminRecords()).find((x) => x.code === 'ADMIN_SCOPE_MISSING')!;
    assert.equal(row.route, 'POST /ghostgate/v1/keys');
    assert.equal(JSON.parse(row.detail!).actor.kind, 'token');
    assert.equal(JSON.parse(row.detail!).action, 'keys.add');
  });

  test('keys: create from a preset, list with filters, show, update name and limits, rotate, children, revoke; each change audited with the actor', async () => {
    const created = await api('POST', '/ghostgate/v1/keys', {
      token: write,
      body: { keys: [{ name: 'Zapier reader', preset: 'content-reader', scopes: ['members:browse'], expires_at: '2099-01-01T00:00:00Z' }] },
    });
    assert.equal(created.status, 201, created.text);
    const k = created.json.keys[0];
    assert.match(k.key, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
    assert.deepEqual([k.name, k.presets, k.grant.scopes.includes('members:browse')], ['Zapier reader', ['content-reader'], true]);
    const child = await api('POST', '/ghostgate/v1/keys', {
      token: write,
      body: { keys: [{ name: 'child', scopes: ['posts:browse'], parent_id: k.id }] },
    });
    assert.equal(child.status, 201, child.text);
    await api('POST', '/ghostgate/v1/keys', { token: write, body: { keys: [{ name: 'other', scopes: ['tags:browse'] }] } });

    const list = async (q: string) =>
      (await api('GET', `/ghostgate/v1/keys${q}`, { token: read })).json.keys.map((x: { name: string }) => x.name);
    assert.deepEqual(await list(''), ['Zapier reader', 'child', 'other']);
    assert.deepEqual(await list('?search=zap'), ['Zapier reader']);
    assert.deepEqual(await list('?preset=content-reader'), ['Zapier reader']);
    assert.deepEqual(await list(`?parent=${k.id}`), ['child']);
    assert.deepEqual(await list('?status=revoked'), []);
    assert.equal(code(await api('GET', '/ghostgate/v1/keys?preset=nope', { token: read })), 'ADMIN_INVALID');
    assert.equal(code(await api('GET', '/ghostgate/v1/keys?status=maybe', { token: read })), 'API_VALIDATION');
    assert.equal(code(await api('GET', '/ghostgate/v1/keys?search=a&search=b', { token: read })), 'API_VALIDATION');

    const shown = await api('GET', `/ghostgate/v1/keys/${k.id}`, { token: read });
    assert.deepEqual(shown.json.keys[0].uses, { spent: 0, reserved: 0, unknown: 0 });
    assert.equal(shown.json.keys[0].key, undefined, 'a key is never shown again');
    assert.equal(code(await api('GET', `/ghostgate/v1/keys/${'f'.repeat(24)}`, { token: read })), 'ADMIN_NOT_FOUND');
    assert.equal(code(await api('GET', '/ghostgate/v1/keys/not-an-id', { token: read })), 'API_VALIDATION');

    const edited = await api('PUT', `/ghostgate/v1/keys/${k.id}`, {
      token: write,
      body: { keys: [{ name: 'Zapier', limits: { ipAllow: ['10.0.0.0/8'], dailyQuota: 100 } }] },
    });
    assert.equal(edited.status, 200, edited.text);
    assert.deepEqual([edited.json.keys[0].name, edited.json.keys[0].limits], ['Zapier', { ipAllow: ['10.0.0.0/8'], dailyQuota: 100 }]);
    assert.deepEqual(edited.json.keys[0].grant, k.grant, 'the grant never changes');
    assert.equal(
      code(await api('PUT', `/ghostgate/v1/keys/${k.id}`, { token: write, body: { keys: [{ limits: { ipAllow: ['nonsense'] } }] } })),
      'ADMIN_INVALID',
    );
    assert.equal(
      code(await api('PUT', `/ghostgate/v1/keys/${k.id}`, { token: write, body: { keys: [{ grant: { version: 1, scopes: ['*'] } }] } })),
      'API_VALIDATION',
      'a grant cannot be changed by an update',
    );

    const children = await api('GET', `/ghostgate/v1/keys/${k.id}/children`, { token: read });
    assert.deepEqual(
      children.json.keys.map((x: { id: string }) => x.id),
      [child.json.keys[0].id],
    );
    const rotated = await api('POST', `/ghostgate/v1/keys/${k.id}/rotate`, { token: write, body: { grace_seconds: 0 } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.json.keys[0].key, k.key);
    assert.equal(rotated.json.keys[0].generation, 2);
    const advice = await api('GET', `/ghostgate/v1/keys/${k.id}/advice?since=7d`, { token: read });
    assert.deepEqual([advice.status, advice.json.advice.requests], [200, 0]);

    const revoked = await api('POST', `/ghostgate/v1/keys/${k.id}/revoke`, { token: write });
    assert.equal(revoked.status, 200, revoked.text);
    assert.deepEqual(new Set(revoked.json.revoked), new Set([k.id, child.json.keys[0].id]));
    assert.equal(code(await api('POST', `/ghostgate/v1/keys/${k.id}/rotate`, { token: write })), 'ADMIN_NOT_FOUND');

    const rows = await adminRecords();
    const allowed = rows
      .filter((x) => x.decision === 'allow')
      .map((x) => [x.route, JSON.parse(x.detail!).action, JSON.parse(x.detail!).target]);
    assert.deepEqual(allowed.slice(0, 6), [
      ['POST /ghostgate/v1/keys', 'keys.add', k.id],
      ['POST /ghostgate/v1/keys', 'keys.add', child.json.keys[0].id],
      ['POST /ghostgate/v1/keys', 'keys.add', allowed[2]![2]],
      ['PUT /ghostgate/v1/keys/:id', 'keys.edit', k.id],
      ['POST /ghostgate/v1/keys/:id/rotate', 'keys.rotate', k.id],
      ['POST /ghostgate/v1/keys/:id/revoke', 'keys.revoke', k.id],
    ]);
    for (const x of rows) {
      assert.deepEqual(JSON.parse(x.detail!).actor === null || JSON.parse(x.detail!).actor.kind === 'token', true);
      assert.doesNotMatch(JSON.stringify(x), /[0-9a-f]{24}:[0-9a-f]{64}|ggadm_/, 'never a key or a token in the audit');
    }
    assert.equal(JSON.parse(rows.find((x) => x.decision === 'allow')!.detail!).actor.id, writeId);
    assert.equal(rows.filter((x) => x.method === 'GET' && x.decision === 'allow').length, 0, 'reads of the API are not recorded');
  });

  test('validation errors are answered in the envelope: a bad body, an unknown preset or scope, an escalation without allow_escalation', async () => {
    const post = (body: unknown) => api('POST', '/ghostgate/v1/keys', { token: write, body });
    const bad = await post({ keys: [{ name: '' }] });
    assert.deepEqual([bad.status, code(bad), bad.json.errors[0].type], [422, 'API_VALIDATION', 'ValidationError']);
    assert.match(bad.json.errors[0].context, /^body\.keys\.0\.name/);
    assert.equal(code(await post({ keys: [{ name: 'x' }] })), 'API_VALIDATION', 'a preset, scopes or a grant');
    assert.equal(code(await post('{"keys": [')), 'BODY_INVALID');
    assert.equal(code(await post({ keys: [{ name: 'x', preset: 'nope' }] })), 'ADMIN_INVALID');
    assert.equal(code(await post({ keys: [{ name: 'x', scopes: ['posts:fly'] }] })), 'ADMIN_INVALID');
    assert.equal(code(await post({ keys: [{ name: 'x', scopes: ['themes:upload'] }] })), 'ADMIN_INVALID');
    assert.equal((await post({ keys: [{ name: 'x', scopes: ['themes:upload'], allow_escalation: true }] })).status, 201);
    assert.equal(code(await post({ keys: [{ name: 'x', scopes: ['posts:browse'], extra: 1 }] })), 'API_VALIDATION');
    assert.equal(code(await api('POST', '/ghostgate/v1/approvals/x/approve', { token: write, body: { a: 1 } })), 'API_VALIDATION');
    const unknownRoute = await api('GET', '/ghostgate/v1/nothing', { token: read });
    assert.deepEqual([unknownRoute.status, code(unknownRoute)], [404, 'API_ROUTE_UNKNOWN']);
    const wrongMethod = await api('DELETE', '/ghostgate/v1/keys', { token: write });
    assert.deepEqual(
      [wrongMethod.status, code(wrongMethod), wrongMethod.headers.get('allow')],
      [405, 'API_METHOD_NOT_ALLOWED', 'GET, POST'],
    );
  });

  test('presets, catalog, explain, audit query, export and verify, upstream, health', async () => {
    const presets = await api('GET', '/ghostgate/v1/presets', { token: read });
    assert.ok(
      presets.json.presets.some((p: { name: string }) => p.name === 'drafts-writer'),
      "presets.json.presets.some((p: { name: string }) => p.name === 'drafts-writer')",
    );
    const routes = await api('GET', '/ghostgate/v1/catalog/routes', { token: read });
    assert.ok(
      routes.json.routes.some((r: { scope: string }) => r.scope === 'posts:browse'),
      "routes.json.routes.some((r: { scope: string }) => r.scope === 'posts:browse')",
    );
    const scopes = await api('GET', '/ghostgate/v1/catalog/scopes', { token: read });
    const posts = scopes.json.resources.find((r: { resource: string }) => r.resource === 'posts');
    assert.ok(
      posts.scopes.some((s: { scope: string; routes: string[] }) => s.scope === 'posts:browse' && s.routes.includes('GET /posts')),
      "posts.scopes.some((s: { scope: string; routes: string[] }) => s.scope === 'posts:browse' && s.routes.includes('GET /posts'))",
    );

    const { id } = await gw.createKey(['posts:browse'], 'explained');
    const explain = (q: string) => api('GET', `/ghostgate/v1/explain?key=${id}&${q}`, { token: read });
    const allowed = await explain('method=GET&path=/posts/');
    assert.deepEqual([allowed.status, allowed.json.explanation.decision], [200, 'allow']);
    const denied = await explain('method=POST&path=/posts/');
    assert.deepEqual([denied.json.explanation.decision, denied.json.explanation.code], ['deny', 'SCOPE_MISSING']);
    assert.equal(code(await explain('method=GET&path=/posts/&body=%7Bnot')), 'API_VALIDATION');
    assert.equal(
      code(await api('GET', `/ghostgate/v1/explain?key=${'e'.repeat(24)}&method=GET&path=/posts/`, { token: read })),
      'ADMIN_NOT_FOUND',
    );

    const q = await api('GET', '/ghostgate/v1/audit?decision=deny&limit=5', { token: read });
    assert.equal(q.status, 200, q.text);
    assert.ok(q.json.audit.length > 0 && q.json.audit.length <= 5, 'q.json.audit.length > 0 && q.json.audit.length <= 5');
    assert.ok(
      q.json.audit.every((r: { decision: string }) => r.decision === 'deny'),
      "q.json.audit.every((r: { decision: string }) => r.decision === 'deny')",
    );
    const jsonl = await api('GET', '/ghostgate/v1/audit/export', { token: read });
    assert.match(jsonl.headers.get('content-type')!, /^application\/x-ndjson/);
    const lines = jsonl.text.trim().split('\n');
    assert.ok(
      lines.length > 5 && lines.every((l) => typeof JSON.parse(l).hash === 'string'),
      "lines.length > 5 && lines.every((l) => typeof JSON.parse(l).hash === 'string')",
    );
    assert.equal(jsonl.headers.get('ghostgate-next-after'), null, 'the whole trail fits one page');
    // Pages of two: each names where the next begins; together they are the whole export, in order.
    const paged: string[] = [];
    let after: string | null = '';
    for (let i = 0; after !== null && i < 100; i++) {
      const page = await api('GET', `/ghostgate/v1/audit/export?limit=2${after ? `&after=${after}` : ''}`, { token: read });
      paged.push(...page.text.trim().split('\n').filter(Boolean));
      after = page.headers.get('ghostgate-next-after');
    }
    assert.deepEqual(paged.slice(0, lines.length), lines);
    assert.equal(code(await api('GET', '/ghostgate/v1/audit/export?limit=10001', { token: read })), 'API_VALIDATION');
    assert.equal(code(await api('GET', '/ghostgate/v1/audit?limit=10001', { token: read })), 'API_VALIDATION');
    const csv = await api('GET', '/ghostgate/v1/audit/export?format=csv&since=1h', { token: read });
    assert.match(csv.headers.get('content-type')!, /^text\/csv/);
    assert.equal(
      csv.text.split('\r\n')[0],
      'chain,seq,at,request_id,kind,key_id,key_name,client_ip,method,route,resource,action,decision,code,status,latency_ms,bytes_in,bytes_out,detail,hash',
    );
    const verify = await api('GET', '/ghostgate/v1/audit/verify', { token: read });
    assert.equal(verify.json.verify.ok, true, verify.text);

    const upstream = await api('GET', '/ghostgate/v1/upstream', { token: read });
    assert.deepEqual([upstream.json.upstream.id, upstream.json.upstream.kind], ['ab'.repeat(12), 'integration']);
    assert.doesNotMatch(upstream.text, /cd{10}/, 'never the upstream secret');
    const rotate = await api('POST', '/ghostgate/v1/upstream/rotate', {
      token: write,
      body: { key: `${'ef'.repeat(12)}:${'01'.repeat(32)}` },
    });
    assert.equal(rotate.status, 200, rotate.text);
    assert.deepEqual([rotate.json.upstream.id, rotate.json.upstream.reloaded], ['ef'.repeat(12), true]);
    assert.equal((await api('GET', '/ghostgate/v1/upstream', { token: read })).json.upstream.id, 'ef'.repeat(12));
    assert.equal(code(await api('POST', '/ghostgate/v1/upstream/rotate', { token: write, body: { key: 'nope' } })), 'API_VALIDATION');
    const rotRow = (await adminRecords()).find((x) => x.route === 'POST /ghostgate/v1/upstream/rotate' && x.decision === 'allow')!;
    assert.doesNotMatch(JSON.stringify(rotRow), /0101010101/, 'the new credential is not in the audit');

    const health = await api('GET', '/ghostgate/v1/health', { token: read });
    assert.deepEqual(health.json.health, { status: 'ready', store: true, audit: true, upstream: true });
  });

  test('approvals: list, show, approve once, deny; webhooks: list, show, remove', async () => {
    const { id: keyId } = await gw.createKey(['posts:edit'], 'held');
    const store = gw.gateway.store;
    const now = Date.now();
    for (const [id, fp] of [
      ['ap-1', 'f1'],
      ['ap-2', 'f2'],
    ])
      await store.approvals.open({
        id: id!,
        keyId,
        fingerprint: fp!,
        family: keyId,
        subject: fp!,
        deniedSince: 0,
        summary: 'PUT /posts/:id (publish)',
        call: { method: 'PUT', pathAndQuery: `/ghost/api/admin/posts/${fp!}/`, body: '{}', bodyEncoding: 'utf8' },
        now,
        expiresAt: now + 60_000,
        maxPending: 10,
      });
    const list = await api('GET', '/ghostgate/v1/approvals?status=pending', { token: read });
    assert.deepEqual(list.json.approvals.map((a: { id: string }) => a.id).sort(), ['ap-1', 'ap-2']);
    const shown = (await api('GET', '/ghostgate/v1/approvals/ap-1', { token: read })).json.approvals[0];
    assert.deepEqual([shown.status, shown.call.path_and_query], ['pending', '/ghost/api/admin/posts/f1/']);
    assert.equal(code(await api('GET', '/ghostgate/v1/approvals/ap-9', { token: read })), 'ADMIN_NOT_FOUND');
    assert.equal((await api('POST', '/ghostgate/v1/approvals/ap-1/approve', { token: write })).json.approvals[0].status, 'approved');
    assert.equal(code(await api('POST', '/ghostgate/v1/approvals/ap-1/deny', { token: write })), 'ADMIN_INVALID', 'decided once');
    assert.equal((await api('POST', '/ghostgate/v1/approvals/ap-2/deny', { token: write })).json.approvals[0].status, 'denied');
    assert.equal(code(await api('POST', '/ghostgate/v1/approvals/ap-2/approve', { token: read })), 'ADMIN_SCOPE_MISSING');

    const relayId = randomBytes(16).toString('hex');
    await store.webhooks.add({
      id: relayId,
      keyId,
      event: 'post.published',
      targetUrl: 'https://hooks.example/x',
      secretSealed: null,
      relayUrl: `${gw.url}/ghostgate/webhooks/relay/${relayId}`,
      createdAt: now,
    });
    await store.webhooks.activate(relayId, 'a1'.repeat(12), now);
    const hooks = await api('GET', `/ghostgate/v1/webhooks?key=${keyId}`, { token: read });
    assert.deepEqual(
      hooks.json.webhooks.map((w: { id: string }) => w.id),
      ['a1'.repeat(12)],
    );
    const one = await api('GET', `/ghostgate/v1/webhooks/${'a1'.repeat(12)}`, { token: read });
    assert.deepEqual([one.json.webhooks[0].relay_id, one.json.webhooks[0].deliveries], [relayId, []]);
    ghost.respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const removed = await api('DELETE', `/ghostgate/v1/webhooks/${'a1'.repeat(12)}`, { token: write });
    assert.deepEqual(removed.json.webhooks[0], { id: 'a1'.repeat(12), removed: true });
    assert.ok(
      ghost.requests.some((r) => r.method === 'DELETE' && r.url.includes(`/webhooks/${'a1'.repeat(12)}`)),
      'Ghost was asked to remove it',
    );
    assert.equal(code(await api('DELETE', `/ghostgate/v1/webhooks/${'b2'.repeat(12)}`, { token: write })), 'ADMIN_NOT_FOUND');
  });

  test('a key holder still mints a child key at POST /ghostgate/v1/keys/ with its own signed token (not the management API)', async () => {
    const { key } = await gw.createKey(['posts:browse', 'keys:mint'], 'minter');
    const { adminTokenSigner } = await import('../src/secrets/keys.js');
    const token = adminTokenSigner(key)('/ghostgate/');
    const r = await api('POST', '/ghostgate/v1/keys/', {
      auth: `Ghost ${token}`,
      body: { keys: [{ name: 'kid', grant: { version: 1, scopes: ['posts:browse'] } }] },
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.keys[0].key, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
  });
});

describe('admin.listen: the management API on a listener of its own', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let close: () => Promise<void>;

  before(async () => {
    ({ ghost, gw, close } = await startApiGateway({ admin: { listen: { host: '127.0.0.1', port: 0 } } }));
  });
  after(async () => {
    await close?.();
  });

  test('is served only there: the gateway port answers API_ROUTE_UNKNOWN, the admin port serves nothing else', async () => {
    const { token } = await adminToken(gw.gateway.store, 'admin:read');
    assert.ok(gw.gateway.adminUrl && gw.gateway.adminUrl !== gw.url, 'gw.gateway.adminUrl && gw.gateway.adminUrl !== gw.url');
    const admin = apiClient(gw.gateway.adminUrl);
    assert.equal((await admin('GET', '/ghostgate/v1/presets', { token })).status, 200);
    assert.equal((await admin('GET', '/ghostgate/v1/openapi.json')).status, 200);
    const gateway = apiClient(gw.url);
    const moved = await gateway('GET', '/ghostgate/v1/presets', { token });
    assert.deepEqual([moved.status, moved.json.errors[0].code], [404, 'API_ROUTE_UNKNOWN']);
    const other = await admin('GET', '/ghost/api/admin/posts/', { token });
    assert.deepEqual([other.status, other.json.errors[0].code], [404, 'API_ROUTE_UNKNOWN']);
    assert.equal(ghost.requests.length, 0, 'nothing reached Ghost');
  });
});

describe('durability: a change is answered only once its audit record is committed', () => {
  let gw: TestGateway;
  let close: () => Promise<void>;

  before(async () => {
    // Reads and refusals wait up to 5 s for their batch; a change's record must not.
    ({ gw, close } = await startApiGateway({ audit: { flushMs: 5000 } }));
  });
  after(async () => {
    await close?.();
  });

  test('the record of a created key is in the audit file when the answer arrives', async () => {
    const { token } = await adminToken(gw.gateway.store, 'admin:write');
    const r = await apiClient(gw.url)('POST', '/ghostgate/v1/keys', {
      token,
      body: { keys: [{ name: 'durable', scopes: ['tags:browse'] }] },
    });
    assert.equal(r.status, 201, r.text);
    const a = await openAudit(gw.config);
    try {
      const rows = (await a.query({})).filter((x) => x.route === 'POST /ghostgate/v1/keys');
      // The intent before anything changed, then the outcome naming the key made.
      assert.deepEqual(
        rows.map((x) => [x.kind, x.decision, JSON.parse(x.detail!).target]),
        [
          ['intent', 'allow', null],
          ['request', 'allow', r.json.keys[0].id],
        ],
      );
    } finally {
      await a.close();
    }
  });
});

describe('an admin change when the audit cannot be written', () => {
  test('is refused with AUDIT_UNAVAILABLE and changes nothing, whatever audit.onFailure says of reads', async () => {
    // A 256 kB cap stands in for a full disk (as in test/faults.test.ts); serve-reads lets requests in while it is full.
    const { gw, close } = await startApiGateway({ audit: { path: 'audit.db', maxSizeMb: 0.25, onFailure: 'serve-reads', flushMs: 10 } });
    try {
      const { token } = await adminToken(gw.gateway.store, 'admin:write');
      const api = apiClient(gw.url);
      let refused: Awaited<ReturnType<typeof api>> | undefined;
      for (let i = 0; i < 3000 && !refused; i++) {
        const r = await api('POST', '/ghostgate/v1/keys', { token, body: { keys: [{ name: `k${i}`, scopes: ['tags:browse'] }] } });
        if (r.status === 503) refused = r;
      }
      assert.ok(refused, 'the audit filled up');
      assert.equal(refused.json.errors[0].code, 'AUDIT_UNAVAILABLE');
      const before = (await gw.gateway.store.keys.list()).length;
      for (let i = 0; i < 5; i++) {
        const r = await api('POST', '/ghostgate/v1/keys', { token, body: { keys: [{ name: `late${i}`, scopes: ['*'] }] } });
        assert.equal(r.status, 503);
      }
      assert.equal((await gw.gateway.store.keys.list()).length, before, 'no key was made without its record');
    } finally {
      await close();
    }
  });
});

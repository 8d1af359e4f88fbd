import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { API_ROUTES } from '../src/api/routes/index.js';
import { openApiPath } from '../src/api/openapi.js';
import type { FakeUpstream } from './helpers/fake-upstream.js';
import type { TestGateway } from './helpers/gateway.js';
import { adminToken, apiClient, startApiGateway, type ApiAnswer } from './helpers/admin-api.js';

/**
 * The OpenAPI document served at /ghostgate/v1/openapi.json against the router: every route the
 * router serves is in the document and nothing else is, and a run over every route (its answer and
 * a refusal) validates against the document's schemas (JSON Schema 2020-12, Ajv).
 */
let ghost: FakeUpstream;
let gw: TestGateway;
let close: () => Promise<void>;
let api: ReturnType<typeof apiClient>;
let write: string;

let doc: any;

before(async () => {
  ({ ghost, gw, close } = await startApiGateway());
  api = apiClient(gw.url);
  write = (await adminToken(gw.gateway.store, 'admin:write')).token;
  const r = await api('GET', '/ghostgate/v1/openapi.json');
  assert.equal(r.status, 200, 'served without a token');
  doc = r.json;
});
after(async () => {
  await close?.();
});

test('the document lists exactly the routes the router serves', () => {
  assert.equal(doc.openapi, '3.1.0');
  const served = new Set([...API_ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`), 'GET /ghostgate/v1/openapi.json']);
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    ),
  );
  assert.deepEqual([...documented].sort(), [...served].sort());
  const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) =>
    Object.values(ops).map((o) => o.operationId),
  );
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
});

test('a run over every route: each answer validates against the document, and so does a refusal', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  const validate = (schema: object, value: unknown, what: string) => {
    const s = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as object;
    const ok = ajv.validate(s, value);
    assert.ok(ok, `${what}: ${ajv.errorsText(ajv.errors)}`);
  };

  // Something for each route to act on.
  const store = gw.gateway.store;
  const parent = await gw.createKey(['posts:browse', 'keys:mint'], 'parent');
  const target = await gw.createKey(['posts:browse'], 'target');
  const now = Date.now();
  const held = { method: 'PUT', pathAndQuery: '/ghost/api/admin/posts/p/', body: '{"posts":[{}]}', bodyEncoding: 'utf8' as const };
  for (const id of ['a', 'd'])
    await store.approvals.open({
      id: `ap-${id}`,
      keyId: target.id,
      fingerprint: id,
      family: target.id,
      subject: id,
      deniedSince: 0,
      summary: 'PUT /posts/:id',
      call: { ...held, recordVersion: id === 'a' ? 'v1' : null },
      now,
      expiresAt: now + 60_000,
      maxPending: 10,
    });
  const relay = randomBytes(16).toString('hex');
  const hook = 'c3'.repeat(12);
  await store.webhooks.add({
    id: relay,
    keyId: target.id,
    event: 'post.added',
    targetUrl: 'https://hooks.example/x',
    secretSealed: null,
    relayUrl: `${gw.url}/r`,
    createdAt: now,
  });
  await store.webhooks.activate(relay, hook, now);
  ghost.respond = (req, res) => {
    res.writeHead(req.method === 'DELETE' ? 204 : 200, { 'content-type': 'application/json' });
    res.end(req.method === 'DELETE' ? '' : '{"tags":[]}');
  };

  const samples: Record<string, { path: string; body?: unknown }> = {
    'keys.browse': { path: '/keys?status=active' },
    'keys.add': { path: '/keys', body: { keys: [{ name: 'sample', preset: 'drafts-writer' }] } },
    'keys.read': { path: `/keys/${target.id}` },
    'keys.edit': { path: `/keys/${target.id}`, body: { keys: [{ name: 'renamed' }] } },
    'keys.rotate': { path: `/keys/${target.id}/rotate` },
    'keys.revoke': { path: `/keys/${target.id}/revoke` },
    'keys.children': { path: `/keys/${parent.id}/children` },
    'keys.advise': { path: `/keys/${parent.id}/advice` },
    'presets.browse': { path: '/presets' },
    'catalog.routes': { path: '/catalog/routes' },
    'catalog.scopes': { path: '/catalog/scopes' },
    'explain.read': { path: `/explain?key=${parent.id}&method=GET&path=/posts/` },
    'upstream.read': { path: '/upstream' },
    'upstream.rotate': { path: '/upstream/rotate', body: { key: `${'ef'.repeat(12)}:${'01'.repeat(32)}` } },
    'health.read': { path: '/health' },
    'audit.browse': { path: '/audit?limit=50' },
    'audit.export': { path: '/audit/export?format=csv' },
    'audit.verify': { path: '/audit/verify' },
    'webhooks.browse': { path: '/webhooks?all=true' },
    'webhooks.read': { path: `/webhooks/${hook}` },
    'webhooks.destroy': { path: `/webhooks/${hook}` },
    'approvals.browse': { path: '/approvals' },
    'approvals.read': { path: '/approvals/ap-a' },
    'approvals.approve': { path: '/approvals/ap-a/approve' },
    'approvals.deny': { path: '/approvals/ap-d/deny' },
  };
  assert.deepEqual(Object.keys(samples).sort(), API_ROUTES.map((r) => r.action).sort(), 'a sample request for every route');

  // Reads first, then changes (revoke last among the key routes: the key must exist for the others).
  const order = [...API_ROUTES].sort(
    (a, b) =>
      Number(a.method !== 'GET') - Number(b.method !== 'GET') || Number(a.action === 'keys.revoke') - Number(b.action === 'keys.revoke'),
  );
  const reader = (await adminToken(gw.gateway.store, 'admin:read')).token;
  for (const r of order) {
    const s = samples[r.action]!;
    const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
    const body = s.body !== undefined ? { body: s.body } : {};
    // Before it runs: a change asked with an admin:read token is refused (ADMIN_SCOPE_MISSING, documented 403).
    if (r.method !== 'GET') {
      const scoped = await api(r.method, `/ghostgate/v1${s.path}`, { token: reader, ...body });
      assert.deepEqual([scoped.status, scoped.json.errors[0].code], [403, 'ADMIN_SCOPE_MISSING'], r.action);
      validate(op.responses['403'].content['application/json'].schema, scoped.json, `${r.action} with admin:read`);
    }
    const answer: ApiAnswer = await api(r.method, `/ghostgate/v1${s.path}`, { token: write, ...body });
    const status = String(r.status ?? 200);
    assert.equal(String(answer.status), status, `${r.action}: ${answer.text.slice(0, 300)}`);
    const content = op.responses[status].content as Record<string, { schema: object }>;
    const type = answer.headers.get('content-type')!.split(';')[0]!;
    assert.ok(content[type], `${r.action}: ${type} is documented`);
    if (type === 'application/json') validate(content[type].schema, answer.json, r.action);
    // A refusal of the same route: no token; documented as 401 with the Error schema.
    const refused = await api(r.method, `/ghostgate/v1${s.path}`);
    assert.equal(refused.status, 401);
    validate(op.responses['401'].content['application/json'].schema, refused.json, `${r.action} refused`);
  }

  // Every change of the run left its audit record, with the action and the admin's identity.
  await new Promise((res) => setTimeout(res, 50));
  const rows = (await api('GET', '/ghostgate/v1/audit?limit=5000', { token: reader })).json.audit as {
    decision: string;
    detail: { via?: string; action?: string; actor?: { kind: string } | null } | null;
  }[];
  const changes = rows.filter((x) => x.detail?.via === 'admin' && x.decision === 'allow');
  assert.deepEqual(
    [...new Set(changes.map((x) => x.detail!.action))].sort(),
    API_ROUTES.filter((r) => r.method !== 'GET')
      .map((r) => r.action)
      .sort(),
  );
  assert.ok(
    changes.every((x) => x.detail!.actor?.kind === 'token'),
    "changes.every((x) => x.detail!.actor?.kind === 'token')",
  );
  const scopeRefusals = rows.filter((x) => x.detail?.via === 'admin' && x.decision === 'deny');
  assert.ok(scopeRefusals.length >= API_ROUTES.length, 'every refusal of the run is recorded too');
});

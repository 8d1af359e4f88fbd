import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../catalog/catalog.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../../catalog/permissions.js';
import { compileGrant } from '../../grants/grant.js';
import { authorize } from './authorize.js';

const catalog = loadCatalog();
const permissions = loadPermissions();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const integration = { kind: 'integration' as const, role: INTEGRATION_ROLE };
const editor = { kind: 'staff' as const, role: 'Editor' };
const owner = { kind: 'staff' as const, role: 'Owner' };
const NO_FACTS = { query: new Map<string, string>(), params: {} };

function decide(scopes: string[], m: string, p: string, cred: { kind: 'integration' | 'staff'; role: string } = integration) {
  const r = route(m, p);
  return authorize({ grant: compileGrant({ version: 1, scopes }), route: r, upstream: upstreamReach(r, cred, permissions), request: NO_FACTS });
}

test('allows posts:browse when the key holds posts:browse', () => {
  assert.deepEqual(decide(['posts:browse'], 'GET', '/posts'), { allow: true, scope: 'posts:browse', effects: {} });
});

test('denies posts:edit when the key holds posts:browse only, naming the scope that would allow it', () => {
  const d = decide(['posts:browse'], 'PUT', '/posts/:id');
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.equal(d.code, 'SCOPE_MISSING');
    assert.match(d.message, /posts:edit/);
  }
});

test('resource wildcards and * cover every action of the resource', () => {
  assert.equal(decide(['posts:*'], 'DELETE', '/posts').allow, true);
  assert.equal(decide(['posts:*'], 'GET', '/pages').allow, false);
  assert.equal(decide(['*'], 'GET', '/pages').allow, true);
});

test('an empty grant denies every route (deny by default)', () => {
  for (const r of catalog.routes) {
    const d = authorize({ grant: compileGrant({ version: 1, scopes: [] }), route: r, upstream: { ok: true }, request: NO_FACTS });
    assert.equal(d.allow, false, `${r.method} ${r.path}`);
  }
});

test('pages scopes do not open posts routes and the other way round', () => {
  assert.equal(decide(['pages:browse'], 'GET', '/posts').allow, false);
  assert.equal(decide(['posts:browse'], 'GET', '/pages').allow, false);
});

test('with an Editor staff token upstream, settings:edit still cannot edit settings', () => {
  const d = decide(['settings:edit'], 'PUT', '/settings', editor);
  assert.equal(d.allow, false);
  if (!d.allow) assert.equal(d.code, 'UPSTREAM_FORBIDS');
  assert.equal(decide(['settings:edit'], 'PUT', '/settings', owner).allow, true);
  assert.equal(decide(['members:browse'], 'GET', '/members', editor).allow, false); // Editors hold no member.browse
  assert.equal(decide(['posts:add'], 'POST', '/posts', editor).allow, true);
});

test('with an integration key upstream, routes Ghost refuses to integrations are reported as such', () => {
  const d = decide(['integrations:browse'], 'GET', '/integrations');
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.equal(d.code, 'UPSTREAM_FORBIDS');
    assert.match(d.context, /integration allow-list/);
  }
  // Passes the allow-list but Admin Integration lacks db.exportContent (reference 1.7).
  assert.equal(decide(['db:exportContent'], 'GET', '/db').allow, false);
  // A webhook write needs its body (the event decides the scope, src/webhooks/rule.ts).
  assert.equal(decide(['webhooks:add'], 'POST', '/webhooks').allow, 'need');
  const r = route('POST', '/webhooks');
  const body = { webhooks: [{ event: 'site.changed', target_url: 'https://example.com/hook' }] };
  assert.equal(authorize({ grant: compileGrant({ version: 1, scopes: ['webhooks:add'] }), route: r, upstream: upstreamReach(r, integration, permissions), request: { ...NO_FACTS, body } }).allow, true);
});

test('no staff token may delete all content, even the Owner', () => {
  assert.equal(decide(['db:deleteAllContent'], 'DELETE', '/db', owner).allow, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../catalog/permissions.js';
import { authorize } from '../pipeline/authorize/authorize.js';
import { compileGrant } from './grant.js';
import { IDENTITY_RULES, identityGuard, type UpstreamIdentity } from './identity.js';

const catalog = loadCatalog();
const permissions = loadPermissions();
const route = (m: string, p: string) => {
  const r = catalog.routes.find((x) => x.method === m && x.path === p);
  assert.ok(r, `${m} ${p} is in the catalog`);
  return r;
};
const SELF = '6b0a2ad2b8ca2107a23e64f4';
const OTHER = '6b0a2ae6b8ca2107a23e681b';
const integration: UpstreamIdentity = { kind: 'integration' };
const staff: UpstreamIdentity = { kind: 'staff', userId: SELF };
const staffUnknown: UpstreamIdentity = { kind: 'staff' };
const q = (o: Record<string, string> = {}) => new Map(Object.entries(o));

test('every identity rule names catalog routes and cites Ghost', () => {
  for (const rule of IDENTITY_RULES) {
    if (rule.route.endsWith('/*'))
      assert.ok(
        catalog.routes.some((r) => r.path.startsWith(rule.route.slice(0, -2))),
        rule.route,
      );
    else route(...(rule.route.split(' ') as [string, string]));
    assert.match(rule.source, /core\//, rule.route);
  }
});

test('identity-protected routes, for each kind of upstream credential', () => {
  // [method, path, params, query, identity, protected?]
  const table: [string, string, Record<string, string>, Record<string, string>, UpstreamIdentity, boolean][] = [
    ['GET', '/users/:id/token', { id: 'me' }, {}, staff, true],
    ['GET', '/users/:id/token', { id: OTHER }, {}, staff, true],
    ['GET', '/users/:id/token', { id: 'me' }, {}, integration, true],
    ['PUT', '/users/:id/token', { id: SELF }, {}, staff, true],
    ['PUT', '/users/password', {}, {}, staff, true],
    ['PUT', '/users/password', {}, {}, integration, true],
    ['PUT', '/users/owner', {}, {}, staff, true],
    ['PUT', '/users/:id', { id: 'me' }, {}, staff, true],
    ['PUT', '/users/:id', { id: 'ME' }, {}, staff, true],
    ['PUT', '/users/:id', { id: SELF }, {}, staff, true],
    ['PUT', '/users/:id', { id: SELF.toUpperCase() }, {}, staff, true],
    ['PUT', '/users/:id', { id: OTHER }, {}, staff, false],
    ['PUT', '/users/:id', { id: OTHER }, {}, staffUnknown, true],
    ['PUT', '/users/:id', { id: OTHER }, {}, integration, false],
    ['PUT', '/users/:id', { id: 'me' }, {}, integration, true],
    ['DELETE', '/users/:id', { id: SELF }, {}, staff, true],
    ['DELETE', '/users/:id', { id: OTHER }, {}, staff, false],
    ['GET', '/users/:id', { id: 'me' }, {}, staff, false],
    ['POST', '/integrations/:id/api_key/:keyid/refresh', { id: OTHER, keyid: OTHER }, {}, staff, true],
    ['PUT', '/integrations/:id', { id: OTHER }, {}, staff, false],
    ['GET', '/db', {}, { include: 'api_keys' }, staff, true],
    ['GET', '/db', {}, { include: 'posts, API_KEYS ' }, staff, true],
    ['GET', '/db', {}, { include: 'members,sessions' }, staff, false],
    ['GET', '/db', {}, { include: 'api_keysx' }, staff, false],
    ['GET', '/db', {}, { filename: 'backup.json' }, integration, true],
    ['GET', '/db', {}, {}, staff, false],
    ['POST', '/db/backup', {}, { include: 'Api_Keys' }, staff, true],
    ['POST', '/db/backup', {}, { include: 'members' }, staff, false],
    ['GET', '/identities', {}, {}, staff, true],
    ['GET', '/featurebase/token', {}, {}, staff, true],
    ['DELETE', '/session', {}, {}, staff, true],
    ['PUT', '/authentication/setup', {}, {}, staff, true],
    ['POST', '/authentication/reset', {}, {}, integration, true],
    ['GET', '/posts', {}, {}, staff, false],
  ];
  for (const [m, p, params, query, identity, want] of table) {
    const got = identityGuard(route(m, p), params, q(query), identity);
    assert.equal(
      got !== undefined,
      want,
      `${m} ${p} ${JSON.stringify(params)} ${JSON.stringify(query)} ${identity.kind}${identity.userId ? '' : ' (user unknown)'}`,
    );
  }
});

test('every session and authentication route of the catalog is identity-protected', () => {
  const routes = catalog.routes.filter(
    (r) => r.path === '/session' || r.path.startsWith('/session/') || r.path.startsWith('/authentication/'),
  );
  assert.ok(routes.length >= 10, 'routes.length >= 10');
  for (const r of routes) assert.ok(identityGuard(r, {}, q(), staff), `${r.method} ${r.path}`);
});

test('a * key is refused IDENTITY_PROTECTED before any upstream reach check, with either upstream credential', () => {
  const grant = compileGrant({ version: 1, scopes: ['*'] });
  const creds = [
    { info: { kind: 'integration' as const, role: INTEGRATION_ROLE }, identity: integration },
    { info: { kind: 'staff' as const, role: 'Administrator' }, identity: staff },
    { info: { kind: 'staff' as const, role: 'Editor' }, identity: staff },
  ];
  for (const { info, identity } of creds) {
    for (const [m, p, params] of [
      ['GET', '/users/:id/token', { id: 'me' }],
      ['PUT', '/users/:id/token', { id: 'me' }],
      ['PUT', '/users/password', {}],
      ['PUT', '/users/owner', {}],
      ['PUT', '/users/:id', { id: 'me' }],
      ['POST', '/integrations/:id/api_key/:keyid/refresh', { id: OTHER, keyid: OTHER }],
    ] as const) {
      const r = route(m, p);
      const d = authorize({ grant, route: r, upstream: upstreamReach(r, info, permissions), identity, request: { query: q(), params } });
      assert.equal(d.allow, false, `${m} ${p} ${info.role}`);
      if (!d.allow) assert.equal(d.code, 'IDENTITY_PROTECTED', `${m} ${p} ${info.role}`);
    }
  }
  // Without an identity, authorize() assumes a staff token of an unknown user: any user id may be it.
  const edit = route('PUT', '/users/:id');
  const d = authorize({ grant, route: edit, upstream: { ok: true }, request: { query: q(), params: { id: OTHER } } });
  assert.equal(d.allow === false && d.code, 'IDENTITY_PROTECTED');
  const other = authorize({ grant, route: edit, upstream: { ok: true }, identity: staff, request: { query: q(), params: { id: OTHER } } });
  assert.equal(other.allow, true);
});

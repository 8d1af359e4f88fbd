import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { authorize, type RequestFacts } from '../pipeline/authorize/authorize.js';
import { compileGrant, type Grant } from './grant.js';

const catalog = loadCatalog();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const ROLES = [
  { id: 'a00000000000000000000001', name: 'Administrator' },
  { id: 'a00000000000000000000004', name: 'Contributor' },
  { id: 'a00000000000000000000007', name: 'Super Editor' },
];
const integration = { kind: 'integration' as const };
const base: RequestFacts = { query: new Map(), params: {} };

function decide(grant: Grant, m: string, p: string, facts: Partial<RequestFacts> = {}, upstreamOk = true) {
  return authorize({
    grant: compileGrant(grant),
    route: route(m, p),
    upstream: upstreamOk ? { ok: true } : { ok: false, why: 'no' },
    identity: integration,
    request: { ...base, ...facts },
  });
}

test('an invite by a key with a ceiling needs the body and Ghost’s roles, then is decided on them', () => {
  const grant: Grant = { version: 1, scopes: ['invites:add'], narrow: { invites: { maxRole: 'contributor' } } };
  assert.deepEqual(decide(grant, 'POST', '/invites'), { allow: 'need', need: { body: true, escalation: { roles: true } } });
  assert.deepEqual(decide(grant, 'POST', '/invites', { escalation: { roles: ROLES } }), { allow: 'need', need: { body: true } });
  const body = (role_id: string) => ({ invites: [{ email: 'new@example.com', role_id }] });
  assert.deepEqual(decide(grant, 'POST', '/invites', { body: body(ROLES[1]!.id) }), {
    allow: 'need',
    need: { escalation: { roles: true } },
  });
  assert.equal(decide(grant, 'POST', '/invites', { body: body(ROLES[1]!.id), escalation: { roles: ROLES } }).allow, true);
  for (const role of [ROLES[0]!, ROLES[2]!]) {
    const d = decide(grant, 'POST', '/invites', { body: body(role.id), escalation: { roles: ROLES } });
    assert.equal(d.allow === false && d.code, 'INVITE_ROLE_REFUSED', role.name);
  }
  const two = decide(grant, 'POST', '/invites', {
    body: { invites: [{ role_id: ROLES[1]!.id }, { role_id: ROLES[0]!.id }] },
    escalation: { roles: ROLES },
  });
  assert.equal(two.allow === false && two.code, 'BODY_INVALID');
});

test('an invite by a key without a ceiling is forwarded as it is (the scope is an escalation)', () => {
  assert.equal(decide({ version: 1, scopes: ['invites:add'] }, 'POST', '/invites').allow, true);
});

test('when Ghost refuses the upstream credential anyway, nothing is gathered: UPSTREAM_FORBIDS', () => {
  const d = decide({ version: 1, scopes: ['invites:add'], narrow: { invites: { maxRole: 'contributor' } } }, 'POST', '/invites', {}, false);
  assert.equal(d.allow === false && d.code, 'UPSTREAM_FORBIDS');
});

test('a theme upload by a keepActive key needs the active theme and the upload name, then refuses the active name', () => {
  const grant: Grant = { version: 1, scopes: ['themes:upload', 'themes:install'], narrow: { themes: { keepActive: true } } };
  assert.deepEqual(decide(grant, 'POST', '/themes/upload'), { allow: 'need', need: { escalation: { activeTheme: true, upload: true } } });
  assert.deepEqual(decide(grant, 'POST', '/themes/upload', { escalation: { activeTheme: 'mytheme' } }), {
    allow: 'need',
    need: { escalation: { upload: true } },
  });
  const upload = (originalname: string) =>
    decide(grant, 'POST', '/themes/upload', { escalation: { activeTheme: 'mytheme', upload: { originalname } } });
  for (const name of ['mytheme.zip', 'MyTheme.zip', 'mytheme.zip.zip', 'mytheme.zipx.zip']) {
    const d = upload(name);
    assert.equal(d.allow === false && d.code, 'THEME_ACTIVE_REFUSED', name);
  }
  assert.equal(upload('other.zip').allow, true);
  const install = (ref: string) =>
    decide(grant, 'POST', '/themes/install', {
      query: new Map([
        ['source', 'github'],
        ['ref', ref],
      ]),
      escalation: { activeTheme: 'mytheme' },
    });
  assert.deepEqual(decide(grant, 'POST', '/themes/install', { query: new Map([['ref', 'a/b']]) }), {
    allow: 'need',
    need: { escalation: { activeTheme: true } },
  });
  assert.equal(install('someone/MyTheme').allow === false, true);
  assert.equal(install('someone/other').allow, true);
});

test('theme uploads by a key without keepActive are forwarded without reading the body', () => {
  assert.equal(decide({ version: 1, scopes: ['themes:upload'] }, 'POST', '/themes/upload').allow, true);
});

test('each narrower form rules only its own routes: other reads and writes are neither held back nor asked for facts', () => {
  const narrow: Grant['narrow'] = { invites: { maxRole: 'contributor' }, themes: { keepActive: true } };
  const grant: Grant = { version: 1, scopes: ['invites:browse', 'invites:add', 'themes:upload', 'tags:add'], narrow };
  for (const [m, p] of [
    ['GET', '/invites'],
    ['POST', '/tags'],
  ] as const)
    assert.equal(decide(grant, m, p).allow, true, `${m} ${p}`);
  // A ceiling alone does not gather for theme uploads, keepActive alone not for invites.
  const ceiling: Grant = { version: 1, scopes: ['themes:upload'], narrow: { invites: { maxRole: 'contributor' } } };
  assert.equal(decide(ceiling, 'POST', '/themes/upload').allow, true);
  const keep: Grant = { version: 1, scopes: ['invites:add'], narrow: { themes: { keepActive: true } } };
  assert.equal(decide(keep, 'POST', '/invites').allow, true);
});

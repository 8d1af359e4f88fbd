import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ghostSingular, loadCatalog, parseCatalog } from './catalog.js';

const HEADER = 'method\tpath\tresource\taction\tpermission\tunsafe_attrs\tintegration_key\tstaff_token\tflags';

test('the Ghost 6.65 catalog has all 237 registered routes, each with a scope', () => {
  const c = loadCatalog();
  assert.equal(c.routes.length, 237);
  for (const r of c.routes) assert.match(r.scope, /^[a-z][a-z0-9_]*:[a-z][A-Za-z0-9_]*$/, `${r.method} ${r.path}`);
  assert.equal(c.routes.filter((r) => r.integrationKey === 'allowed').length, 118);
  assert.equal(c.routes.filter((r) => r.integrationKey === 'refused').length, 109);
  assert.equal(c.routes.filter((r) => r.staffToken === 'refused').length, 3);
});

test('pages keep their own scopes although Ghost checks posts permissions for them', () => {
  const c = loadCatalog();
  const browse = c.routes.find((r) => r.method === 'GET' && r.path === '/pages')!;
  assert.equal(browse.scope, 'pages:browse');
  assert.deepEqual(browse.permission, { kind: 'check', object: 'post', action: 'browse' });
});

test('bulk, upload and scheduler routes carry their flags', () => {
  const c = loadCatalog();
  const get = (m: string, p: string) => c.routes.find((r) => r.method === m && r.path === p)!;
  assert.ok(get('DELETE', '/members').flags.has('bulk'), "get('DELETE', '/members').flags.has('bulk')");
  assert.ok(get('POST', '/images/upload').flags.has('upload'), "get('POST', '/images/upload').flags.has('upload')");
  assert.ok(
    get('PUT', '/schedules/:resource/:id').flags.has('query_token'),
    "get('PUT', '/schedules/:resource/:id').flags.has('query_token')",
  );
  assert.ok(get('GET', '/site').flags.has('public'), "get('GET', '/site').flags.has('public')");
  assert.ok(get('GET', '/config').flags.has('no_permission'), "get('GET', '/config').flags.has('no_permission')");
});

test('a row without a resource fails the load (fail closed)', () => {
  assert.throws(() => parseCatalog(`${HEADER}\nGET\t/posts\t\tbrowse\tposts.browse\t-\tallowed\tallowed\t-\n`, 'x'), /resource\/action/);
});

test('an unknown flag, method or duplicate route fails the load', () => {
  assert.throws(
    () => parseCatalog(`${HEADER}\nGET\t/posts\tposts\tbrowse\tposts.browse\t-\tallowed\tallowed\tmagic\n`, 'x'),
    /unknown flag/,
  );
  assert.throws(
    () => parseCatalog(`${HEADER}\nPATCH\t/posts\tposts\tbrowse\tposts.browse\t-\tallowed\tallowed\t-\n`, 'x'),
    /unknown method/,
  );
  const row = 'GET\t/posts\tposts\tbrowse\tposts.browse\t-\tallowed\tallowed\t-';
  assert.throws(() => parseCatalog(`${HEADER}\n${row}\n${row}\n`, 'x'), /duplicate route/);
  assert.throws(() => parseCatalog(`${HEADER}\n`, 'x'), /no routes/);
});

test('ghostSingular follows Ghost: drop s, ies -> y', () => {
  assert.equal(ghostSingular('posts'), 'post');
  assert.equal(ghostSingular('identities'), 'identity');
  assert.equal(ghostSingular('members_stripe_connect'), 'members_stripe_connect');
});

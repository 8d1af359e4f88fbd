import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, MAX_URL_LENGTH } from './canonical.js';

const ok = (url: string) => {
  const r = canonicalize(url);
  assert.ok(r.ok, `${url} should be accepted, got ${r.ok ? '' : r.code}`);
  return r.target;
};
const refused = (url: string, code: string) => {
  const r = canonicalize(url);
  assert.equal(r.ok, false, `${url} should be refused`);
  if (!r.ok) assert.equal(r.code, code, url);
};

test('adds the trailing slash Ghost expects, so clients are never redirected to Ghost', () => {
  assert.equal(ok('/ghost/api/admin/posts').path, '/ghost/api/admin/posts/');
  assert.equal(ok('/ghost/api/admin/posts/').path, '/ghost/api/admin/posts/');
  assert.equal(ok('/ghost/api/admin/site').path, '/ghost/api/admin/site/');
});

test('legacy version prefixes resolve to the same segments and keep their version', () => {
  for (const v of ['v2', 'v3', 'v4', 'canary']) {
    const t = ok(`/ghost/api/${v}/admin/posts/abc/`);
    assert.deepEqual(t.segments, ['posts', 'abc']);
    assert.equal(t.version, v);
    assert.equal(t.path, `/ghost/api/${v}/admin/posts/abc/`);
  }
  assert.equal(ok('/ghost/api/admin/posts/').version, '');
});

test('v5 and v6 prefixes are not Admin API paths in Ghost 6.65, so they are not served', () => {
  refused('/ghost/api/v5/admin/posts/', 'ROUTE_NOT_SERVED');
  refused('/ghost/api/v6/admin/posts/', 'ROUTE_NOT_SERVED');
});

test('the Content API and paths outside /ghost/api/admin are not served', () => {
  refused('/ghost/api/content/posts/', 'ROUTE_NOT_SERVED');
  refused('/', 'ROUTE_NOT_SERVED');
  refused('/ghost/', 'ROUTE_NOT_SERVED');
  refused('/blog/ghost/api/admin/posts/', 'ROUTE_NOT_SERVED');
});

test("refuses a case variant of the prefix, which Express's case-insensitive mounts would serve", () => {
  for (const url of [
    '/GHOST/api/admin/posts/',
    '/ghost/API/admin/posts/',
    '/ghost/api/Admin/posts/',
    '/ghost/api/V4/admin/posts/',
    '/ghost/api/Canary/admin/posts/',
    '/ghost/api/v4/ADMIN/posts/',
  ]) {
    refused(url, 'PATH_CASE');
  }
});

test('refuses every ambiguous path spelling', () => {
  const cases: [string, string][] = [
    ['/ghost/api/admin/posts/%2e%2e/users/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/%2E/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts%2fusers/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts%2F/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts%5c/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/%252e/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/../users/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/./posts/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin//posts/', 'PATH_AMBIGUOUS'],
    ['//ghost/api/admin/posts/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts//', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/%00/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/\u0000/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts\\users/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/%70osts/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/%zz/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts;x=1/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/ x/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/é/', 'PATH_AMBIGUOUS'],
    ['/ghost/api/admin/posts/#frag', 'PATH_AMBIGUOUS'],
    ['ghost/api/admin/posts/', 'PATH_AMBIGUOUS'],
    ['http://evil.example/ghost/api/admin/posts/', 'PATH_AMBIGUOUS'],
  ];
  for (const [url, code] of cases) refused(url, code);
});

test('refuses overlong URLs', () => {
  refused(`/ghost/api/admin/posts/?filter=${'a'.repeat(MAX_URL_LENGTH)}`, 'PATH_TOO_LONG');
});

test('keeps a percent-encoded reserved character in a parameter, raw', () => {
  assert.deepEqual(ok('/ghost/api/admin/users/email/a%40b.example/').segments, ['users', 'email', 'a%40b.example']);
});

test('parses the query once: duplicates, brackets, overrides and bad encodings are refused', () => {
  const t = ok('/ghost/api/admin/posts/?filter=tag%3Anews%2Bstatus%3Adraft&limit=5&include=tags,authors');
  assert.equal(t.query.get('filter'), 'tag:news+status:draft');
  assert.equal(t.query.get('include'), 'tags,authors');
  assert.equal(t.rawQuery, 'filter=tag%3Anews%2Bstatus%3Adraft&limit=5&include=tags,authors');
  refused('/ghost/api/admin/posts/?filter=a&filter=b', 'QUERY_DUPLICATE');
  refused('/ghost/api/admin/posts/?include=tags&include=authors', 'QUERY_DUPLICATE');
  refused('/ghost/api/admin/posts/?fil%74er=a&filter=b', 'QUERY_DUPLICATE');
  refused('/ghost/api/admin/posts/?filter[]=a', 'QUERY_MALFORMED');
  refused('/ghost/api/admin/posts/?filter%5B0%5D=a', 'QUERY_MALFORMED');
  refused('/ghost/api/admin/posts/?filter=%zz', 'QUERY_MALFORMED');
  refused('/ghost/api/admin/posts/?a=1&&b=2', 'QUERY_MALFORMED');
  refused('/ghost/api/admin/posts/?=1', 'QUERY_MALFORMED');
  refused('/ghost/api/admin/posts/?_method=DELETE', 'METHOD_OVERRIDE');
  refused('/ghost/api/admin/posts/?X-HTTP-Method-Override=DELETE', 'METHOD_OVERRIDE');
});

test('the length cap is inclusive: a URL of exactly the cap is read', () => {
  const base = '/ghost/api/admin/posts/?filter=';
  assert.equal(ok(base + 'a'.repeat(MAX_URL_LENGTH - base.length)).query.get('filter')!.length, MAX_URL_LENGTH - base.length);
  refused(base + 'a'.repeat(MAX_URL_LENGTH - base.length + 1), 'PATH_TOO_LONG');
});

test('percent-escapes: reserved characters and spaces keep their escape; unreserved, control and short escapes are refused', () => {
  for (const seg of ['a%20b', 'a%3Ab', 'a%40b', 'a%2Bb', 'a%21'])
    assert.deepEqual(ok(`/ghost/api/admin/tags/slug/${seg}/`).segments, ['tags', 'slug', seg], seg);
  for (const seg of ['%1f', '%1F', '%01', '%7f', '%7e', '%41', '%61', '%30', '%2d', '%5f', '%2', 'a%', '%g1', 'a%2', '%C3%A9%'])
    refused(`/ghost/api/admin/tags/slug/${seg}/`, 'PATH_AMBIGUOUS');
  refused('/ghost/api/admin/tags/slug/ok%20then%2e/', 'PATH_AMBIGUOUS');
});

test('the prefix: a configured Ghost path, the version and the API name', () => {
  const t = canonicalize('/admin-x/api/v4/admin/posts/', 'admin-x');
  assert.ok(t.ok, 't.ok');
  if (t.ok)
    assert.deepEqual([t.target.prefix, t.target.path, t.target.api], ['/admin-x/api/v4/admin/', '/admin-x/api/v4/admin/posts/', 'admin']);
  const r = canonicalize('/ADMIN-X/api/admin/posts/', 'admin-x');
  assert.equal(r.ok ? '' : r.code, 'PATH_CASE');
  const other = canonicalize('/ghost/api/admin/posts/', 'admin-x');
  assert.equal(other.ok ? '' : other.code, 'ROUTE_NOT_SERVED');
  assert.equal(ok('/ghost/api/admin/posts/').prefix, '/ghost/api/admin/');
  refused('/ghost/api/admin/', 'ROUTE_UNKNOWN');
  refused('/ghost/api/admin', 'ROUTE_UNKNOWN');
  refused('/ghost/api/v4/', 'ROUTE_NOT_SERVED');
  refused('/ghost/api/', 'ROUTE_NOT_SERVED');
  refused('/ghost/Api', 'PATH_CASE');
  refused('/ghost/apiadmin/posts/', 'ROUTE_NOT_SERVED');
  refused('/ghost/api/v4/v4/admin/posts/', 'ROUTE_NOT_SERVED');
  refused('/ghost/api/admins/posts/', 'ROUTE_NOT_SERVED');
});

test('query values are decoded as Ghost decodes them; names and values are checked separately', () => {
  const t = ok('/ghost/api/admin/posts/?filter=a+b%2Bc&include&limit=');
  assert.equal(t.query.get('filter'), 'a b+c');
  assert.equal(t.query.get('include'), '');
  assert.equal(t.query.get('limit'), '');
  assert.equal(t.query.size, 3);
  assert.equal(ok('/ghost/api/admin/posts/?').query.size, 0);
  assert.equal(ok('/ghost/api/admin/posts/?filter=x%3D1=2').query.get('filter'), 'x=1=2');
  assert.equal(
    ok('/ghost/api/admin/posts/?filter=%01').query.get('filter'),
    '\u0001',
    'a control character other than NUL is data in a value',
  );
  assert.equal(ok('/ghost/api/admin/posts/?filter=a%5Bb%5D').query.get('filter'), 'a[b]', 'brackets are data in a value');
  for (const q of ['a%01=1', 'a%1f=1', 'a%7f=1', 'filter=%00', 'a b=1', 'a=\\', 'a=%', 'a%zz=1', '&a=1', 'a=1&', '[a]=1', 'a]=1'])
    refused(`/ghost/api/admin/posts/?${q}`, 'QUERY_MALFORMED');
  for (const q of ['X-HTTP-Method=PUT', 'x-method-override=1', '_Method']) refused(`/ghost/api/admin/posts/?${q}`, 'METHOD_OVERRIDE');
});

test('a target without a query has an empty query, and the path is never read as one', () => {
  const t = ok('/ghost/api/admin/posts/abc/');
  assert.equal(t.rawQuery, '');
  assert.equal(t.query.size, 0);
  assert.equal(ok('/ghost/api/admin/posts/?').rawQuery, '');
});

test('the second prefix segment must be api, whatever follows it', () => {
  for (const url of ['/ghost/foo/admin/posts/', '/ghost/admin/admin/posts/', '/ghost/v4/admin/posts/']) refused(url, 'ROUTE_NOT_SERVED');
});

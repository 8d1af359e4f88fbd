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
  for (const url of ['/GHOST/api/admin/posts/', '/ghost/API/admin/posts/', '/ghost/api/Admin/posts/', '/ghost/api/V4/admin/posts/', '/ghost/api/Canary/admin/posts/', '/ghost/api/v4/ADMIN/posts/']) {
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

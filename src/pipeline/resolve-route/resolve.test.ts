import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../catalog/catalog.js';
import { RouteMatcher } from '../../catalog/matcher.js';
import { resolveRoute } from './resolve.js';

const matcher = new RouteMatcher(loadCatalog());
const A = '/ghost/api/admin';
const code = (method: string, url: string, headers: Record<string, string> = {}, ghostPath?: string) => {
  const r = resolveRoute(matcher, method, url, headers, ghostPath);
  return r.ok ? `${r.resolved.route.method} ${r.resolved.route.path}` : r.code;
};

test('every method-override header is refused, whatever its value, before the path is read', () => {
  for (const h of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
    for (const v of ['DELETE', 'GET', '']) assert.equal(code('GET', `${A}/posts/`, { [h]: v }), 'METHOD_OVERRIDE', `${h}: ${v}`);
    assert.equal(code('GET', `${A}/Posts/`, { [h]: 'GET' }), 'METHOD_OVERRIDE', 'even on a path refused later');
  }
  assert.equal(code('GET', `${A}/posts/`, { 'x-other': 'DELETE' }), 'GET /posts');
});

test('the canonical reading decides first; an unknown route is refused', () => {
  assert.equal(code('GET', `${A}/posts/../users/`), 'PATH_AMBIGUOUS');
  assert.equal(code('GET', `${A}/nothing-here/`), 'ROUTE_UNKNOWN');
  assert.equal(code('PATCH', `${A}/posts/`), 'ROUTE_UNKNOWN');
});

test('a resolved route carries its parameters and the canonical target', () => {
  const r = resolveRoute(matcher, 'GET', `${A}/posts/abc123?include=tags`, {});
  assert.ok(r.ok, 'r.ok');
  assert.equal(r.resolved.route.path, '/posts/:id');
  assert.deepEqual(r.resolved.params, { id: 'abc123' });
  assert.equal(r.resolved.target.path, `${A}/posts/abc123/`);
  assert.equal(r.resolved.target.query.get('include'), 'tags');
});

test('another case of a fixed segment, and a parameter spelled like a route beside it, are refused', () => {
  assert.equal(code('GET', `${A}/members/UPLOAD/`), 'PATH_CASE');
  assert.equal(code('GET', `${A}/members/upload/`), 'GET /members/upload');
  assert.equal(code('GET', `${A}/posts/Export/`), 'PATH_CASE');
  assert.equal(code('GET', `${A}/posts/bulk/`), 'PARAM_RESERVED');
  assert.equal(code('DELETE', `${A}/members/Upload/`), 'PARAM_RESERVED');
});

test('scheduler routes and sign-in or set-up routes are not served; GET /site is', () => {
  assert.equal(code('PUT', `${A}/schedules/posts/5f1a2b3c4d5e6f7a8b9c0d1e/`), 'ROUTE_NOT_SERVED');
  assert.equal(code('PUT', `${A}/automations/poll/`), 'ROUTE_NOT_SERVED');
  assert.equal(code('PUT', `${A}/gifts/flush_reminders/`), 'ROUTE_NOT_SERVED');
  for (const [m, p] of [
    ['POST', 'session'],
    ['PUT', 'session/verify'],
    ['GET', 'authentication/setup'],
    ['GET', 'authentication/invitation'],
    ['POST', 'authentication/password_reset'],
  ]) {
    assert.equal(code(m!, `${A}/${p}/`), 'ROUTE_NOT_SERVED', `${m} ${p}`);
  }
  assert.equal(code('GET', `${A}/site/`), 'GET /site');
});

test('the Ghost path is the configured one', () => {
  assert.equal(code('GET', '/blog-admin/api/admin/site/', {}, 'blog-admin'), 'GET /site');
  assert.equal(code('GET', `${A}/site/`, {}, 'blog-admin'), 'ROUTE_NOT_SERVED');
  assert.equal(code('GET', `${A}/site/`), 'GET /site');
});

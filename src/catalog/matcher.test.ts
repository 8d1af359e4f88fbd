import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from './catalog.js';
import { RouteMatcher } from './matcher.js';

const catalog = loadCatalog();
const matcher = new RouteMatcher(catalog);

/** Express's rule: the first registered route whose pattern matches wins. */
function expressFirstMatch(method: string, segments: string[]) {
  return catalog.routes.find(
    (r) => r.method === method && r.segments.length === segments.length && r.segments.every((s, i) => s.startsWith(':') || s === segments[i]),
  );
}

test('every catalog route resolves, from a sample path, to the route Express would pick', () => {
  for (const r of catalog.routes) {
    const sample = r.segments.map((s) => (s.startsWith(':') ? 'abc123' : s));
    const m = matcher.match(r.method, sample);
    assert.ok(m, `${r.method} ${r.path}`);
    assert.equal(m.route, expressFirstMatch(r.method, sample), `${r.method} ${r.path}`);
  }
});

test('literal routes registered before a parameter route win over it', () => {
  assert.equal(matcher.match('GET', ['posts', 'export'])!.route.scope, 'posts:exportCSV');
  assert.equal(matcher.match('GET', ['members', 'stats', 'count'])!.route.scope, 'members:memberStats');
  assert.equal(matcher.match('PUT', ['users', 'password'])!.route.scope, 'users:changePassword');
  assert.equal(matcher.match('GET', ['posts', '5f1a'])!.params.id, '5f1a');
});

test('unknown methods, paths and case variants do not match', () => {
  assert.equal(matcher.match('PATCH', ['posts']), undefined);
  assert.equal(matcher.match('GET', ['posts', 'a', 'b', 'c']), undefined);
  assert.equal(matcher.match('GET', ['Posts']), undefined);
  assert.equal(matcher.match('GET', ['webhooks']), undefined); // Ghost has no GET /webhooks
});

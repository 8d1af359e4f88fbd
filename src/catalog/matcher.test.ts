import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from './catalog.js';
import { RouteMatcher } from './matcher.js';

const catalog = loadCatalog();
const matcher = new RouteMatcher(catalog);

/** Express's rule, written out plainly: the first registered route whose pattern matches wins, literals compared case-insensitively. */
function expressFirstMatch(method: string, segments: string[]) {
  return catalog.routes.find(
    (r) =>
      r.method === method &&
      r.segments.length === segments.length &&
      r.segments.every((s, i) => s.startsWith(':') || s === segments[i]!.toLowerCase()),
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

test('fixed segments match in any case, as Express routes: /members/UPLOAD is the CSV export', () => {
  const m = matcher.match('GET', ['members', 'UPLOAD'])!;
  assert.equal(m.route.scope, 'members:exportCSV');
  assert.equal(matcher.caseVariant(m, ['members', 'UPLOAD']), 1);
  for (const [method, segs, scope] of [
    ['GET', ['Posts', 'EXPORT'], 'posts:exportCSV'],
    ['PUT', ['posts', 'BULK'], 'posts:bulkEdit'],
    ['PUT', ['members', 'Bulk'], 'members:bulkEdit'],
    ['PUT', ['pages', 'BULK'], 'pages:bulkEdit'],
    ['GET', ['members', 'EVENTS'], 'members:activityFeed'],
    ['GET', ['MEMBERS', 'metaFIELDS', 'ns'], 'members_metafields:browse'],
  ] as const) {
    const hit = matcher.match(method, segs)!;
    assert.equal(hit.route.scope, scope, segs.join('/'));
    assert.notEqual(matcher.caseVariant(hit, segs), -1);
  }
  const exact = matcher.match('GET', ['members', 'upload'])!;
  assert.equal(matcher.caseVariant(exact, ['members', 'upload']), -1);
});

test('a parameter spelled like a fixed segment beside it, in any case, is reported', () => {
  for (const [method, segs, param] of [
    ['GET', ['members', 'bulk'], 'id'], // GET /members/bulk is members.read in Ghost: PUT has the bulk route
    ['DELETE', ['members', 'UPLOAD'], 'id'],
    ['GET', ['posts', 'Slug'], 'id'],
    ['GET', ['comments', 'POST'], 'id'],
    ['PUT', ['themes', 'Active', 'activate'], 'name'],
    ['GET', ['users', 'email'], 'id'],
    ['PUT', ['automations', 'POLL'], undefined], // the route itself, in another case
  ] as const) {
    const m = matcher.match(method, segs)!;
    assert.ok(m, segs.join('/'));
    assert.equal(matcher.reservedParam(m), param, `${method} ${segs.join('/')}`);
  }
  // Parameters deeper in a route are free: a post slug may be "copy", a tag slug "export".
  for (const segs of [
    ['posts', 'slug', 'copy'],
    ['tags', 'slug', 'export'],
    ['members', '5f1a2b3c4d5e6f7a8b9c0d1e'],
  ]) {
    assert.equal(matcher.reservedParam(matcher.match('GET', segs)!), undefined, segs.join('/'));
  }
});

test('unknown methods and paths do not match', () => {
  assert.equal(matcher.match('PATCH', ['posts']), undefined);
  assert.equal(matcher.match('HEAD', ['posts']), undefined);
  assert.equal(matcher.match('GET', ['posts', 'a', 'b', 'c']), undefined);
  assert.equal(matcher.match('GET', ['webhooks']), undefined); // Ghost has no GET /webhooks
  assert.equal(matcher.match('GET', ['postsx']), undefined);
});

/** A catalog of hand-made routes, each a copy of a real entry with another path. */
function catalogOf(...paths: string[]) {
  const base = catalog.routes.find((r) => r.method === 'GET')!;
  return { ...catalog, routes: paths.map((path) => ({ ...base, path, segments: path.split('/').slice(1) })) };
}

test('a catalog route that does not start with a fixed segment fails at start-up', () => {
  for (const path of ['/:id', '/:id/posts', '/']) {
    const routes = catalogOf('/posts', path);
    if (path === '/') (routes.routes[1] as { segments: string[] }).segments = [];
    assert.throws(() => new RouteMatcher(routes), /fixed segment/, path);
  }
  assert.doesNotThrow(() => new RouteMatcher(catalogOf('/posts', '/posts/:id')));
});

test('a catalog route whose parameters disagree with its pattern fails at start-up', () => {
  const bad = catalogOf('/posts/:id');
  (bad.routes[0] as { segments: string[] }).segments = ['posts', 'id'];
  assert.throws(() => new RouteMatcher(bad), /unexpected pattern/);
});

test('a parameter is reserved against the fixed segments of routes with the same pattern before it, parameters matching parameters', () => {
  const m = new RouteMatcher(catalogOf('/things/:id/:sub', '/things/:other/word', '/things/fixed/name', '/things/:x/:y'));
  const reserved = (...segs: string[]) => m.reservedParam(m.match('GET', segs)!);
  // `/things/:other/word` has the same pattern before position 2 (a parameter, whatever its name).
  assert.equal(reserved('things', 'a', 'WORD'), 'sub');
  // `/things/fixed/name` has a fixed segment where `/things/:id/:sub` has a parameter: not the same pattern.
  assert.equal(reserved('things', 'a', 'name'), undefined);
  // Parameters of the other routes are not words: a value spelled `:y` is a value.
  assert.equal(reserved('things', 'a', ':y'), undefined);
  assert.equal(reserved('things', 'a', 'b'), undefined);
});

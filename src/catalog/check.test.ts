import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRoutes, controllerScope } from './check.js';
import { loadCatalog } from './catalog.js';

// Loading Ghost's real router needs the lab's install: test/e2e/routing-differential.test.ts and test/e2e/lab.test.ts.
const catalog = loadCatalog();
const registered = catalog.routes.map((r) => ({
  method: r.method,
  path: r.path,
  controller: `${r.resource.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())}.${r.action}`,
}));

test("Ghost's controller names read as catalog scopes", () => {
  assert.equal(controllerScope('commentReplies.read'), 'comment_replies:read');
  assert.equal(controllerScope('email_previews.sendTestEmail'), 'email_previews:sendTestEmail');
  assert.equal(controllerScope('members.exportCSV'), 'members:exportCSV');
});

test('compareRoutes finds nothing when Ghost registers the catalog as it is', () => {
  const r = compareRoutes(catalog, registered);
  assert.deepEqual([r.missing, r.stale, r.misordered, r.mismatched], [[], [], [], []]);
  assert.equal(r.registered, catalog.routes.length);
});

test('compareRoutes lists routes missing from and stale in the catalog', () => {
  const added = [...registered, { method: 'POST', path: '/automations', controller: 'automations.add' }];
  assert.deepEqual(
    compareRoutes(catalog, added).missing.map((r) => `${r.method} ${r.path}`),
    ['POST /automations'],
  );
  const removed = registered.filter((r) => !(r.method === 'GET' && r.path === '/posts'));
  assert.deepEqual(compareRoutes(catalog, removed).stale, [{ method: 'GET', path: '/posts' }]);
});

test('compareRoutes names a route Ghost registers after another that matches the same paths', () => {
  const exp = registered.findIndex((r) => r.method === 'GET' && r.path === '/posts/export');
  const byId = registered.findIndex((r) => r.method === 'GET' && r.path === '/posts/:id');
  const moved = [...registered];
  const [e] = moved.splice(exp, 1);
  moved.splice(byId, 0, e!); // now right after GET /posts/:id
  assert.deepEqual(compareRoutes(catalog, moved).misordered, [{ method: 'GET', path: '/posts/export' }]);
  // Order between routes that never match one path does not matter.
  const swapped = [...registered];
  const a = swapped.findIndex((r) => r.path === '/site');
  const b = swapped.findIndex((r) => r.path === '/config');
  [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
  assert.deepEqual(compareRoutes(catalog, swapped).misordered, []);
});

test('compareRoutes names a route whose controller is not the catalog scope', () => {
  const changed = registered.map((r) => (r.path === '/members/upload' && r.method === 'GET' ? { ...r, controller: 'members.browse' } : r));
  assert.deepEqual(compareRoutes(catalog, changed).mismatched, [
    { method: 'GET', path: '/members/upload', scope: 'members:exportCSV', controller: 'members.browse' },
  ]);
});

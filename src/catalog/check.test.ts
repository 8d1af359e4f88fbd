import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRoutes, parseGhostRoutes } from './check.js';
import { loadCatalog } from './catalog.js';

const SOURCE = `
module.exports = function apiRoutes() {
  const router = express.Router('admin api');
  router.get('/site', mw.publicAdminApi, http(api.site.read));
  router.post(
    '/posts/upload',
    mw.authAdminApi,
    apiMw.upload.single('postsfile'),
    http(api.posts.importCSV),
  );
  router.del('/posts/:id', mw.authAdminApi, http(api.posts.destroy));
  router.get('/roles/', mw.authAdminApi, http(api.roles.browse));
  const metafieldsRouter = express.Router('admin api members metafields');
  router.use('/members/metafields', metafieldsRouter);
  metafieldsRouter.get('/:namespace', http(api.membersMetafields.browse));
};`;

test('parses routes, multi-line registrations, del() and mounted sub-routers', () => {
  assert.deepEqual(parseGhostRoutes(SOURCE), [
    { method: 'GET', path: '/site', controller: 'site.read' },
    { method: 'POST', path: '/posts/upload', controller: 'posts.importCSV' },
    { method: 'DELETE', path: '/posts/:id', controller: 'posts.destroy' },
    { method: 'GET', path: '/roles', controller: 'roles.browse' },
    { method: 'GET', path: '/members/metafields/:namespace', controller: 'membersMetafields.browse' },
  ]);
});

test('compareRoutes lists routes missing from and stale in the catalog', () => {
  const catalog = loadCatalog();
  const registered = catalog.routes.map((r) => ({ method: r.method, path: r.path, controller: undefined }));
  assert.deepEqual(compareRoutes(catalog, registered).missing, []);
  assert.deepEqual(compareRoutes(catalog, registered).stale, []);
  const added = [...registered, { method: 'POST', path: '/automations', controller: 'automations.add' }];
  assert.deepEqual(compareRoutes(catalog, added).missing.map((r) => `${r.method} ${r.path}`), ['POST /automations']);
  const removed = registered.filter((r) => !(r.method === 'GET' && r.path === '/posts'));
  assert.deepEqual(compareRoutes(catalog, removed).stale, [{ method: 'GET', path: '/posts' }]);
});

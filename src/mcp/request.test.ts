import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { toolRequest } from './request.js';
import { catalogTools } from './tools.js';

const tools = new Map(catalogTools(loadCatalog()).map((t) => [t.name, t]));
const tool = (n: string) => tools.get(n)!;
const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';
const ok = (n: string, args: Record<string, unknown>) => {
  const r = toolRequest(tool(n), args);
  assert.ok(r.ok, r.ok ? '' : r.why);
  return r.request;
};
const refused = (n: string, args: Record<string, unknown> | undefined) => assert.equal(toolRequest(tool(n), args).ok, false);

test('browse puts its options in the query, integers as Ghost reads them', () => {
  assert.deepEqual(ok('browse_posts', { filter: 'status:draft', limit: 5, page: 2, include: 'tags' }), {
    method: 'GET',
    pathAndQuery: '/posts/?filter=status%3Adraft&include=tags&limit=5&page=2',
  });
  assert.deepEqual(ok('browse_posts', {}), { method: 'GET', pathAndQuery: '/posts/' });
  assert.equal(ok('browse_posts', { limit: 'all' }).pathAndQuery, '/posts/?limit=all');
});

test('a query value cannot add a parameter: it is one encoded value', () => {
  assert.equal(ok('browse_posts', { filter: 'a&debug=true' }).pathAndQuery, '/posts/?filter=a%26debug%3Dtrue');
});

test('read takes the id or the slug into the path, percent-encoded', () => {
  assert.equal(ok('read_post', { id: ID }).pathAndQuery, `/posts/${ID}/`);
  assert.equal(ok('read_post', { slug: 'hello-world', include: 'tags' }).pathAndQuery, '/posts/slug/hello-world/?include=tags');
  assert.equal(ok('read_post', { id: '../integrations' }).pathAndQuery, '/posts/..%2Fintegrations/');
});

test('id and slug together, neither, dot segments or a slug where the route has none are refused', () => {
  refused('read_post', { id: ID, slug: 'x' });
  refused('read_post', {});
  refused('read_post', undefined);
  refused('read_post', { id: '..' });
  refused('read_post', { slug: '.' });
  refused('read_post', { id: '' });
  refused('read_member', { slug: 'ada' });
  refused('read_post', { id: 5 });
});

test('an argument the tool does not take is refused, whatever Ghost would read', () => {
  refused('browse_posts', { debug: true });
  refused('browse_posts', { id: ID });
  refused('read_post', { id: ID, body: {} });
  refused('browse_posts', { filter: { nql: 'x' } });
  refused('browse_posts', { limit: 1.5 });
});

test("add and edit send the body in Ghost's envelope", () => {
  assert.deepEqual(ok('add_post', { body: { title: 'T', status: 'draft' }, source: 'html' }), {
    method: 'POST',
    pathAndQuery: '/posts/?source=html',
    body: { posts: [{ title: 'T', status: 'draft' }] },
  });
  assert.deepEqual(ok('edit_tag', { id: ID, body: { name: 'N' } }), {
    method: 'PUT',
    pathAndQuery: `/tags/${ID}/`,
    body: { tags: [{ name: 'N' }] },
  });
  assert.deepEqual(ok('destroy_post', { id: ID }), { method: 'DELETE', pathAndQuery: `/posts/${ID}/` });
});

test('a body that is not one record object is refused', () => {
  refused('add_post', {});
  refused('add_post', { body: [{ title: 'a' }] });
  refused('add_post', { body: 'title' });
  refused('edit_post', { id: ID, body: null });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog, type RouteEntry } from '../catalog/catalog.js';
import { ConfirmSchema, confirmItem, confirmNeedsBody, confirmNeedsRecord, confirmPart, validateConfirm } from './confirm.js';
import type { Grant } from './grant.js';

const catalog = loadCatalog();
const route = (method: string, path: string): RouteEntry => catalog.routes.find((r) => r.method === method && r.path === path)!;
const g = (confirm: string[]): Grant => ({ version: 1, scopes: ['*'], confirm });
const item = (grant: Grant, method: string, path: string, body?: unknown, query: Record<string, string> = {}, record?: unknown) =>
  confirmItem(grant, {
    route: route(method, path),
    query: new Map(Object.entries(query)),
    body,
    ...(record === undefined ? {} : { record }),
  });

test('a scope item holds every call of its route, and resource:* every route of the resource', () => {
  assert.equal(item(g(['posts:destroy']), 'DELETE', '/posts/:id'), 'posts:destroy');
  assert.equal(item(g(['posts:destroy']), 'PUT', '/posts/:id', { posts: [{}] }), undefined);
  assert.equal(item(g(['members:*']), 'GET', '/members'), 'members:*');
  assert.equal(item(g(['members:*']), 'GET', '/posts'), undefined);
  assert.equal(item({ version: 1, scopes: ['*'] }, 'DELETE', '/posts/:id'), undefined);
  assert.equal(
    item(g(['posts:destroy']), 'PUT', '/posts/:id', { posts: [{ status: 'published' }] }),
    undefined,
    'publishing is not destroying',
  );
});

test('confirm items are resource:action, resource:* or resource:publish, at most 100', () => {
  for (const ok of [['posts:destroy', 'members:*', 'posts:publish', 'members:editSubscription', 'a_1:b']]) {
    assert.equal(ConfirmSchema.safeParse(ok).success, true, ok.join());
  }
  for (const bad of [
    '1posts:edit',
    '_posts:edit',
    'Posts:edit',
    'po-sts:edit',
    'posts:edit-',
    'posts:edit ',
    'posts:1',
    'posts:',
    'posts:**',
    ':edit',
  ]) {
    assert.equal(ConfirmSchema.safeParse([bad]).success, false, bad);
  }
  assert.equal(ConfirmSchema.safeParse(Array.from({ length: 100 }, () => 'posts:edit')).success, true);
  assert.equal(ConfirmSchema.safeParse(Array.from({ length: 101 }, () => 'posts:edit')).success, false);
});

test('the record is read for an edit or delete of one post, page or member by id, under an item of its resource', () => {
  const needs = (confirm: string[] | undefined, r: RouteEntry) =>
    confirmNeedsRecord({ version: 1, scopes: ['*'], ...(confirm ? { confirm } : {}) }, r);
  const table: [string[] | undefined, string, string, boolean][] = [
    [['posts:publish'], 'PUT', '/posts/:id', true],
    [['posts:publish'], 'DELETE', '/posts/:id', true],
    [['posts:publish'], 'GET', '/posts/:id', false],
    [['posts:publish'], 'POST', '/posts', false],
    [['posts:publish'], 'PUT', '/posts/bulk', false],
    [['pages:destroy'], 'DELETE', '/pages/:id', true],
    [['pages:destroy'], 'PUT', '/pages/:id', true],
    [['members:edit'], 'PUT', '/members/:id', true],
    [['members:edit'], 'PUT', '/posts/:id', false],
    [['members:edit', 'posts:destroy'], 'PUT', '/posts/:id', true],
    [['tags:destroy'], 'DELETE', '/tags/:id', false],
    [undefined, 'PUT', '/posts/:id', false],
  ];
  for (const [confirm, method, path, expected] of table)
    assert.equal(needs(confirm, route(method, path)), expected, `${confirm} ${method} ${path}`);
  // Only the record's own path: an edit under it (none in Ghost 6's catalog today) names no one record by id.
  assert.equal(needs(['members:edit'], { ...route('PUT', '/members/:id'), path: '/members/:id/notes' }), false);
});

test('publish holds an add or edit that sets status published, scheduled or sent, or a publication time, or an edit that sends a newsletter', () => {
  const grant = g(['posts:publish']);
  for (const status of ['published', 'scheduled', 'sent']) {
    assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{ status }] }), 'posts:publish', status);
    assert.equal(item(grant, 'POST', '/posts', { posts: [{ status }] }), 'posts:publish', status);
  }
  assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{ status: 'draft' }] }), undefined);
  // Moving a scheduled post's time publishes it then (Ghost's scheduler); clearing it cannot.
  assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{ published_at: '2026-11-28T09:00:00.000Z' }] }), 'posts:publish');
  assert.equal(item(grant, 'POST', '/posts', { posts: [{ published_at: '2026-11-28T09:00:00.000Z' }] }), 'posts:publish');
  assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{ published_at: null }] }), undefined);
  assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{ title: 'x' }] }), undefined);
  assert.equal(item(grant, 'PUT', '/posts/:id', { posts: [{}] }, { newsletter: 'weekly' }), 'posts:publish');
  assert.equal(item(grant, 'PUT', '/pages/:id', { pages: [{ status: 'published' }] }), undefined, 'pages:publish is its own item');
  assert.equal(item(grant, 'PUT', '/posts/bulk', { bulk: {} }), undefined);
  // Ghost's add has no newsletter option: only an edit sends.
  assert.equal(item(grant, 'POST', '/posts', { posts: [{ status: 'draft' }] }, { newsletter: 'weekly' }), undefined);
  // publish is for posts and pages only, whatever the body of another resource says.
  assert.equal(item(g(['tags:publish']), 'PUT', '/tags/:id', { tags: [{ status: 'published' }] }), undefined);
  assert.equal(item(g(['pages:publish']), 'PUT', '/pages/:id', { pages: [{ status: 'published' }] }), 'pages:publish');
});

test('publish holds any edit of a post that is live or scheduled now, read from Ghost', () => {
  const grant = g(['posts:publish']);
  const draft = { posts: [{ title: 'x' }] };
  for (const status of ['published', 'scheduled', 'sent'])
    assert.equal(item(grant, 'PUT', '/posts/:id', draft, {}, { status }), 'posts:publish', status);
  assert.equal(item(grant, 'PUT', '/posts/:id', draft, {}, { status: 'draft' }), undefined);
  assert.equal(item(grant, 'PUT', '/posts/:id', draft, {}, null), undefined, 'no such post');
  assert.equal(item(grant, 'POST', '/posts', draft, {}, { status: 'published' }), undefined, 'an add changes no existing record');
});

test('publish items make the gateway read the body of post and page writes only', () => {
  const grant = g(['posts:publish', 'pages:destroy']);
  assert.equal(confirmNeedsBody(grant, route('PUT', '/posts/:id')), true);
  assert.equal(confirmNeedsBody(grant, route('POST', '/posts')), true);
  assert.equal(confirmNeedsBody(grant, route('PUT', '/pages/:id')), false);
  assert.equal(confirmNeedsBody(grant, route('DELETE', '/posts/:id')), false);
  assert.equal(confirmNeedsBody(g(['pages:publish']), route('PUT', '/pages/:id')), true);
  assert.equal(confirmNeedsBody(g(['tags:publish']), route('PUT', '/tags/:id')), false);
});

test('confirm items must name a route of the catalog (publish only for posts and pages)', () => {
  assert.deepEqual(validateConfirm(['posts:publish', 'pages:publish', 'posts:destroy', 'members:*'], catalog), []);
  assert.equal(validateConfirm(['posts:publsh', 'tags:publish', 'nothing:*'], catalog).length, 3);
});

test('a child key keeps its parent’s confirm items, may add some, and inherits them when it names none', () => {
  const parent = g(['posts:publish']);
  assert.deepEqual(confirmPart.subset(g(['posts:publish', 'posts:destroy']), parent), []);
  assert.equal(confirmPart.subset(g(['posts:destroy']), parent).length, 1);
  assert.equal(confirmPart.subset({ version: 1, scopes: [] }, parent).length, 1);
  assert.deepEqual(confirmPart.inherit!({ version: 1, scopes: [] }, parent), ['posts:publish']);
  assert.equal(confirmPart.inherit!(g([]), parent), undefined);
  assert.deepEqual(confirmPart.describe(parent), ["needs a person's approval, once per call, for: posts:publish"]);
  assert.deepEqual(confirmPart.describe({ version: 1, scopes: [] }), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog, type RouteEntry } from '../catalog/catalog.js';
import { confirmItem, confirmNeedsBody, confirmPart, validateConfirm } from './confirm.js';
import type { Grant } from './grant.js';

const catalog = loadCatalog();
const route = (method: string, path: string): RouteEntry => catalog.routes.find((r) => r.method === method && r.path === path)!;
const g = (confirm: string[]): Grant => ({ version: 1, scopes: ['*'], confirm });
const item = (grant: Grant, method: string, path: string, body?: unknown, query: Record<string, string> = {}) =>
  confirmItem(grant, { route: route(method, path), query: new Map(Object.entries(query)), body });

test('a scope item holds every call of its route, and resource:* every route of the resource', () => {
  assert.equal(item(g(['posts:destroy']), 'DELETE', '/posts/:id'), 'posts:destroy');
  assert.equal(item(g(['posts:destroy']), 'PUT', '/posts/:id', { posts: [{}] }), undefined);
  assert.equal(item(g(['members:*']), 'GET', '/members'), 'members:*');
  assert.equal(item(g(['members:*']), 'GET', '/posts'), undefined);
  assert.equal(item({ version: 1, scopes: ['*'] }, 'DELETE', '/posts/:id'), undefined);
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
});

test('publish items make the gateway read the body of post and page writes only', () => {
  const grant = g(['posts:publish', 'pages:destroy']);
  assert.equal(confirmNeedsBody(grant, route('PUT', '/posts/:id')), true);
  assert.equal(confirmNeedsBody(grant, route('POST', '/posts')), true);
  assert.equal(confirmNeedsBody(grant, route('PUT', '/pages/:id')), false);
  assert.equal(confirmNeedsBody(grant, route('DELETE', '/posts/:id')), false);
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCatalog } from '../../../catalog/catalog.js';
import { compileGrant, type Grant } from '../../../grants/grant.js';
import { authorize, type RequestFacts } from '../authorize.js';

const catalog = loadCatalog();
const route = (method: string, path: string) => catalog.routes.find((r) => r.method === method && r.path === path)!;
const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';
const grant: Grant = { version: 1, scopes: ['posts:*', 'images:upload'], confirm: ['posts:publish', 'posts:destroy', 'images:upload'] };
const decide = (method: string, path: string, request: Partial<RequestFacts> = {}) =>
  authorize({
    grant: compileGrant(grant),
    route: route(method, path),
    upstream: { ok: true },
    request: { query: new Map(), params: path.includes(':id') ? { id: ID } : {}, ...request },
  });

test('a post write under a publish item needs its body first, then is allowed with the item that holds it', () => {
  assert.deepEqual(decide('PUT', '/posts/:id'), { allow: 'need', need: { body: true } });
  const publish = decide('PUT', '/posts/:id', { body: { posts: [{ status: 'published' }] } });
  assert.ok(publish.allow === true);
  assert.equal(publish.effects.confirm, 'posts:publish');
  const draft = decide('PUT', '/posts/:id', { body: { posts: [{ status: 'draft' }] } });
  assert.ok(draft.allow === true);
  assert.equal(draft.effects.confirm, undefined);
});

test('a scope item holds its route without a body; an upload cannot be held; other routes are not held', () => {
  const del = decide('DELETE', '/posts/:id');
  assert.ok(del.allow === true);
  assert.equal(del.effects.confirm, 'posts:destroy');
  const upload = decide('POST', '/images/upload');
  assert.ok(upload.allow === false);
  assert.equal(upload.code, 'CONSTRAINT_UNENFORCEABLE');
  const browse = decide('GET', '/posts');
  assert.ok(browse.allow === true);
  assert.equal(browse.effects.confirm, undefined);
});

test('a grant with confirm alone is a grant with rules: the step runs', () => {
  assert.equal(compileGrant({ version: 1, scopes: ['posts:*'], confirm: ['posts:destroy'] }).hasRules, true);
  assert.equal(compileGrant({ version: 1, scopes: ['posts:*'] }).hasRules, false);
});

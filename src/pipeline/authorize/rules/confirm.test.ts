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

test('a post write under a publish item needs its body, then the record it edits; publishing, or editing a live record, is held', () => {
  assert.deepEqual(decide('PUT', '/posts/:id'), { allow: 'need', need: { body: true } });
  const publishing = { posts: [{ status: 'published' }] };
  assert.deepEqual(decide('PUT', '/posts/:id', { body: publishing }), {
    allow: 'need',
    need: { record: { resource: 'posts', by: 'id', value: ID, include: 'tags,authors' } },
  });
  const held = (body: unknown, record: unknown) => {
    const d = decide('PUT', '/posts/:id', { body, record: record as RequestFacts['record'] });
    assert.ok(d.allow === true, JSON.stringify(d));
    return d.effects.confirm;
  };
  const draft = { status: 'draft', updated_at: '2026-01-01T00:00:00.000Z' };
  assert.equal(held(publishing, draft), 'posts:publish');
  assert.equal(held({ posts: [{ status: 'draft' }] }, draft), undefined);
  // What readers see now, or will at its time: an edit of it is held whatever the body says.
  assert.equal(held({ posts: [{ title: 'x' }] }, { ...draft, status: 'published' }), 'posts:publish');
  assert.equal(held({ posts: [{ title: 'x' }] }, { ...draft, status: 'scheduled' }), 'posts:publish');
  assert.equal(held({ posts: [{ title: 'x' }] }, null), undefined);
  // An add names no record: judged on its body alone.
  const add = decide('POST', '/posts', { body: publishing });
  assert.ok(add.allow === true, 'add.allow === true');
  assert.equal(add.effects.confirm, 'posts:publish');
});

test('a scope item holds its route once the record is read; an upload cannot be held; other routes are not held', () => {
  assert.equal(decide('DELETE', '/posts/:id').allow, 'need');
  const del = decide('DELETE', '/posts/:id', { record: { id: ID, updated_at: 'v1' } });
  assert.ok(del.allow === true, 'del.allow === true');
  assert.equal(del.effects.confirm, 'posts:destroy');
  const upload = decide('POST', '/images/upload');
  assert.ok(upload.allow === false, 'upload.allow === false');
  assert.equal(upload.code, 'CONSTRAINT_UNENFORCEABLE');
  const browse = decide('GET', '/posts');
  assert.ok(browse.allow === true, 'browse.allow === true');
  assert.equal(browse.effects.confirm, undefined);
  // An upload no item holds is not refused for being an upload.
  const unheld = authorize({
    grant: compileGrant({ version: 1, scopes: ['posts:*', 'images:upload'], confirm: ['posts:destroy'] }),
    route: route('POST', '/images/upload'),
    upstream: { ok: true },
    request: { query: new Map(), params: {} },
  });
  assert.ok(unheld.allow === true, JSON.stringify(unheld));
  assert.equal(unheld.effects.confirm, undefined);
});

test('a grant with confirm alone is a grant with rules: the step runs', () => {
  assert.equal(compileGrant({ version: 1, scopes: ['posts:*'], confirm: ['posts:destroy'] }).hasRules, true);
  assert.equal(compileGrant({ version: 1, scopes: ['posts:*'] }).hasRules, false);
});

test('a write held by a scope item is decided on its body: the approval is for the bytes forwarded', () => {
  const tags = compileGrant({
    version: 1,
    scopes: ['tags:*', 'posts:read', 'pages:read'],
    confirm: ['tags:add', 'tags:edit', 'tags:destroy'],
  });
  const ask = (method: string, path: string, request: Partial<RequestFacts> = {}) =>
    authorize({
      grant: tags,
      route: route(method, path),
      upstream: { ok: true },
      request: { query: new Map(), params: path.includes(':id') ? { id: ID } : {}, ...request },
    });
  assert.deepEqual(ask('POST', '/tags'), { allow: 'need', need: { body: true } });
  assert.deepEqual(ask('PUT', '/tags/:id'), { allow: 'need', need: { body: true } });
  for (const [method, path, item] of [
    ['POST', '/tags', 'tags:add'],
    ['PUT', '/tags/:id', 'tags:edit'],
  ] as const) {
    const d = ask(method, path, { body: { tags: [{ name: 'x' }] } });
    assert.ok(d.allow === true, JSON.stringify(d));
    assert.equal(d.effects.confirm, item);
  }
  // A delete has no body to bind: held as it is.
  const del = ask('DELETE', '/tags/:id');
  assert.ok(del.allow === true, JSON.stringify(del));
  assert.equal(del.effects.confirm, 'tags:destroy');
});

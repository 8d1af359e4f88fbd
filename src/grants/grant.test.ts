import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { compileGrant, isSubset, parseGrant, parseScopeList, scopeCovers, scopesPart, validateScopes, type Grant } from './grant.js';

const catalog = loadCatalog();
const TAG = { id: 'a00000000000000000000001', slug: 'news' };

test('a scope covers itself, its resource wildcard covers its actions, and * covers everything', () => {
  const table: [string[], string, boolean][] = [
    [['posts:edit'], 'posts:edit', true],
    [['posts:edit'], 'posts:browse', false],
    [['posts:*'], 'posts:edit', true],
    [['posts:*'], 'posts:*', true],
    [['posts:*'], 'pages:edit', false],
    [['posts:*'], 'posts_meta:edit', false],
    [['*'], 'members:destroy', true],
    [['*'], '*', true],
    [['posts:*', 'members:*'], '*', false],
    [[], 'posts:edit', false],
  ];
  for (const [held, scope, covers] of table) assert.equal(scopeCovers(new Set(held), scope), covers, `${held} covers ${scope}`);
});

test('a compiled grant holds a scope exactly, by its resource wildcard or by *', () => {
  const g = compileGrant({ version: 1, scopes: ['posts:edit', 'tags:*'] });
  assert.equal(g.holds('posts:edit', 'posts'), true);
  assert.equal(g.holds('posts:browse', 'posts'), false);
  assert.equal(g.holds('tags:destroy', 'tags'), true);
  assert.equal(g.holds('pages:edit', 'pages'), false);
  assert.equal(compileGrant({ version: 1, scopes: ['*'] }).holds('members:destroy', 'members'), true);
});

test('rules and constraints are flagged by what the grant carries', () => {
  const table: [Omit<Grant, 'version' | 'scopes'>, boolean, boolean][] = [
    [{}, false, false],
    [{ constraints: { posts: { tags: [TAG] } } }, true, true],
    [{ constraints: { pages: { tags: [TAG] } } }, true, true],
    [{ constraints: { members: { status: ['free'] } } }, true, true],
    [{ fields: { posts: { deny: ['status'] } } }, true, false],
    [{ redact: { members: ['email'] } }, true, false],
    [{ sendEmail: false }, true, false],
    [{ sendEmail: true }, false, false],
    [{ constraints: {} }, false, false],
    [{ confirm: ['posts:edit'] }, true, false],
    [{ confirm: [] }, false, false],
  ];
  for (const [rest, hasRules, hasConstraints] of table) {
    const g = compileGrant({ version: 1, scopes: ['posts:edit'], ...rest } as Grant);
    assert.equal(g.hasRules, hasRules, `hasRules ${JSON.stringify(rest)}`);
    assert.equal(g.hasConstraints, hasConstraints, `hasConstraints ${JSON.stringify(rest)}`);
  }
});

test('scopes are checked against the catalog: typos, unknown resources and bad shapes are errors', () => {
  assert.deepEqual(validateScopes(['posts:edit', 'posts:*', '*', 'keys:mint'], catalog), []);
  for (const bad of ['posts:edt', 'postz:*', 'Posts:edit', 'posts', 'posts:edit:x', ':edit', 'keys:*']) {
    assert.equal(validateScopes([bad], catalog).length, 1, bad);
  }
  assert.equal(validateScopes(['posts:edt', 'posts:edit', 'nope:*'], catalog).length, 2);
});

test('a scope list is split on commas, trimmed, without empties or repeats', () => {
  assert.deepEqual(parseScopeList(' posts:edit, tags:browse,,posts:edit , '), ['posts:edit', 'tags:browse']);
  assert.deepEqual(parseScopeList(''), []);
});

test('a grant document parses or lists its errors by path', () => {
  assert.equal(parseGrant({ version: 1, scopes: ['posts:edit'] }).ok, true);
  const bad = parseGrant({ version: 2, scopes: 'posts:edit' });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.errors.length, 2);
    assert.ok(
      bad.errors.some((e) => e.startsWith('version:')),
      "bad.errors.some((e) => e.startsWith('version:'))",
    );
    assert.ok(
      bad.errors.some((e) => e.startsWith('scopes:')),
      "bad.errors.some((e) => e.startsWith('scopes:'))",
    );
  }
  // A nested error names its whole path, dot-separated.
  const nested = parseGrant({ version: 1, scopes: [], constraints: { posts: { status: ['gone'] } } });
  assert.ok(
    !nested.ok && nested.errors.length === 1 && nested.errors[0]!.startsWith('constraints.posts.status.0:'),
    "!nested.ok && nested.errors.length === 1 && nested.errors[0]!.startsWith('constraints.posts.status.0:')",
  );
  const notObject = parseGrant('posts:edit');
  assert.ok(!notObject.ok && notObject.errors[0]!.startsWith('(grant):'), "!notObject.ok && notObject.errors[0]!.startsWith('(grant):')");
});

test("subsets: a list is a subset when every entry is in the other; a child's scopes must be covered by its parent's", () => {
  assert.equal(isSubset(['a'], ['a', 'b']), true);
  assert.equal(isSubset([], ['a']), true);
  assert.equal(isSubset(['c'], ['a', 'b']), false);
  assert.equal(isSubset(undefined, ['a']), false);
  const parent: Grant = { version: 1, scopes: ['posts:*', 'tags:browse'] };
  assert.equal(scopesPart.subset({ version: 1, scopes: ['posts:edit', 'tags:browse'] }, parent).length, 0);
  assert.equal(scopesPart.subset({ version: 1, scopes: ['posts:edit', 'tags:edit', 'pages:edit'] }, parent).length, 2);
});

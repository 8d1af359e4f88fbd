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

test('the grant schema takes every shape its rules read and refuses near misses: slugs, ids, field names and scopes whole, lists of one or more', () => {
  const id = '0123456789abcdef01234567';
  const post = {
    tags: ['news', 'a_b-1', { id, slug: 'sport' }],
    authors: ['jo', 'al'],
    status: ['draft', 'published'],
    visibility: ['public', 'members'],
  };
  const rule = { deny: ['featured', 'tags'], allow: ['title', 'html'], status: ['draft', 'published'] };
  const good = {
    version: 1,
    scopes: ['posts:edit', 'tags:*', 'members:browse'],
    constraints: { posts: post, pages: post, members: { labels: ['vip', 'vip_2'], status: ['free', 'paid'] } },
    fields: { posts: rule, pages: rule, members: rule, tags: rule, newsletters: rule, webhooks: rule, users: rule },
    redact: {
      users: ['email', 'name'],
      members: ['email'],
      posts: ['authors'],
      pages: ['authors'],
      tags: ['name'],
      newsletters: ['sender_email'],
      settings: ['title'],
    },
  };
  const parsed = parseGrant(good);
  assert.equal(parsed.ok, true, parsed.ok ? '' : parsed.errors.join('; '));
  const withPosts = (c: Record<string, unknown>) => ({ version: 1, scopes: [], constraints: { posts: c } });
  for (const [doc, path, words] of [
    [withPosts({ tags: ['News'] }), 'constraints.posts.tags.0', 'a slug'],
    [withPosts({ tags: ['newS'] }), 'constraints.posts.tags.0', 'a slug'],
    [withPosts({ tags: ['-x'] }), 'constraints.posts.tags.0', 'a slug'],
    [withPosts({ tags: [{ id: `x${id}`, slug: 'news' }] }), 'constraints.posts.tags.0.id', 'a Ghost id'],
    [withPosts({ tags: [{ id: `${id}x`, slug: 'news' }] }), 'constraints.posts.tags.0.id', 'a Ghost id'],
    [withPosts({ tags: [] }), 'constraints.posts.tags', ''],
    [withPosts({ authors: [] }), 'constraints.posts.authors', ''],
    [withPosts({ status: [] }), 'constraints.posts.status', ''],
    [withPosts({ visibility: [] }), 'constraints.posts.visibility', ''],
    [{ version: 1, scopes: [], constraints: { members: { labels: [] } } }, 'constraints.members.labels', ''],
    [{ version: 1, scopes: [], constraints: { members: { status: [] } } }, 'constraints.members.status', ''],
    [{ version: 1, scopes: [], fields: { posts: { status: [] } } }, 'fields.posts.status', ''],
    [{ version: 1, scopes: [], fields: { posts: { deny: ['Title'] } } }, 'fields.posts.deny.0', 'a field name'],
    [{ version: 1, scopes: [], fields: { posts: { allow: ['title!'] } } }, 'fields.posts.allow.0', 'a field name'],
    [{ version: 1, scopes: [], redact: { users: [] } }, 'redact.users', ''],
    [{ version: 1, scopes: ['x posts:edit'] }, 'scopes.0', 'a scope is'],
    [{ version: 1, scopes: ['posts:edit x'] }, 'scopes.0', 'a scope is'],
  ] as const) {
    const r = parseGrant(doc);
    assert.equal(r.ok, false, JSON.stringify(doc));
    if (!r.ok) {
      assert.ok(
        r.errors.some((e) => e.startsWith(`${path}:`) && e.includes(words)),
        `${JSON.stringify(doc)} → ${r.errors.join('; ')}`,
      );
    }
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnchorError, anchorIds, anchorPath, pinAnchors, pinnedAnchors, unpinnedAnchors, type AnchorKind } from './anchors.js';
import type { Grant } from './grant.js';

const TAG = { id: 'a00000000000000000000001', slug: 'news' };
const USER = { id: 'a00000000000000000000002', slug: 'jo' };
const LABEL = { id: 'a00000000000000000000003', slug: 'vip' };
const GHOST: Record<string, string> = {
  'tags:partner': 'b00000000000000000000001',
  'users:sam': 'b00000000000000000000002',
  'labels:gold': 'b00000000000000000000003',
};

/** A strict fake of Ghost's by-slug lookups: counts each call. */
function lookup() {
  const calls: string[] = [];
  const fn = async (kind: AnchorKind, slug: string) => {
    calls.push(`${kind}:${slug}`);
    return GHOST[`${kind}:${slug}`];
  };
  return { fn, calls };
}

const mixed: Grant = {
  version: 1,
  scopes: ['posts:edit', 'pages:edit', 'members:edit'],
  constraints: {
    posts: { tags: [TAG, 'partner'], authors: ['sam'] },
    pages: { tags: ['partner'], authors: [USER] },
    members: { labels: ['gold', LABEL] },
  },
};

test('unpinned anchors are listed once per kind and slug, in every slot', () => {
  assert.deepEqual(unpinnedAnchors(mixed), [
    { kind: 'tags', slug: 'partner' },
    { kind: 'users', slug: 'sam' },
    { kind: 'labels', slug: 'gold' },
  ]);
  assert.deepEqual(unpinnedAnchors({ version: 1, scopes: [] }), []);
});

test('pinning looks each bare slug up once, keeps pinned anchors, and does not change the grant it was given', async () => {
  const before = structuredClone(mixed);
  const l = lookup();
  const pinned = await pinAnchors(mixed, l.fn);
  assert.deepEqual(l.calls, ['tags:partner', 'users:sam', 'labels:gold']);
  assert.deepEqual(pinned.constraints, {
    posts: { tags: [TAG, { id: GHOST['tags:partner'], slug: 'partner' }], authors: [{ id: GHOST['users:sam'], slug: 'sam' }] },
    pages: { tags: [{ id: GHOST['tags:partner'], slug: 'partner' }], authors: [USER] },
    members: { labels: [{ id: GHOST['labels:gold'], slug: 'gold' }, LABEL] },
  });
  assert.deepEqual(mixed, before);
  assert.deepEqual(unpinnedAnchors(pinned), []);
});

test('a fully pinned grant is returned as it is, without a lookup', async () => {
  const g: Grant = { version: 1, scopes: ['posts:edit'], constraints: { posts: { tags: [TAG] } } };
  const l = lookup();
  assert.equal(await pinAnchors(g, l.fn), g);
  assert.deepEqual(l.calls, []);
});

test("a child reuses its parent's pins for the same kind and slug, and looks up the others", async () => {
  const l = lookup();
  const known = [
    { kind: 'tags' as const, anchor: { id: 'c00000000000000000000001', slug: 'partner' } },
    { kind: 'users' as const, anchor: { id: 'c00000000000000000000002', slug: 'gold' } }, // same slug, other kind
  ];
  const pinned = await pinAnchors(mixed, l.fn, known);
  assert.deepEqual(l.calls, ['users:sam', 'labels:gold']);
  assert.deepEqual(pinned.constraints?.posts?.tags, [TAG, { id: 'c00000000000000000000001', slug: 'partner' }]);
  assert.deepEqual(pinned.constraints?.members?.labels, [{ id: GHOST['labels:gold'], slug: 'gold' }, LABEL]);
});

test('a slug that names no record in Ghost fails the pinning (a constraint must name an existing record)', async () => {
  const g: Grant = { version: 1, scopes: ['posts:edit'], constraints: { posts: { tags: ['nowhere'] } } };
  await assert.rejects(pinAnchors(g, lookup().fn), AnchorError);
});

test('ids are read only from pinned anchors; a bare slug fails closed', () => {
  assert.deepEqual(anchorIds([TAG, USER]), [TAG.id, USER.id]);
  assert.throws(() => anchorIds([TAG, 'news']), /not pinned/);
});

test('pinned anchors are listed by kind, bare slugs left out', () => {
  assert.deepEqual(pinnedAnchors(mixed), [
    { kind: 'tags', anchor: TAG },
    { kind: 'users', anchor: USER },
    { kind: 'labels', anchor: LABEL },
  ]);
});

test("the lookup path is Ghost's by-slug route, the slug percent-encoded", () => {
  assert.equal(anchorPath('tags', 'a b/c'), 'tags/slug/a%20b%2Fc/?fields=id,slug');
  assert.equal(anchorPath('users', 'jo'), 'users/slug/jo/?fields=id,slug');
});

test('slots a constraint does not name stay absent after pinning', async () => {
  const g: Grant = { version: 1, scopes: ['posts:edit'], constraints: { posts: { tags: ['partner'] } } };
  const pinned = await pinAnchors(g, lookup().fn);
  assert.deepEqual(pinned.constraints, { posts: { tags: [{ id: GHOST['tags:partner'], slug: 'partner' }] } });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELATIONS, readRelation, resolveReferences, lookupKey, type Reading } from './relations.js';
import { LABELS, TAGS, USERS, answer } from './world.test.support.js';

const ok = (r: Reading) => {
  assert.ok(r.ok, r.ok ? '' : r.why);
  return r;
};
const resolve = (field: 'tags' | 'authors' | 'labels', list: unknown) => {
  const r = ok(readRelation(field, list));
  return resolveReferences(field, r.refs, answer(r.lookups));
};
const partner = TAGS.partner!;
const news = TAGS.news!;

test('a tag by id alone resolves to that tag and writes nothing to it', () => {
  assert.deepEqual(resolve('tags', [{ id: partner.id }]), [{ kind: 'existing', id: partner.id }]);
});

test('a tag by id with another slug is a rename of that tag (the review’s site-wide rename)', () => {
  assert.deepEqual(resolve('tags', [{ id: news.id, slug: 'partner' }]), [{ kind: 'modifies', id: news.id, fields: ['slug'] }]);
});

test('a tag by id with its own current name and slug (a round-tripped object) writes nothing', () => {
  assert.deepEqual(resolve('tags', [{ ...partner, description: 'ignored by Ghost' }]), [{ kind: 'existing', id: partner.id }]);
});

test('a tag by slug alone resolves by slug; a slug Ghost would rewrite is refused', () => {
  assert.deepEqual(resolve('tags', [{ slug: 'partner' }]), [{ kind: 'existing', id: partner.id }]);
  for (const slug of ['Partner', 'partner!', 'rss', 'amp', 'new', 'ghost', '-partner', 'part  ner']) {
    const r = readRelation('tags', [{ slug }]);
    assert.equal(r.ok, false, slug);
  }
  assert.equal(readRelation('tags', [{ slug: 'blog' }], ['blog']).ok, false, 'a sub-directory segment is rewritten too');
});

test('a tag by name and slug that matches no tag exactly creates one (the review’s partner-3)', () => {
  assert.deepEqual(resolve('tags', [{ slug: 'partner', name: 'Partner!' }]), [{ kind: 'creates', fields: ['name', 'slug'] }]);
  assert.deepEqual(resolve('tags', ['Brand new']), [{ kind: 'creates', fields: ['name'] }]);
  assert.deepEqual(resolve('tags', [{ name: 'Partner' }]), [{ kind: 'existing', id: partner.id }]);
});

test('an unknown tag id with a name creates a tag; without one it names no record', () => {
  const unknown = 'e'.repeat(24);
  assert.deepEqual(resolve('tags', [{ id: unknown, name: 'x' }]), [{ kind: 'creates', fields: ['name'] }]);
  assert.equal(resolve('tags', [{ id: unknown }])[0]!.kind, 'ambiguous');
});

test('a later tag with the same name (any case) is dropped, as Ghost drops it', () => {
  const r = ok(readRelation('tags', [{ name: 'Partner' }, { name: 'PARTNER', slug: 'internal' }]));
  assert.equal(r.refs.length, 1);
});

test('tag references that are not strings or objects, or name nothing, are refused', () => {
  const refused = [
    ...[[1], [null], [[]], [{}], [{ description: 'x' }], [{ id: 5 }], [{ id: 'not-an-id' }], 'partner'],
    // Every one of id, name and slug must be a string when sent, even beside a good one.
    ...[[{ name: 'News', slug: 5 }], [{ name: 5, slug: 'news' }]],
    // An id is exactly 24 hexadecimal digits.
    ...[[{ id: `x${partner.id}` }], [{ id: `${partner.id}0` }]],
  ];
  for (const list of refused) assert.equal(readRelation('tags', list).ok, false, JSON.stringify(list));
});

test('posts and pages read tags (as tags) and authors (as staff users); members read labels', () => {
  const posts = [
    { field: 'tags', target: 'tags' },
    { field: 'authors', target: 'users' },
  ];
  assert.deepEqual(RELATIONS, { posts, pages: posts, members: [{ field: 'labels', target: 'labels' }] });
});

test('authors resolve by id, else slug, else email; an author Ghost cannot find (it would use the Owner) is refused', () => {
  const olive = USERS.olive!;
  const ed = USERS.ed!;
  assert.deepEqual(resolve('authors', [{ id: ed.id, slug: 'olive' }]), [{ kind: 'existing', id: ed.id }], 'the id wins over the slug');
  assert.deepEqual(resolve('authors', [{ slug: 'olive', email: ed.email }]), [{ kind: 'existing', id: olive.id }]);
  assert.deepEqual(resolve('authors', ['ed@example.com']), [{ kind: 'existing', id: ed.id }], 'a string is an email');
  assert.equal(resolve('authors', [{ slug: 'nobody' }])[0]!.kind, 'ambiguous');
  assert.equal(readRelation('authors', [{ name: 'Olive' }]).ok, false);
});

test('member labels match every existing label by lower-cased name and take its id', () => {
  const vip = LABELS.vip!;
  assert.deepEqual(resolve('labels', ['vip']), [{ kind: 'existing', id: vip.id }]);
  assert.deepEqual(
    resolve('labels', [{ name: ' VIP ', id: LABELS.partner!.id }]),
    [{ kind: 'existing', id: vip.id }],
    'the sent id loses to the name',
  );
  assert.deepEqual(resolve('labels', [{ name: 'Gold' }]), [{ kind: 'creates', fields: ['name'] }]);
  assert.deepEqual(
    resolve('labels', [{ name: 'Gold', id: vip.id }]),
    [{ kind: 'modifies', id: vip.id, fields: ['name'] }],
    'an unmatched name with an id renames that label',
  );
  assert.deepEqual(resolve('labels', [{ id: vip.id }, { slug: 'vip' }]), [], 'nameless labels are dropped');
});

test('lookups are asked with Ghost’s filter syntax, each reference exactly', () => {
  const r = ok(readRelation('tags', [{ name: "O'Reilly" }, { id: partner.id }]));
  assert.deepEqual(r.lookups.map(lookupKey), ["tags?name:'O\\'Reilly'", `tags?id:'${partner.id}'`]);
  assert.equal(readRelation('tags', [{ name: 'back\\slash' }]).ok, false, 'no faithful spelling: refused');
});

// ---- Each reading rule on its own (mutation testing).
test('tag references: what an id reference sets, how a name and slug are looked up, and one lookup per question', () => {
  const byId = ok(readRelation('tags', [{ id: partner.id, name: 'N', slug: 's' }]));
  assert.deepEqual(byId.refs[0]!.sets, { name: 'N', slug: 's' });
  assert.equal(byId.refs[0]!.createsWhenMissing, true);
  assert.deepEqual(byId.refs[0]!.createFields, ['name', 'slug']);
  const bare = ok(readRelation('tags', [{ id: partner.id }]));
  assert.deepEqual(bare.refs[0]!.sets, {});
  assert.equal(bare.refs[0]!.createsWhenMissing, false);
  const both = ok(readRelation('tags', [{ name: 'News', slug: 'news' }]));
  assert.deepEqual(both.lookups.map(lookupKey), ["tags?name:'News'+slug:'news'"]);
  assert.equal(ok(readRelation('tags', [{ slug: 'news' }])).refs[0]!.createsWhenMissing, false, 'a slug alone creates nothing');
  assert.equal(ok(readRelation('tags', [{ id: partner.id }, { id: partner.id }])).lookups.length, 1);
  assert.equal(ok(readRelation('tags', [{ slug: 'news' }, { name: 'Other' }])).lookups.length, 2);
  assert.deepEqual(ok(readRelation('tags', [])).lookups, []);
  for (const k of ['name', 'slug']) assert.equal(readRelation('tags', [{ [k]: 5 }]).ok, false, k);
  assert.equal(readRelation('tags', [{ name: 'A' }, { name: 'a' }]).ok, true);
  assert.equal(
    ok(readRelation('tags', [{ name: 'A' }, { name: 'a' }, { name: 'B' }]))
      .refs.map((r) => r.index)
      .join(),
    '0,2',
  );
  assert.equal(readRelation('tags', [{ slug: 'ok-slug-2' }]).ok, true);
});

test('resolving: several matches are ambiguous; a record with the sent values is existing, otherwise modified', () => {
  const r = ok(readRelation('tags', [{ id: partner.id, name: 'Partner' }, { slug: 'news' }]));
  const answers = new Map([
    [lookupKey(r.lookups[0]!), [partner]],
    [lookupKey(r.lookups[1]!), [news, partner]],
  ]);
  const out = resolveReferences('tags', r.refs, answers);
  assert.deepEqual(out[0], { kind: 'existing', id: partner.id });
  assert.equal(out[1]!.kind, 'ambiguous');
  assert.deepEqual(
    resolveReferences('tags', r.refs, new Map())[0],
    { kind: 'creates', fields: ['name'] },
    'an unanswered id lookup with a name creates',
  );
  assert.equal(resolveReferences('tags', r.refs, new Map())[1]!.kind, 'ambiguous', 'a slug that matches nothing');
  assert.deepEqual(resolve('tags', [{ id: partner.id, name: 'Partner', slug: 'other' }]), [
    { kind: 'modifies', id: partner.id, fields: ['slug'] },
  ]);
});

test('author references: the first truthy of id, slug, email decides and must be a string', () => {
  const ed = USERS.ed!;
  assert.deepEqual(resolve('authors', [{ id: '', slug: 'ed' }]), [{ kind: 'existing', id: ed.id }]);
  assert.deepEqual(resolve('authors', [{ id: ed.id }, { id: ed.id }]), [
    { kind: 'existing', id: ed.id },
    { kind: 'existing', id: ed.id },
  ]);
  assert.equal(ok(readRelation('authors', [{ id: ed.id }, { id: ed.id }])).lookups.length, 1);
  for (const item of [{ id: 5 }, { slug: true }, { email: ['a'] }, null, 7, [ed.id], {}])
    assert.equal(readRelation('authors', [item]).ok, false, JSON.stringify(item));
  assert.equal(readRelation('authors', { id: ed.id }).ok, false);
});

test('label references: names trimmed, blank and repeated names dropped, ids checked, every label looked up', () => {
  const vip = LABELS.vip!;
  const r = ok(readRelation('labels', ['  ', { name: 'VIP', slug: 'v', id: vip.id }, 'vip', { name: null }, { name: 'Gold' }]));
  assert.deepEqual(
    r.refs.map((x) => x.labelName),
    ['VIP', 'Gold'],
  );
  assert.deepEqual(r.refs[0]!.sets, { slug: 'v' });
  assert.deepEqual(r.refs[0]!.createFields, ['name', 'slug']);
  assert.equal(r.refs[0]!.sentId, vip.id);
  assert.equal(r.refs[1]!.sentId, undefined);
  assert.deepEqual(r.lookups.map(lookupKey), ['labels?*', `labels?id:'${vip.id}'`]);
  assert.deepEqual(ok(readRelation('labels', [' '])).lookups, [], 'nothing to match: nothing asked');
  for (const item of [{ name: 5 }, { slug: 5 }, { id: 5 }, { name: 'x', id: 'nope' }, 7, null, ['x']])
    assert.equal(readRelation('labels', [item]).ok, false, JSON.stringify(item));
  assert.equal(readRelation('labels', [{ name: 'x', slug: null, id: null }]).ok, true, 'null is no value');
  assert.deepEqual(resolve('labels', [{ name: 'vip', slug: 'other' }]), [{ kind: 'modifies', id: vip.id, fields: ['slug'] }]);
  assert.deepEqual(resolve('labels', [{ name: 'vip', slug: vip.slug }]), [{ kind: 'existing', id: vip.id }]);
  assert.deepEqual(resolve('labels', [{ name: 'Gold', slug: 'gold' }]), [{ kind: 'creates', fields: ['name', 'slug'] }]);
  assert.deepEqual(
    resolve('labels', [{ name: 'Gold', id: 'f'.repeat(24) }]),
    [{ kind: 'creates', fields: ['name'] }],
    'an unknown id: a new label',
  );
  // Ghost keeps the last label of a name; labels without a name match nothing.
  const all = [{ id: 'x1', name: 'Dup' }, { id: 'x2', name: 'DUP' }, { id: 'x3', name: '' }, { id: 'x4' }];
  const refs = ok(readRelation('labels', ['dup'])).refs;
  assert.deepEqual(resolveReferences('labels', refs, new Map([['labels?*', all]])), [{ kind: 'existing', id: 'x2' }]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRelation, resolveReferences, lookupKey, type Reading } from './relations.js';
import { LABELS, TAGS, USERS, answer } from './world.test.support.js';

const ok = (r: Reading) => {
  assert.ok(r.ok, r.ok ? '' : r.why);
  return r as Extract<Reading, { ok: true }>;
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
  for (const slug of ['Partner', 'partner!', 'rss', 'new', 'ghost', '-partner', 'part  ner']) {
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
  for (const list of [[1], [null], [[]], [{}], [{ description: 'x' }], [{ id: 5 }], [{ id: 'not-an-id' }], 'partner']) assert.equal(readRelation('tags', list).ok, false, JSON.stringify(list));
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
  assert.deepEqual(resolve('labels', [{ name: ' VIP ', id: LABELS.partner!.id }]), [{ kind: 'existing', id: vip.id }], 'the sent id loses to the name');
  assert.deepEqual(resolve('labels', [{ name: 'Gold' }]), [{ kind: 'creates', fields: ['name'] }]);
  assert.deepEqual(resolve('labels', [{ name: 'Gold', id: vip.id }]), [{ kind: 'modifies', id: vip.id, fields: ['name'] }], 'an unmatched name with an id renames that label');
  assert.deepEqual(resolve('labels', [{ id: vip.id }, { slug: 'vip' }]), [], 'nameless labels are dropped');
});

test('lookups are asked with Ghost’s filter syntax, each reference exactly', () => {
  const r = ok(readRelation('tags', [{ name: "O'Reilly" }, { id: partner.id }]));
  assert.deepEqual(r.lookups.map(lookupKey), ["tags?name:'O\\'Reilly'", `tags?id:'${partner.id}'`]);
  assert.equal(readRelation('tags', [{ name: 'back\\slash' }]).ok, false, 'no faithful spelling: refused');
});

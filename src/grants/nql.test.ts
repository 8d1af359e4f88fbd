import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterError, canonicalFilter, constrainFilter, filterKeys, parseFilter, sameFilter, serializeFilter } from './nql.js';

/** The gateway's NQL spelling: each operator, value kind and refusal (each assertion fails if its rule is dropped or weakened). */
const refused = (f: () => unknown, why?: string) => {
  assert.throws(f, FilterError, why);
};

test('serializeFilter: every operator and value kind in the spelling Ghost parses back', () => {
  const cases: [string, Record<string, unknown>][] = [
    ["status:'draft'", { status: 'draft' }],
    ['featured:true', { featured: true }],
    ['featured:false', { featured: false }],
    ['count:3', { count: 3 }],
    ['feature_image:null', { feature_image: null }],
    ["status:-'draft'", { status: { $ne: 'draft' } }],
    ["published_at:>'2020-01-01'", { published_at: { $gt: '2020-01-01' } }],
    ["published_at:>='2020-01-01'", { published_at: { $gte: '2020-01-01' } }],
    ["published_at:<'2020-01-01'", { published_at: { $lt: '2020-01-01' } }],
    ["published_at:<='2020-01-01'", { published_at: { $lte: '2020-01-01' } }],
    ["tag:['a','b']", { tag: { $in: ['a', 'b'] } }],
    ["tag:-['a']", { tag: { $nin: ['a'] } }],
    ["title:~'abc'", { title: { $regex: /abc/i } }],
    ["title:~^'abc'", { title: { $regex: /^abc/i } }],
    ["title:~$'abc'", { title: { $regex: /abc$/i } }],
    ["title:'it\\'s'", { title: "it's" }],
    ['a:1+(b:2,c:3)', { $and: [{ a: 1 }, { $or: [{ b: 2 }, { c: 3 }] }] }],
    ['a:1,(b:2+c:3)', { $or: [{ a: 1 }, { $and: [{ b: 2 }, { c: 3 }] }] }],
    ["authors.slug:'x'", { 'authors.slug': 'x' }],
  ];
  for (const [text, tree] of cases) {
    assert.equal(serializeFilter(tree), text, text);
    assert.ok(sameFilter(parseFilter(text), tree), `${text} parses back to its tree`);
  }
});

test('serializeFilter refuses what it cannot spell faithfully', () => {
  refused(() => serializeFilter({}));
  refused(() => serializeFilter({ a: 1, b: 2 }));
  refused(() => serializeFilter({ $and: [] }));
  refused(() => serializeFilter({ $or: { a: 1 } }));
  refused(() => serializeFilter({ $not: { a: 1 } }));
  refused(() => serializeFilter({ '1a': 1 }));
  refused(() => serializeFilter({ 'a-b': 1 }));
  refused(() => serializeFilter({ a: 'x\\y' }));
  refused(() => serializeFilter({ a: Number.POSITIVE_INFINITY }));
  refused(() => serializeFilter({ a: Number.NaN }));
  refused(() => serializeFilter({ a: undefined }));
  refused(() => serializeFilter({ a: { $in: [] } }));
  refused(() => serializeFilter({ a: { $in: 'x' } }));
  refused(() => serializeFilter({ a: { $gt: 1, $lt: 2 } }));
  refused(() => serializeFilter({ a: {} }));
  refused(() => serializeFilter({ a: { $like: 'x' } }));
  refused(() => serializeFilter({ a: { $regex: /x/ } }), 'a case-sensitive expression has no NQL spelling');
  refused(() => serializeFilter({ a: { $regex: /x/gi } }));
  refused(() => serializeFilter({ a: { $regex: 'x' } }));
  assert.equal(serializeFilter({ a: { $regex: /x\$/i } }), "a:~'x$'", 'an escaped dollar is a literal, not an end anchor');
  assert.equal(serializeFilter({ a: { $regex: /a\.b/i } }), "a:~'a.b'");
});

test('sameFilter compares trees by value, expressions by source and flags', () => {
  assert.ok(sameFilter({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }));
  assert.ok(!sameFilter({ a: [1, 2] }, { a: [1] }));
  assert.ok(!sameFilter({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!sameFilter({ a: 1 }, { a: 1, b: 1 }));
  assert.ok(!sameFilter({ a: 1, b: 1 }, { a: 1 }));
  assert.ok(!sameFilter({ a: 1 }, { b: 1 }));
  assert.ok(!sameFilter([1], { 0: 1 }));
  assert.ok(!sameFilter({ 0: 1 }, [1]));
  assert.ok(sameFilter(/a/i, /a/i));
  assert.ok(!sameFilter(/a/i, /a/));
  assert.ok(!sameFilter(/a/i, /b/i));
  assert.ok(!sameFilter(/a/i, 'a'));
  assert.ok(!sameFilter('a', /a/i));
  assert.ok(!sameFilter(null, {}));
  assert.ok(sameFilter(null, null));
  assert.ok(!sameFilter('1', 1));
});

test('constrainFilter ANDs the constraints to the client filter, keeps the spelling stable, and refuses an empty one', () => {
  assert.equal(constrainFilter('tag:news', [{ status: { $in: ['draft'] } }]), "tag:'news'+status:['draft']");
  assert.equal(
    constrainFilter('tag:news', [{ status: { $in: ['draft'] } }]),
    "tag:'news'+status:['draft']",
    'the remembered proof is the same',
  );
  assert.equal(constrainFilter('tag:news,tag:x', [{ a: 1 }]), "(tag:'news',tag:'x')+a:1");
  assert.equal(constrainFilter(undefined, [{ a: 1 }]), 'a:1');
  assert.equal(constrainFilter('  ', [{ a: 1 }]), 'a:1', 'a blank filter is no filter');
  assert.equal(constrainFilter(undefined, [{ a: 1 }, { b: 2 }]), 'a:1+b:2');
  refused(() => constrainFilter(undefined, []));
  refused(() => canonicalFilter(''));
  assert.equal(canonicalFilter('a:1,b:2'), 'a:1,b:2', 'a top-level OR is not parenthesised for Ghost’s own parentheses');
  assert.equal(canonicalFilter('a:1,b:2', 'raw'), '(a:1,b:2)', 'but is where Ghost appends without them');
  assert.equal(canonicalFilter('a:1+b:2', 'raw'), 'a:1+b:2');
  refused(() => canonicalFilter('((a:1,b:2))'));
  refused(() => canonicalFilter('a:'));
  // Relative dates are resolved when parsed: each call proves its own.
  assert.equal(constrainFilter('published_at:>now-30d', [{ a: 1 }]), constrainFilter('published_at:>now-30d', [{ a: 1 }]));
});

test('filterKeys: every field a filter tests, as written, through groups', () => {
  assert.deepEqual(filterKeys("tag:news+(EMAIL:~'a',authors.email:-null)"), ['tag', 'EMAIL', 'authors.email']);
  assert.deepEqual(filterKeys('status:[draft,published]'), ['status']);
  refused(() => filterKeys('a:('));
});

import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FilterError,
  canonicalFilter,
  constrainFilter,
  filterKeys,
  matchesFilter,
  parseFilter,
  sameFilter,
  serializeFilter,
} from './nql.js';

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
  refused(() => serializeFilter({ a: { $like: /x/i } }), 'an unknown operator is refused whatever its value');
  assert.equal(serializeFilter({ a: { $regex: /x\$/i } }), "a:~'x$'", 'an escaped dollar is a literal, not an end anchor');
  assert.equal(serializeFilter({ a: { $regex: /a\.b/i } }), "a:~'a.b'");
});

test('sameFilter compares trees by value, expressions by source and flags', () => {
  assert.ok(sameFilter({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), 'sameFilter({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })');
  assert.ok(!sameFilter({ a: [1, 2] }, { a: [1] }), '!sameFilter({ a: [1, 2] }, { a: [1] })');
  assert.ok(!sameFilter({ a: [1, 2] }, { a: [2, 1] }), '!sameFilter({ a: [1, 2] }, { a: [2, 1] })');
  assert.ok(!sameFilter({ a: 1 }, { a: 1, b: 1 }), '!sameFilter({ a: 1 }, { a: 1, b: 1 })');
  assert.ok(!sameFilter({ a: 1, b: 1 }, { a: 1 }), '!sameFilter({ a: 1, b: 1 }, { a: 1 })');
  assert.ok(!sameFilter({ a: 1 }, { b: 1 }), '!sameFilter({ a: 1 }, { b: 1 })');
  assert.ok(!sameFilter([1], { 0: 1 }), '!sameFilter([1], { 0: 1 })');
  assert.ok(!sameFilter({ 0: 1 }, [1]), '!sameFilter({ 0: 1 }, [1])');
  assert.ok(sameFilter(/a/i, /a/i), 'sameFilter(/a/i, /a/i)');
  assert.ok(!sameFilter(/a/i, /a/), '!sameFilter(/a/i, /a/)');
  assert.ok(!sameFilter(/a/i, /b/i), '!sameFilter(/a/i, /b/i)');
  assert.ok(!sameFilter(/a/i, 'a'), "!sameFilter(/a/i, 'a')");
  assert.ok(!sameFilter('a', /a/i), "!sameFilter('a', /a/i)");
  assert.ok(!sameFilter(null, {}), '!sameFilter(null, {})');
  assert.ok(sameFilter(null, null), 'sameFilter(null, null)');
  assert.ok(!sameFilter('1', 1), "!sameFilter('1', 1)");
  assert.ok(!sameFilter([1], [1, 2]), 'a longer list is not the same');
  assert.ok(!sameFilter([1, 2], [1, 3]), 'every item must match');
  assert.ok(!sameFilter({ a: 1, b: 1 }, { a: 1, b: 2 }), 'every key must match');
  assert.ok(!sameFilter(/a/i, {}), 'an expression is not an empty object');
  assert.ok(!sameFilter({}, /a/i), '!sameFilter({}, /a/i)');
  assert.ok(!sameFilter('ab', { 0: 'a', 1: 'b' }), 'a string is not an object of its characters');
  assert.ok(!sameFilter({ 0: 'a', 1: 'b' }, 'ab'), "!sameFilter({ 0: 'a', 1: 'b' }, 'ab')");
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

test('a tree is forwarded only if Ghost reads its spelling the same alone and inside the condition Ghost appends', () => {
  // Alone, `(a:1,b:2)` reads as the OR; inside Ghost's parentheses it is a group in a group, which nql-lang reads as a field.
  refused(() => constrainFilter(undefined, [{ $or: [{ $or: [{ a: 1 }, { b: 2 }] }] }]));
  // The other way round: with Ghost's unparenthesised append the AND of one OR reads the same, alone it does not.
  refused(() => constrainFilter(undefined, [{ $and: [{ $or: [{ a: 1 }, { b: 2 }] }] }], 'raw'));
  // A constraint Ghost would read differently is refused even beside other conditions.
  refused(() => constrainFilter('x:1', [{ title: { $regex: /a.b/i } }]));
  assert.equal(canonicalFilter('tag:[null]'), 'tag:[null]', 'a null in a list is a value');
});

test('a relative date is resolved at each call, never served from the remembered proofs', (t) => {
  mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-10T12:00:00Z') });
  t.after(() => mock.timers.reset());
  const first = constrainFilter('published_at:>now-1d', [{ a: 1 }]);
  mock.timers.setTime(Date.parse('2026-01-20T12:00:00Z'));
  const later = constrainFilter('published_at:>now-1d', [{ a: 1 }]);
  assert.notEqual(first, later);
  assert.equal(later, constrainFilter(`published_at:>'${/'(.*)'/.exec(later)![1]}'`, [{ a: 1 }]), 'resolved to a date');
});

test('matchesFilter applies the expansions it is given', () => {
  const post = { tags: [{ slug: 'news' }] };
  assert.equal(matchesFilter('tag:news', post, [{ key: 'tag', replacement: 'tags.slug' }]), true);
  assert.equal(matchesFilter('tag:news', post), false);
});

test('filterKeys: every field a filter tests, as written, through groups', () => {
  assert.deepEqual(filterKeys("tag:news+(EMAIL:~'a',authors.email:-null)"), ['tag', 'EMAIL', 'authors.email']);
  assert.deepEqual(filterKeys('status:[draft,published]'), ['status']);
  refused(() => filterKeys('a:('));
});

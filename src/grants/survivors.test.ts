import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subGrantProblems } from './attenuate.js';
import { GrantSchema } from './grant.js';
import { constrainFilter, FilterError } from './nql.js';
import { redact, redactionsOf } from './personal-data.js';

/**
 * Grant rules that hand-made mutants once changed without any unit test
 * noticing (issue 18). Each test fails when its rule is removed.
 */
const g = (doc: Record<string, unknown>) => GrantSchema.parse({ version: 1, ...doc });

test('the NQL round-trip proof refuses a filter whose text Ghost would read as another filter', () => {
  // /a.b/ matches "axb"; serialised as title:~'a.b', Ghost reads the dot literally. Only the proof sees it.
  assert.throws(() => constrainFilter(undefined, [{ title: { $regex: /a.b/i } }]), FilterError);
  assert.equal(constrainFilter(undefined, [{ title: { $regex: /a\.b/i } }]), "title:~'a.b'");
});

test('redaction reaches every place a type appears: authors, primary_author, nested members', () => {
  const rules = redactionsOf(g({ scopes: ['posts:browse'], redact: { users: ['email'], members: ['email'] } }))!;
  const body = {
    posts: [{ authors: [{ id: 'u1', email: 'a@x' }], primary_author: { id: 'u1', email: 'a@x' } }],
    users: [{ id: 'u2', email: 'b@x' }],
    comments: [{ member: { id: 'm1', email: 'c@x' } }],
  };
  assert.equal(redact(body, rules), 4);
  assert.ok(!JSON.stringify(body).includes('@x'), JSON.stringify(body));
});

// [the part of the parent's grant, a child that drops or widens it]
const CHILD_MAY_NOT: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['a visibility constraint', { constraints: { posts: { visibility: ['public'] } } }, { constraints: { posts: { tags: ['news'] } } }],
  [
    'a visibility constraint (widened)',
    { constraints: { posts: { visibility: ['public'] } } },
    { constraints: { posts: { visibility: ['public', 'paid'] } } },
  ],
  ['an author constraint', { constraints: { posts: { authors: ['ann'] } } }, { constraints: { posts: { visibility: ['public'] } } }],
  ['a status constraint', { constraints: { posts: { status: ['draft'] } } }, { constraints: { posts: { tags: ['news'] } } }],
  ['a member label constraint', { constraints: { members: { labels: ['vip'] } } }, { constraints: { members: { status: ['free'] } } }],
  ['one of two redactions of a type', { redact: { users: ['email', 'name'] } }, { redact: { users: ['email'] } }],
  ['the redactions of one of two types', { redact: { users: ['email'], members: ['email'] } }, { redact: { users: ['email'] } }],
  ['a field allowlist (widened)', { fields: { posts: { allow: ['title'] } } }, { fields: { posts: { allow: ['title', 'html'] } } }],
];
for (const [what, parent, child] of CHILD_MAY_NOT) {
  test(`a child key may not drop its parent's ${what}`, () => {
    const p = g({ scopes: ['posts:browse', 'members:browse'], ...parent });
    assert.notDeepEqual(subGrantProblems(g({ scopes: ['posts:browse'], ...child }), p), []);
    assert.deepEqual(subGrantProblems(g({ scopes: ['posts:browse'], ...parent }), p), [], 'restating the parent is fine');
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ceilingRole, narrowPart, narrowProblems, type Narrow } from './narrow.js';

test('a child may lower the invite ceiling, never raise or drop it', () => {
  const table: [Narrow | undefined, Narrow | undefined, number][] = [
    [{ invites: { maxRole: 'author' } }, { invites: { maxRole: 'author' } }, 0],
    [{ invites: { maxRole: 'contributor' } }, { invites: { maxRole: 'author' } }, 0],
    [{ invites: { maxRole: 'editor' } }, { invites: { maxRole: 'author' } }, 1],
    [{ invites: { maxRole: 'administrator' } }, { invites: { maxRole: 'super-editor' } }, 1],
    [{}, { invites: { maxRole: 'author' } }, 1],
    [undefined, { invites: { maxRole: 'author' } }, 1],
    // A parent without a ceiling leaves the child free (its scopes are checked elsewhere).
    [{ invites: { maxRole: 'administrator' } }, undefined, 0],
    [undefined, {}, 0],
  ];
  for (const [child, parent, problems] of table) {
    assert.equal(narrowProblems(child, parent).length, problems, `${JSON.stringify(child)} under ${JSON.stringify(parent)}`);
  }
});

test('a child of a parent that keeps the active theme must keep it too', () => {
  const keep: Narrow = { themes: { keepActive: true } };
  assert.equal(narrowProblems(keep, keep).length, 0);
  assert.equal(narrowProblems({}, keep).length, 1);
  assert.equal(narrowProblems(undefined, keep).length, 1);
  assert.equal(narrowProblems(keep, {}).length, 0);
  assert.equal(narrowProblems({ invites: { maxRole: 'author' } }, { invites: { maxRole: 'author' }, ...keep }).length, 1);
});

test("a child that names no narrow forms inherits a copy of its parent's", () => {
  const parent = {
    version: 1 as const,
    scopes: [],
    narrow: { invites: { maxRole: 'author' as const }, themes: { keepActive: true as const } },
  };
  const inherited = narrowPart.inherit!({ version: 1, scopes: [] }, parent);
  assert.deepEqual(inherited, parent.narrow);
  assert.notEqual(inherited, parent.narrow, 'a copy, not the same object');
  assert.equal(narrowPart.inherit!({ version: 1, scopes: [], narrow: {} }, parent), undefined);
  assert.equal(narrowPart.inherit!({ version: 1, scopes: [] }, { version: 1, scopes: [] }), undefined);
  assert.equal(narrowPart.subset({ version: 1, scopes: [] }, parent).length, 2);
});

test('each ceiling names the Ghost staff role of that rank', () => {
  assert.deepEqual((['contributor', 'author', 'editor', 'super-editor', 'administrator'] as const).map(ceilingRole), [
    'Contributor',
    'Author',
    'Editor',
    'Super Editor',
    'Administrator',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import type { Constraint } from './constraints.js';
import {
  checkBodyConstraint,
  checkBulkAddTags,
  checkBulkEdit,
  checkFields,
  checkQueryFields,
  isWriteWithBody,
  type BodyVerdict,
  type RelationFacts,
} from './fields.js';
import type { FieldRule } from './grant.js';

/** Field rules, body constraints and bulk actions, rule by rule (each assertion fails if its rule is dropped or weakened). */
const A = 'a'.repeat(24);
const B = 'b'.repeat(24);
const C = 'c'.repeat(24);
const verdict = (v: BodyVerdict) => (v.ok ? 'ok' : `${v.code}${v.field === undefined ? '' : `:${v.field}`}`);
const facts = (entries: Record<string, { ids: string[]; changes?: boolean }>): RelationFacts =>
  new Map(Object.entries(entries).map(([k, v]) => [k, { ids: v.ids, changes: v.changes ?? false }]));

test('checkFields: an allow list admits only its fields, and always id and updated_at', () => {
  const rule: FieldRule = { allow: ['title'] };
  assert.equal(verdict(checkFields(rule, { title: 'x', id: A, updated_at: 'now' }, undefined)), 'ok');
  assert.equal(verdict(checkFields(rule, { title: 'x', slug: 'y' }, undefined)), 'FIELD_REFUSED:slug');
  assert.equal(verdict(checkFields(undefined, { anything: 1 }, undefined)), 'ok');
  assert.equal(
    verdict(checkFields({ deny: ['featured'] }, { id: A, title: 'x' }, undefined)),
    'ok',
    'no allow list: every field not denied',
  );
});

test('checkFields: a denied field may not be set on add, nor changed on edit; sent unchanged it passes', () => {
  const rule: FieldRule = { deny: ['featured', 'codeinjection_head'] };
  assert.equal(verdict(checkFields(rule, { featured: false }, undefined)), 'FIELD_REFUSED:featured');
  assert.equal(verdict(checkFields(rule, { featured: false }, { featured: false })), 'ok');
  assert.equal(verdict(checkFields(rule, { featured: true }, { featured: false })), 'FIELD_REFUSED:featured');
  assert.equal(verdict(checkFields(rule, { codeinjection_head: { a: 1 } }, { codeinjection_head: { a: 1 } })), 'ok', 'compared by value');
  assert.equal(
    verdict(checkFields(rule, { codeinjection_head: { a: 2 } }, { codeinjection_head: { a: 1 } })),
    'FIELD_REFUSED:codeinjection_head',
  );
  assert.equal(
    verdict(checkFields(rule, { featured: false }, {})),
    'FIELD_REFUSED:featured',
    'a value the record does not show is a change',
  );
});

test('checkFields: a denied relation is judged by the ids its references resolve to', () => {
  const rule: FieldRule = { deny: ['tags'] };
  const current = { tags: [{ id: A }, { id: B }] };
  const body = { tags: [{ slug: 'b' }, { slug: 'a' }] };
  assert.equal(verdict(checkFields(rule, body, current, facts({ tags: { ids: [B, A] } }))), 'ok', 'the same tags in another order');
  assert.equal(verdict(checkFields(rule, body, current, facts({ tags: { ids: [A] } }))), 'FIELD_REFUSED:tags');
  assert.equal(verdict(checkFields(rule, body, current, facts({ tags: { ids: [A, C] } }))), 'FIELD_REFUSED:tags');
  assert.equal(verdict(checkFields(rule, body, current, facts({ tags: { ids: [A, B, C] } }))), 'FIELD_REFUSED:tags');
  assert.equal(
    verdict(checkFields(rule, body, current, facts({ tags: { ids: [A, B], changes: true } }))),
    'FIELD_REFUSED:tags',
    'a rename through a reference is a change',
  );
  assert.equal(verdict(checkFields(rule, body, current, new Map())), 'FIELD_REFUSED:tags', 'unresolved references are not unchanged');
  assert.equal(verdict(checkFields(rule, body, { tags: [{ id: A }, { id: A }] }, facts({ tags: { ids: [A, B] } }))), 'FIELD_REFUSED:tags');
  assert.equal(
    verdict(checkFields(rule, { tags: [] }, {}, facts({ tags: { ids: [] } }))),
    'FIELD_REFUSED:tags',
    'a record that does not show its tags cannot show them unchanged',
  );
  assert.equal(verdict(checkFields(rule, body, { tags: [{ id: A }, null] }, facts({ tags: { ids: [A] } }))), 'FIELD_REFUSED:tags');
  for (const field of ['authors', 'labels']) {
    const sent = { [field]: [{ slug: 'c' }] };
    assert.equal(verdict(checkFields({ deny: [field] }, sent, { [field]: [{ id: C }] }, facts({ [field]: { ids: [C] } }))), 'ok', field);
  }
  // While the lookups are pending, an edit's relation fields wait; an add's are refused at once.
  assert.equal(verdict(checkFields(rule, body, current, 'pending')), 'ok');
  assert.equal(verdict(checkFields(rule, body, undefined, 'pending')), 'FIELD_REFUSED:tags');
  assert.equal(
    verdict(checkFields({ deny: ['featured'] }, { featured: true }, { featured: false }, 'pending')),
    'FIELD_REFUSED:featured',
    'other fields are judged while pending',
  );
});

test('checkFields: a status rule limits what a write sets; a new post is a draft; an unchanged status passes', () => {
  const published: FieldRule = { status: ['published'] };
  const drafts: FieldRule = { status: ['draft'] };
  assert.equal(
    verdict(checkFields(published, { title: 'x' }, undefined)),
    'FIELD_REFUSED:status',
    'a new post without a status is a draft',
  );
  assert.equal(verdict(checkFields(drafts, { title: 'x' }, undefined)), 'ok');
  assert.equal(verdict(checkFields(drafts, { status: 'published' }, undefined)), 'FIELD_REFUSED:status');
  assert.equal(verdict(checkFields(drafts, { title: 'x' }, { status: 'published' })), 'ok', 'an edit that leaves the status');
  assert.equal(verdict(checkFields(published, { title: 'x' }, { status: 'published' })), 'ok', 'an edit is no new post');
  assert.equal(verdict(checkFields(drafts, { status: 'published' }, { status: 'published' })), 'ok');
  assert.equal(verdict(checkFields(drafts, { status: 'scheduled' }, { status: 'published' })), 'FIELD_REFUSED:status');
  assert.equal(verdict(checkFields(drafts, { status: 'draft' }, { status: 'published' })), 'ok');
});

const tagged: Constraint = { kind: 'post', c: { tags: [{ id: A, slug: 'a' }] } };
test('checkBodyConstraint: a new record must carry the anchor; an edit may leave its relations alone', () => {
  assert.equal(verdict(checkBodyConstraint(undefined, { title: 'x' }, undefined, true)), 'ok');
  assert.equal(verdict(checkBodyConstraint(tagged, { title: 'x' }, undefined, true)), 'BODY_OUTSIDE_GRANT:tags');
  assert.equal(verdict(checkBodyConstraint(tagged, { title: 'x' }, { tags: [] }, false)), 'ok');
  assert.equal(verdict(checkBodyConstraint(tagged, { tags: [] }, undefined, true, 'pending')), 'ok', 'judged once resolved');
  assert.equal(
    verdict(checkBodyConstraint(tagged, { tags: [] }, undefined, true, new Map())),
    'BODY_INVALID:tags',
    'unresolved: fail closed',
  );
  assert.equal(verdict(checkBodyConstraint(tagged, { tags: [] }, undefined, true, facts({ tags: { ids: [B, A] } }))), 'ok');
  assert.equal(
    verdict(checkBodyConstraint(tagged, { tags: [] }, undefined, false, facts({ tags: { ids: [B] } }))),
    'BODY_OUTSIDE_GRANT:tags',
  );
  const byAuthor: Constraint = { kind: 'post', c: { authors: [{ id: C, slug: 'c' }] } };
  assert.equal(
    verdict(checkBodyConstraint(byAuthor, { authors: [] }, undefined, true, facts({ authors: { ids: [A] } }))),
    'BODY_OUTSIDE_GRANT:authors',
  );
  assert.equal(verdict(checkBodyConstraint(byAuthor, { authors: [] }, undefined, true, facts({ authors: { ids: [C] } }))), 'ok');
  const labelled: Constraint = { kind: 'member', c: { labels: [{ id: B, slug: 'b' }] } };
  assert.equal(verdict(checkBodyConstraint(labelled, { email: 'a@b.c' }, undefined, true)), 'BODY_OUTSIDE_GRANT:labels');
  assert.equal(verdict(checkBodyConstraint(labelled, { labels: [] }, undefined, true, facts({ labels: { ids: [B] } }))), 'ok');
  assert.equal(
    verdict(checkBodyConstraint({ kind: 'member', c: { status: ['free'] } }, { email: 'a@b.c' }, undefined, true)),
    'ok',
    'a member status is judged by checkMemberWrite',
  );
});

test('checkBodyConstraint: status and visibility as the record will have them (new posts: draft, public)', () => {
  const drafts: Constraint = { kind: 'post', c: { status: ['draft'] } };
  assert.equal(verdict(checkBodyConstraint(drafts, { title: 'x' }, undefined, true)), 'ok');
  assert.equal(
    verdict(checkBodyConstraint({ kind: 'post', c: { status: ['published'] } }, { title: 'x' }, undefined, true)),
    'BODY_OUTSIDE_GRANT:status',
  );
  assert.equal(verdict(checkBodyConstraint(drafts, { status: 'published' }, { status: 'draft' }, false)), 'BODY_OUTSIDE_GRANT:status');
  assert.equal(
    verdict(checkBodyConstraint(drafts, { title: 'x' }, { status: 'published' }, false)),
    'BODY_OUTSIDE_GRANT:status',
    'the current status counts when the body leaves it',
  );
  assert.equal(verdict(checkBodyConstraint(drafts, { title: 'x' }, { status: 'draft' }, false)), 'ok');
  const open: Constraint = { kind: 'post', c: { visibility: ['public'] } };
  assert.equal(verdict(checkBodyConstraint(open, { title: 'x' }, undefined, true)), 'ok');
  assert.equal(
    verdict(checkBodyConstraint({ kind: 'post', c: { visibility: ['paid'] } }, { title: 'x' }, undefined, true)),
    'BODY_OUTSIDE_GRANT:visibility',
  );
  assert.equal(
    verdict(checkBodyConstraint(open, { visibility: 'members' }, { visibility: 'public' }, false)),
    'BODY_OUTSIDE_GRANT:visibility',
  );
  assert.equal(verdict(checkBodyConstraint(open, { title: 'x' }, { visibility: 'paid' }, false)), 'BODY_OUTSIDE_GRANT:visibility');
});

test('checkBulkEdit: each action changes one field, judged by the field rules and the constraint', () => {
  const bulk = (action: unknown) => ({ bulk: { action } });
  assert.equal(verdict(checkBulkEdit(undefined, undefined, {})), 'BODY_INVALID');
  assert.equal(verdict(checkBulkEdit(undefined, undefined, bulk(7))), 'BODY_INVALID');
  assert.equal(verdict(checkBulkEdit(undefined, undefined, bulk('destroyAll'))), 'FIELD_REFUSED:destroyAll');
  assert.equal(verdict(checkBulkEdit(undefined, undefined, bulk('feature'))), 'ok');
  assert.equal(verdict(checkBulkEdit({ deny: ['status'] }, undefined, bulk('unpublish'))), 'FIELD_REFUSED:status');
  assert.equal(verdict(checkBulkEdit({ deny: ['status'] }, undefined, bulk('unschedule'))), 'FIELD_REFUSED:status');
  assert.equal(verdict(checkBulkEdit({ allow: ['featured'] }, undefined, bulk('feature'))), 'ok');
  assert.equal(verdict(checkBulkEdit({ allow: ['featured'] }, undefined, bulk('access'))), 'FIELD_REFUSED:visibility');
  assert.equal(
    verdict(checkBulkEdit({ status: ['published'] }, undefined, bulk('unpublish'))),
    'FIELD_REFUSED:status',
    'unpublishing makes drafts',
  );
  assert.equal(verdict(checkBulkEdit({ status: ['draft', 'published'] }, undefined, bulk('unpublish'))), 'ok');
  assert.equal(verdict(checkBulkEdit({ status: ['published'] }, undefined, bulk('feature'))), 'ok');
  for (const deny of ['labels', 'newsletters']) {
    for (const action of deny === 'labels' ? ['addLabel', 'removeLabel'] : ['unsubscribe'])
      assert.equal(verdict(checkBulkEdit({ deny: [deny] }, undefined, bulk(action))), `FIELD_REFUSED:${deny}`, action);
  }
  const visible: Constraint = { kind: 'post', c: { visibility: ['public'] } };
  assert.equal(verdict(checkBulkEdit(undefined, visible, bulk('access'))), 'BODY_OUTSIDE_GRANT:visibility');
  assert.equal(verdict(checkBulkEdit(undefined, visible, bulk('unpublish'))), 'ok');
  assert.equal(verdict(checkBulkEdit(undefined, tagged, bulk('access'))), 'ok');
  const published: Constraint = { kind: 'post', c: { status: ['published'] } };
  assert.equal(verdict(checkBulkEdit(undefined, published, bulk('unpublish'))), 'BODY_OUTSIDE_GRANT:status');
  assert.equal(verdict(checkBulkEdit(undefined, published, bulk('unschedule'))), 'BODY_OUTSIDE_GRANT:status');
  assert.equal(verdict(checkBulkEdit(undefined, { kind: 'post', c: { status: ['published', 'draft'] } }, bulk('unpublish'))), 'ok');
  assert.equal(verdict(checkBulkEdit(undefined, published, bulk('feature'))), 'ok');
  const labelled: Constraint = { kind: 'member', c: { labels: [{ id: B, slug: 'b' }] } };
  assert.equal(verdict(checkBulkEdit(undefined, labelled, bulk('removeLabel'))), 'BODY_OUTSIDE_GRANT:labels');
  assert.equal(verdict(checkBulkEdit(undefined, labelled, bulk('addLabel'))), 'ok');
  assert.equal(verdict(checkBulkEdit(undefined, { kind: 'member', c: { status: ['free'] } }, bulk('removeLabel'))), 'ok');
});

test('checkBulkEdit: an action named like a property every object inherits is not known (review finding)', () => {
  // The action table is a plain object: `constructor` used to find Object, a truthy field, and pass every rule.
  const strict: FieldRule = { deny: ['featured', 'visibility', 'tags', 'status', 'labels', 'newsletters'] };
  const published: Constraint = { kind: 'post', c: { status: ['published'], visibility: ['public'] } };
  for (const action of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    assert.equal(verdict(checkBulkEdit(undefined, undefined, { bulk: { action } })), `FIELD_REFUSED:${action}`, action);
    assert.equal(verdict(checkBulkEdit(strict, published, { bulk: { action } })), `FIELD_REFUSED:${action}`, action);
  }
});

test('checkBulkEdit: without a rule or constraint every known action passes; a constraint is read only for its kind', () => {
  const bulk = (action: string) => ({ bulk: { action } });
  for (const action of ['feature', 'unfeature', 'access', 'addTag', 'unpublish', 'unschedule', 'addLabel', 'removeLabel', 'unsubscribe'])
    assert.equal(verdict(checkBulkEdit(undefined, undefined, bulk(action))), 'ok', action);
  // A member constraint's statuses are member statuses: a bulk unpublish (a post action) is not judged by them.
  assert.equal(verdict(checkBulkEdit(undefined, { kind: 'member', c: { status: ['free'] } }, bulk('unpublish'))), 'ok');
});

test('checkBulkAddTags: entries with a tag id attach; entries without need tags:add and the tag field rules', () => {
  const body = (tags: unknown) => ({ bulk: { action: 'addTag', meta: { tags } } });
  for (const tags of [undefined, [], 'news', {}])
    assert.equal(verdict(checkBulkAddTags(body(tags), true, undefined)), 'BODY_INVALID:tags', JSON.stringify(tags));
  assert.equal(verdict(checkBulkAddTags({ bulk: { action: 'addTag' } }, true, undefined)), 'BODY_INVALID:tags');
  assert.equal(verdict(checkBulkAddTags({}, true, undefined)), 'BODY_INVALID:tags', 'no bulk object at all');
  for (const entry of [null, 'news', [A], 5])
    assert.equal(verdict(checkBulkAddTags(body([{ id: A }, entry]), true, undefined)), 'BODY_INVALID:tags', JSON.stringify(entry));
  assert.equal(
    verdict(checkBulkAddTags(body([{ id: A, name: 'ignored', codeinjection_head: 'x' }]), false, { deny: ['codeinjection_head'] })),
    'ok',
  );
  // `[A]` spells A when made a string: only a string id is an id.
  for (const id of ['A'.repeat(24), 'a'.repeat(23), `${'a'.repeat(24)}0`, 'g'.repeat(24), 12, { id: A }, [A]]) {
    assert.equal(verdict(checkBulkAddTags(body([{ id }]), true, undefined)), 'BODY_INVALID:tags', JSON.stringify(id));
  }
  for (const id of [undefined, null, '']) {
    assert.equal(
      verdict(checkBulkAddTags(body([{ id, name: 'New' }]), false, undefined)),
      'SCOPE_MISSING:tags',
      `id ${String(id)}: a creation`,
    );
    assert.equal(
      verdict(checkBulkAddTags(body([{ id, name: 'New' }]), true, { allow: ['name'] })),
      'ok',
      'the id key itself is not a field set',
    );
  }
  assert.equal(verdict(checkBulkAddTags(body([{ name: 'New', slug: 'new' }]), true, undefined)), 'ok', 'no tag field rule: any field');
  for (const name of [undefined, '', '  ', 3])
    assert.equal(verdict(checkBulkAddTags(body([{ name }]), true, undefined)), 'BODY_INVALID:tags', JSON.stringify(name));
  assert.equal(verdict(checkBulkAddTags(body([{ name: 'New', slug: 'new' }]), true, { deny: ['slug'] })), 'FIELD_REFUSED:slug');
  assert.equal(verdict(checkBulkAddTags(body([{ name: 'New', slug: 'new' }]), true, { allow: ['name'] })), 'FIELD_REFUSED:slug');
  assert.equal(
    verdict(checkBulkAddTags(body([{ name: 'New', slug: 'new' }]), true, { allow: ['name', 'slug'], deny: ['description'] })),
    'ok',
  );
  assert.equal(
    verdict(checkBulkAddTags(body([{ id: A }, { name: 'New' }]), false, undefined)),
    'SCOPE_MISSING:tags',
    'every entry is read',
  );
});

test('checkQueryFields refuses a denied parameter only', () => {
  const q = new Map([
    ['newsletter', 'weekly'],
    ['limit', '5'],
  ]);
  assert.equal(verdict(checkQueryFields({ deny: ['newsletter'] }, q)), 'FIELD_REFUSED:newsletter');
  assert.equal(verdict(checkQueryFields({ deny: ['email_segment'] }, q)), 'ok');
  assert.equal(verdict(checkQueryFields(undefined, q)), 'ok');
  assert.equal(verdict(checkQueryFields({ allow: ['title'] }, q)), 'ok', 'an allow list is for body fields');
});

test('isWriteWithBody: POST and PUT routes except uploads', () => {
  const routes = loadCatalog().routes;
  const get = (m: string, p: string) => routes.find((r) => r.method === m && r.path === p)!;
  assert.equal(isWriteWithBody(get('POST', '/posts')), true);
  assert.equal(isWriteWithBody(get('PUT', '/posts/:id')), true);
  assert.equal(isWriteWithBody(get('GET', '/posts')), false);
  assert.equal(isWriteWithBody(get('DELETE', '/posts/:id')), false);
  assert.equal(isWriteWithBody(get('POST', '/images/upload')), false);
  assert.equal(isWriteWithBody(get('PUT', '/media/thumbnail/upload')), false);
});

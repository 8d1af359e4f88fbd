import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changedFields, editedRecordPath } from './approvals.js';

const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';
const put = (path: string, body: unknown) => ({
  method: 'PUT',
  pathAndQuery: path,
  body: JSON.stringify(body),
  bodyEncoding: 'utf8' as const,
});

test('an edit of one record is read back at its own path, posts and pages with their content formats', () => {
  assert.equal(editedRecordPath(put(`/ghost/api/admin/posts/${ID}/?source=html`, {}), 'ghost'), `posts/${ID}/?formats=lexical%2Cmobiledoc`);
  assert.equal(editedRecordPath(put(`/blog/ghost/api/admin/tags/${ID}/`, {}), 'blog/ghost'), `tags/${ID}/`);
  // The versioned prefix the official client sends with `version: 'v4'`.
  assert.equal(editedRecordPath(put(`/ghost/api/v4/admin/tags/${ID}/`, {}), 'ghost'), `tags/${ID}/`);
  assert.equal(editedRecordPath(put(`/ghost/api/v5.0/admin/tags/${ID}/`, {}), 'ghost'), `tags/${ID}/`);
  // Not an edit of one record: nothing to compare.
  assert.equal(editedRecordPath({ ...put(`/ghost/api/admin/posts/${ID}/`, {}), method: 'DELETE' }, 'ghost'), undefined);
  assert.equal(editedRecordPath(put(`/ghost/api/admin/posts/${ID}/publish/`, {}), 'ghost'), undefined);
  assert.equal(editedRecordPath(put('/ghost/api/admin/settings/', {}), 'ghost'), undefined);
  assert.equal(editedRecordPath(put(`/other/api/admin/posts/${ID}/`, {}), 'ghost'), undefined);
  assert.equal(editedRecordPath({ ...put(`/ghost/api/admin/posts/${ID}/`, {}), bodyEncoding: 'base64' }, 'ghost'), undefined);
});

test('the fields a held edit sets to other values than the record has now, and only those', () => {
  const call = put('/x', { posts: [{ title: 'New', status: 'published', tags: [{ slug: 'a' }], featured: false }] });
  const now = { posts: [{ id: ID, title: 'Old', status: 'draft', tags: [{ slug: 'a' }], featured: false, html: '<p>x</p>' }] };
  assert.deepEqual(changedFields(call, now), [
    { field: 'title', before: 'Old', after: 'New' },
    { field: 'status', before: 'draft', after: 'published' },
  ]);
  // A field the record lacks is a change from nothing.
  assert.deepEqual(changedFields(put('/x', { posts: [{ canonical_url: 'u' }] }), now), [
    { field: 'canonical_url', before: undefined, after: 'u' },
  ]);
  assert.deepEqual(changedFields(put('/x', { posts: [{ title: 'Old' }] }), now), []);
});

test('a body or an answer that is not one record of the same resource is not compared', () => {
  const now = { posts: [{ title: 'Old' }] };
  assert.equal(changedFields(put('/x', { pages: [{ title: 'New' }] }), now), undefined);
  assert.equal(changedFields(put('/x', { posts: [{ title: 'a' }, { title: 'b' }] }), now), undefined);
  assert.equal(changedFields(put('/x', { posts: [{ title: 'a' }], tags: [] }), now), undefined);
  assert.equal(changedFields(put('/x', { posts: ['a'] }), now), undefined);
  assert.equal(changedFields({ ...put('/x', {}), body: '{not json' }, now), undefined);
  assert.equal(changedFields(put('/x', { posts: [{ title: 'a' }] }), { errors: [{ message: 'x' }] }), undefined);
  // Ghost's answer may carry meta beside the record.
  assert.deepEqual(changedFields(put('/x', { posts: [{ title: 'a' }] }), { posts: [{ title: 'Old' }], meta: {} }), [
    { field: 'title', before: 'Old', after: 'a' },
  ]);
});

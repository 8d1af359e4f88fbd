import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import {
  constraintFilter,
  constraintFor,
  constraintMode,
  grantSendsNoEmail,
  needsOwnedIds,
  recordBreaks,
  recordInclude,
  type Constraint,
} from './constraints.js';
import type { Grant } from './grant.js';
import { serializeFilter as serialize } from './nql.js';

/** Record constraints, rule by rule (each assertion fails if its rule is dropped or weakened). */
const A = 'a'.repeat(24);
const B = 'b'.repeat(24);
const grant = (g: Omit<Grant, 'version' | 'scopes'>): Grant => ({ version: 1, scopes: ['*'], ...g });
const routes = loadCatalog().routes;
const route = (m: string, p: string) => {
  const r = routes.find((x) => x.method === m && x.path === p);
  assert.ok(r, `${m} ${p}`);
  return r;
};

test('recordInclude: what a record fetch needs for every rule', () => {
  assert.equal(recordInclude(grant({}), 'members'), 'labels');
  assert.equal(recordInclude(grant({}), 'posts'), 'tags,authors');
  assert.equal(recordInclude(grant({}), 'pages'), 'tags,authors');
  assert.equal(recordInclude(grant({ sendEmail: false }), 'posts'), 'tags,authors,email,newsletter');
  assert.equal(recordInclude(grant({ sendEmail: false }), 'pages'), 'tags,authors');
  assert.equal(recordInclude(grant({}), 'tags'), '');
});

test('grantSendsNoEmail: sendEmail false, or an older grant denying a field that sends', () => {
  assert.equal(grantSendsNoEmail(grant({})), false);
  assert.equal(grantSendsNoEmail(grant({ sendEmail: true })), false);
  assert.equal(grantSendsNoEmail(grant({ sendEmail: false })), true);
  for (const f of ['newsletter', 'email_segment', 'send_email']) {
    for (const r of ['posts', 'pages', 'members'] as const)
      assert.equal(grantSendsNoEmail(grant({ fields: { [r]: { deny: [f] } } })), true, `${r} ${f}`);
  }
  assert.equal(grantSendsNoEmail(grant({ fields: { posts: { deny: ['featured'] }, tags: { deny: ['newsletter'] } } })), false);
  assert.equal(grantSendsNoEmail(grant({ fields: { posts: { allow: ['newsletter'] } } })), false);
  assert.equal(grantSendsNoEmail(grant({ fields: { posts: { deny: ['featured', 'newsletter'] } } })), true, 'one such field among others');
});

test('constraintFor: a constraint object that restricts nothing is no constraint', () => {
  assert.equal(constraintFor(grant({}), 'posts'), undefined);
  assert.equal(constraintFor(grant({ constraints: { posts: {} } }), 'posts'), undefined);
  assert.equal(constraintFor(grant({ constraints: { posts: { createdByKey: false } } }), 'posts'), undefined);
  for (const c of [
    { tags: [{ id: A, slug: 'a' }] },
    { authors: [{ id: A, slug: 'a' }] },
    { status: ['draft' as const] },
    { visibility: ['public' as const] },
    { createdByKey: true },
  ]) {
    assert.deepEqual(constraintFor(grant({ constraints: { pages: c } }), 'pages'), { kind: 'post', c }, JSON.stringify(c));
    assert.equal(constraintFor(grant({ constraints: { pages: c } }), 'posts'), undefined, 'pages and posts apart');
  }
  assert.equal(constraintFor(grant({ constraints: { members: {} } }), 'members'), undefined);
  for (const c of [{ labels: [{ id: A, slug: 'a' }] }, { status: ['free' as const] }])
    assert.deepEqual(constraintFor(grant({ constraints: { members: c } }), 'members'), { kind: 'member', c });
  assert.equal(constraintFor(grant({ constraints: { members: { status: ['free'] } } }), 'tags'), undefined);
  assert.equal(constraintFor(grant({ constraints: { posts: { status: ['draft'] } } }), 'members'), undefined);
});

test('needsOwnedIds only for createdByKey on posts and pages', () => {
  assert.equal(needsOwnedIds({ kind: 'post', c: { createdByKey: true } }), true);
  assert.equal(needsOwnedIds({ kind: 'post', c: { createdByKey: false, status: ['draft'] } }), false);
  assert.equal(needsOwnedIds({ kind: 'member', c: { status: ['free'] } }), false);
});

test('constraintFilter: every part of a constraint, ANDed, anchors by id', () => {
  const all: Constraint = {
    kind: 'post',
    c: {
      tags: [{ id: A, slug: 'a' }],
      authors: [{ id: B, slug: 'b' }],
      status: ['draft'],
      visibility: ['public', 'paid'],
      createdByKey: true,
    },
  };
  assert.equal(
    serialize(constraintFilter(all, [A, B])),
    `tags.id:['${A}']+authors.id:['${B}']+status:['draft']+visibility:['public','paid']+id:['${A}','${B}']`,
  );
  assert.equal(
    serialize(constraintFilter({ kind: 'post', c: { createdByKey: true } }, [])),
    "id:['000000000000000000000000']",
    'no record yet: an id no record has',
  );
  assert.equal(serialize(constraintFilter({ kind: 'post', c: { status: ['published'] } }, [A])), "status:['published']");
  assert.equal(
    serialize(constraintFilter({ kind: 'member', c: { labels: [{ id: A, slug: 'a' }], status: ['free', 'comped'] } }, [])),
    `labels.id:['${A}']+status:['free','comped']`,
  );
  assert.throws(
    () => constraintFilter({ kind: 'post', c: { tags: ['partner'] } }, []),
    'an unpinned anchor is never turned into a slug filter',
  );
});

test('recordBreaks: each rule, and a missing field held against the record only when strict', () => {
  const owned = (id: string) => id === A;
  const tags: Constraint = { kind: 'post', c: { tags: [{ id: A, slug: 'a' }] } };
  assert.equal(recordBreaks(tags, { tags: [{ id: B }, { id: A }] }, owned, true), undefined);
  assert.ok(recordBreaks(tags, { tags: [{ id: B }] }, owned, false), 'recordBreaks(tags, { tags: [{ id: B }] }, owned, false)');
  assert.ok(recordBreaks(tags, { tags: [] }, owned, false), 'recordBreaks(tags, { tags: [] }, owned, false)');
  assert.ok(recordBreaks(tags, { tags: [{ slug: 'a' }] }, owned, false), 'matched by id, never slug');
  assert.ok(recordBreaks(tags, {}, owned, true), 'recordBreaks(tags, {}, owned, true)');
  assert.equal(recordBreaks(tags, {}, owned, false), undefined);
  const authors: Constraint = { kind: 'post', c: { authors: [{ id: B, slug: 'b' }] } };
  assert.equal(recordBreaks(authors, { authors: [{ id: B }] }, owned, true), undefined);
  assert.ok(recordBreaks(authors, { authors: [{ id: A }] }, owned, false), 'recordBreaks(authors, { authors: [{ id: A }] }, owned, false)');
  assert.ok(recordBreaks(authors, {}, owned, true), 'recordBreaks(authors, {}, owned, true)');
  assert.equal(recordBreaks(authors, {}, owned, false), undefined);
  const status: Constraint = { kind: 'post', c: { status: ['draft'] } };
  assert.equal(recordBreaks(status, { status: 'draft' }, owned, true), undefined);
  assert.ok(recordBreaks(status, { status: 'published' }, owned, false), "recordBreaks(status, { status: 'published' }, owned, false)");
  assert.ok(recordBreaks(status, {}, owned, true), 'recordBreaks(status, {}, owned, true)');
  assert.equal(recordBreaks(status, {}, owned, false), undefined);
  const vis: Constraint = { kind: 'post', c: { visibility: ['public'] } };
  assert.equal(recordBreaks(vis, { visibility: 'public' }, owned, true), undefined);
  assert.ok(recordBreaks(vis, { visibility: 'paid' }, owned, false), "recordBreaks(vis, { visibility: 'paid' }, owned, false)");
  assert.ok(recordBreaks(vis, {}, owned, true), 'recordBreaks(vis, {}, owned, true)');
  assert.equal(recordBreaks(vis, {}, owned, false), undefined);
  const mine: Constraint = { kind: 'post', c: { createdByKey: true } };
  assert.equal(recordBreaks(mine, { id: A }, owned, true), undefined);
  assert.ok(recordBreaks(mine, { id: B }, owned, false), 'recordBreaks(mine, { id: B }, owned, false)');
  assert.ok(recordBreaks(mine, {}, owned, true), 'recordBreaks(mine, {}, owned, true)');
  assert.equal(recordBreaks(mine, {}, owned, false), undefined);
  const labels: Constraint = { kind: 'member', c: { labels: [{ id: A, slug: 'a' }], status: ['free'] } };
  assert.equal(recordBreaks(labels, { labels: [{ id: A }], status: 'free' }, owned, true), undefined);
  assert.ok(
    recordBreaks(labels, { labels: [{ id: B }], status: 'free' }, owned, false),
    "recordBreaks(labels, { labels: [{ id: B }], status: 'free' }, owned, false)",
  );
  assert.ok(
    recordBreaks(labels, { labels: [{ id: A }], status: 'paid' }, owned, false),
    "recordBreaks(labels, { labels: [{ id: A }], status: 'paid' }, owned, false)",
  );
  assert.ok(recordBreaks(labels, { status: 'free' }, owned, true), "recordBreaks(labels, { status: 'free' }, owned, true)");
  assert.equal(recordBreaks(labels, { status: 'free' }, owned, false), undefined);
  assert.ok(recordBreaks(labels, { labels: [{ id: A }] }, owned, true), 'recordBreaks(labels, { labels: [{ id: A }] }, owned, true)');
  assert.equal(recordBreaks(labels, { labels: [{ id: A }] }, owned, false), undefined);
  assert.equal(
    recordBreaks({ kind: 'member', c: { labels: [{ id: A, slug: 'a' }] } }, { labels: [{ id: A }], status: 'paid' }, owned, true),
    undefined,
  );
  assert.ok(recordBreaks(tags, { tags: [null, 'a', { id: B }] }, owned, false), 'items that are not tag objects match nothing');
});

test('recordBreaks: a field the record does not carry skips that rule only, never the rules after it', () => {
  const owned = () => true;
  const anchor = [{ id: A, slug: 'a' }];
  assert.ok(
    recordBreaks({ kind: 'post', c: { tags: anchor, status: ['draft'] } }, { status: 'published' }, owned, false),
    "recordBreaks({ kind: 'post', c: { tags: anchor, status: ['draft'] } }, { status: 'published' }, owned, false)",
  );
  assert.ok(
    recordBreaks({ kind: 'post', c: { authors: anchor, status: ['draft'] } }, { status: 'published' }, owned, false),
    "recordBreaks({ kind: 'post', c: { authors: anchor, status: ['draft'] } }, { status: 'published' }, owned, false)",
  );
  assert.ok(
    recordBreaks({ kind: 'member', c: { labels: anchor, status: ['free'] } }, { status: 'paid' }, owned, false),
    "recordBreaks({ kind: 'member', c: { labels: anchor, status: ['free'] } }, { status: 'paid' }, owned, false)",
  );
});

test('constraintMode: how a constraint reaches each kind of route', () => {
  const mode = (m: string, p: string, r: 'posts' | 'pages' | 'members') => {
    const x = constraintMode(route(m, p), r);
    return x.mode === 'record' ? `record:${x.param}:${x.bySlug}` : x.mode;
  };
  assert.equal(mode('GET', '/posts/slug/:slug', 'posts'), 'record:slug:true');
  assert.equal(mode('GET', '/posts/:id', 'posts'), 'record:id:false');
  assert.equal(mode('PUT', '/posts/:id', 'posts'), 'record:id:false');
  assert.equal(mode('POST', '/posts/:id/copy', 'posts'), 'record:id:false');
  assert.equal(mode('POST', '/posts', 'posts'), 'body');
  assert.equal(mode('GET', '/posts', 'posts'), 'filter');
  assert.equal(mode('PUT', '/posts/bulk', 'posts'), 'filter');
  assert.equal(mode('DELETE', '/posts', 'posts'), 'filter');
  assert.equal(mode('GET', '/posts/export', 'posts'), 'refuse');
  assert.equal(mode('POST', '/posts/upload', 'posts'), 'refuse');
  assert.equal(mode('GET', '/members/events', 'members'), 'refuse');
  assert.equal(mode('GET', '/posts', 'pages'), 'none', 'another constrained resource is its own business');
  assert.equal(mode('GET', '/members/:id/signin_urls', 'members'), 'record:id:false');
  assert.equal(mode('GET', '/stats/top-posts', 'posts'), 'refuse', 'the permission object is post');
  assert.equal(mode('GET', '/stats/mrr', 'members'), 'refuse', 'the permission object is member');
  assert.equal(mode('GET', '/stats/top-posts', 'pages'), 'refuse', 'pages are posts to Ghost’s permissions');
  assert.equal(mode('GET', '/stats/posts/:id/stats', 'posts'), 'record:id:false', 'a record named after another segment');
  assert.equal(mode('GET', '/search-index/posts', 'posts'), 'refuse', 'the resource named without an id is no record');
  assert.equal(mode('GET', '/stats/mrr', 'posts'), 'none');
  assert.equal(mode('GET', '/tags', 'posts'), 'none');
  assert.equal(mode('GET', '/posts/:id/gift_links', 'posts'), 'record:id:false');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../catalog/catalog.js';
import { compileGrant, type Grant } from '../../grants/grant.js';
import { type Decision, type RequestFacts } from './authorize.js';
import { decide as decideInWorld, pinned } from '../../grants/world.test.support.js';

/**
 * One test per rule that a hand-made mutant of this code once survived
 * (issue 18): each fails if its rule is removed or weakened.
 */
const catalog = loadCatalog();
const route = (m: string, p: string) => {
  const r = catalog.routes.find((x) => x.method === m && x.path === p);
  assert.ok(r, `${m} ${p} is in the catalog`);
  return r;
};
const facts = (f: Partial<RequestFacts> = {}): RequestFacts => ({ query: new Map(), params: {}, ...f });
const decide = (grant: Omit<Grant, 'version'>, m: string, p: string, f: Partial<RequestFacts> = {}): Decision =>
  decideInWorld({ grant: compileGrant({ version: 1, ...grant }), route: route(m, p), upstream: { ok: true }, request: facts(f) });
const outcome = (d: Decision): string => (d.allow === true ? 'allow' : d.allow === false ? d.code : `need:${Object.keys(d.need).sort().join(',')}`);

for (const [method, action] of [['PUT', 'edit'], ['DELETE', 'destroy']] as const) {
  test(`webhooks: ${action} is allowed only on a webhook this key created`, () => {
    const g = { scopes: [`webhooks:${action}`] };
    assert.equal(outcome(decide(g, method, '/webhooks/:id', { params: { id: 'w2' } })), method === 'PUT' ? 'need:body,ownedIds,webhook' : 'need:ownedIds,webhook');
    assert.equal(outcome(decide(g, method, '/webhooks/:id', { params: { id: 'w2' }, ownedIds: new Set(['w1']) })), 'RECORD_NOT_OWNED');
    const relay = { event: 'site.changed', createdByKey: true };
    const own = decide(g, method, '/webhooks/:id', { params: { id: 'w1' }, ownedIds: new Set(['w1']), webhook: relay, ...(method === 'PUT' ? { body: { webhooks: [{ name: 'x' }] } } : {}) });
    assert.equal(outcome(own), 'allow');
  });

  test(`webhooks: ${action} is refused on a webhook that is not an active relay of the gateway, even one this key's ledger names`, () => {
    const g = { scopes: [`webhooks:${action}`] };
    const f = { params: { id: 'w1' }, ownedIds: new Set(['w1']), ...(method === 'PUT' ? { body: { webhooks: [{ name: 'x' }] } } : {}) };
    assert.equal(outcome(decide(g, method, '/webhooks/:id', f)), 'need:webhook');
    assert.equal(outcome(decide(g, method, '/webhooks/:id', { ...f, webhook: null })), 'WEBHOOK_NOT_RELAYED');
    // A key allowed to touch others' webhooks still meets the rule.
    assert.equal(outcome(decide({ ...g, constraints: { webhooks: { createdByKey: false } } }, method, '/webhooks/:id', { params: { id: 'w9' }, webhook: null, ...(method === 'PUT' ? { body: { webhooks: [{ name: 'x' }] } } : {}) })), 'WEBHOOK_NOT_RELAYED');
  });
}

test('a constraint alone (no field rule) makes the gateway read the body of an add: an untagged post is refused', () => {
  const g = { scopes: ['posts:add'], constraints: { posts: { tags: [pinned('tags', 'partner')] } } };
  assert.equal(outcome(decide(g, 'POST', '/posts')), 'need:body');
  assert.equal(outcome(decide(g, 'POST', '/posts', { body: { posts: [{ title: 'x' }] } })), 'BODY_OUTSIDE_GRANT');
  assert.equal(outcome(decide(g, 'POST', '/posts', { body: { posts: [{ title: 'x', tags: [{ slug: 'news' }] }] } })), 'BODY_OUTSIDE_GRANT');
  const ok = decide(g, 'POST', '/posts', { body: { posts: [{ title: 'x', tags: [{ slug: 'partner' }] }] } });
  assert.equal(outcome(ok), 'allow');
});

test('a visibility-only constraint is a constraint: browse is filtered by it and a write that leaves it is refused', () => {
  const g = { scopes: ['posts:browse', 'posts:add'], constraints: { posts: { visibility: ['public' as const] } } };
  const browse = decide(g, 'GET', '/posts');
  assert.equal(browse.allow, true);
  if (browse.allow === true) assert.equal(new URLSearchParams(browse.effects.query).get('filter'), "visibility:['public']");
  assert.equal(outcome(decide(g, 'POST', '/posts', { body: { posts: [{ title: 'x', visibility: 'paid' }] } })), 'BODY_OUTSIDE_GRANT');
  assert.equal(outcome(decide(g, 'POST', '/posts', { body: { posts: [{ title: 'x' }] } })), 'allow', 'Ghost makes a new post public');
});

test('routes whose Ghost permission object is the constrained one are refused; others are not', () => {
  const posts = { scopes: ['*'], constraints: { posts: { tags: [pinned('tags', 'partner')] } } };
  const members = { scopes: ['*'], constraints: { members: { labels: [pinned('labels', 'vip')] } } };
  for (const p of ['/stats/top-posts', '/search-index/posts', '/stats/referrers']) assert.equal(outcome(decide(posts, 'GET', p)), 'CONSTRAINT_UNENFORCEABLE', p);
  for (const p of ['/stats/mrr', '/stats/member_count']) assert.equal(outcome(decide(members, 'GET', p)), 'CONSTRAINT_UNENFORCEABLE', p);
  // The permission object decides, not the resource name: these carry another object.
  assert.equal(outcome(decide(posts, 'GET', '/stats/mrr')), 'allow');
  assert.equal(outcome(decide(members, 'GET', '/tags')), 'allow');
  // top-posts reports member sign-ups per post (the exposure table), so a members constraint cannot hold there.
  assert.equal(outcome(decide(members, 'GET', '/stats/top-posts')), 'CONSTRAINT_UNENFORCEABLE');
  assert.equal(outcome(decide(posts, 'GET', '/tags')), 'allow');
});

// [denied field, bulk action that changes it]
const BULK: [string, string][] = [
  ['featured', 'feature'],
  ['featured', 'unfeature'],
  ['visibility', 'access'],
  ['tags', 'addTag'],
];
for (const [field, action] of BULK) {
  test(`bulk edit: a key denied ${field} may not run the bulk action ${action}, which changes it`, () => {
    const g = { scopes: ['posts:bulkEdit'], fields: { posts: { deny: [field] } } };
    const d = decide(g, 'PUT', '/posts/bulk', { query: new Map([['filter', "tag:'x'"]]), body: { bulk: { action, meta: { tags: [{ id: 'a'.repeat(24) }] } } } });
    assert.equal(outcome(d), 'FIELD_REFUSED');
    const other = decide({ ...g, fields: { posts: { deny: [field === 'tags' ? 'featured' : 'tags'] } } }, 'PUT', '/posts/bulk', { query: new Map([['filter', "tag:'x'"]]), body: { bulk: { action, meta: { tags: [{ id: 'a'.repeat(24) }] } } } });
    assert.equal(outcome(other), 'allow');
  });
}

test('bulk addTag on posts and pages: an entry without an id needs tags:add and the tags field rules, for every key', () => {
  const add = (tags: unknown[]) => ({ body: { bulk: { action: 'addTag', meta: { tags } } } });
  const ID = 'a'.repeat(24);
  for (const p of ['/posts/bulk', '/pages/bulk']) {
    const res = p.split('/')[1]!;
    const bare = { scopes: [`${res}:bulkEdit`] };
    assert.equal(outcome(decide(bare, 'PUT', p)), 'need:body', 'the body is read even without rules');
    assert.equal(outcome(decide(bare, 'PUT', p, add([{ id: ID }]))), 'allow');
    assert.equal(outcome(decide(bare, 'PUT', p, add([{ name: 'New' }]))), 'SCOPE_MISSING');
    assert.equal(outcome(decide(bare, 'PUT', p, add([{ id: 'news' }]))), 'BODY_INVALID');
    assert.equal(outcome(decide(bare, 'PUT', p, add([]))), 'BODY_INVALID');
    assert.equal(outcome(decide(bare, 'PUT', p, add(['New']))), 'BODY_INVALID');
    const adder = { scopes: [`${res}:bulkEdit`, 'tags:add'] };
    assert.equal(outcome(decide(adder, 'PUT', p, add([{ name: 'New', codeinjection_head: '<script>' }]))), 'allow', 'tags:add with no tag rules may create any tag');
    const ruled = { ...adder, fields: { tags: { deny: ['codeinjection_head'] } } };
    assert.equal(outcome(decide(ruled, 'PUT', p, add([{ name: 'New', codeinjection_head: '<script>' }]))), 'FIELD_REFUSED');
    assert.equal(outcome(decide(ruled, 'PUT', p, add([{ name: 'New', slug: 'new-one' }]))), 'allow');
    const allowOnly = { ...adder, fields: { tags: { allow: ['name'] } } };
    assert.equal(outcome(decide(allowOnly, 'PUT', p, add([{ name: 'New', slug: 'new-one' }]))), 'FIELD_REFUSED');
    assert.equal(outcome(decide(bare, 'PUT', p, { body: { bulk: { action: 'feature' } } })), 'allow', 'other actions are unchanged');
  }
});

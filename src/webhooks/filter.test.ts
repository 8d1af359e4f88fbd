import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Grant } from '../grants/grant.js';
import { PRESETS } from '../grants/presets.js';
import { filterDelivery } from './filter.js';
import { grantLens } from './grant-lens.js';
import type { WebhookEvent } from './events.js';

// Deliveries Ghost 6.65.0 really sent. The post carries the tag `partner-2`; it is edited to `other-cap`, unpublished, deleted.
const captured = JSON.parse(readFileSync(new URL('./testdata/ghost-6.65-deliveries.json', import.meta.url), 'utf8')).deliveries as Record<
  string,
  { body: Record<string, unknown> }
>;
const body = (name: string) => structuredClone(captured[name]!.body);
/** Constraint anchors pinned to the ids the captured payloads carry for these slugs (as minting pins them). */
const idOf = (slug: string): string => {
  const found = JSON.stringify(captured).match(new RegExp(`"id":"([0-9a-f]{24})"[^{}]*"slug":"${slug}"`));
  return found ? found[1]! : 'f'.repeat(24); // a slug no delivery carries: an id none has
};
const pinList = (list: unknown) => (Array.isArray(list) ? list.map((a) => (typeof a === 'string' ? { id: idOf(a), slug: a } : a)) : list);
const grant = (g: Omit<Grant, 'version' | 'scopes'>): Grant => {
  const c = structuredClone(g.constraints ?? {}) as Record<string, Record<string, unknown>>;
  for (const r of Object.values(c)) for (const k of ['tags', 'authors', 'labels']) if (r[k]) r[k] = pinList(r[k]);
  return { version: 1, scopes: ['*'], ...g, ...(g.constraints ? { constraints: c as Grant['constraints'] } : {}) };
};
const PARTNER = grant({ constraints: { posts: { tags: ['partner-2'] } } });
type Json = Record<string, any>;

function run(g: Grant, name: string, owned: string[] = []) {
  const b = body(name);
  return filterDelivery(b.event as WebhookEvent, b, grantLens(g), new Set(owned));
}

test('a key limited to a tag: its posts are delivered whole, others not at all', () => {
  const inside = run(PARTNER, 'post.published');
  assert.equal(inside.deliver, true);
  if (inside.deliver) {
    assert.equal(inside.view, 'full');
    assert.deepEqual(inside.payload, body('post.published'), 'nothing to remove: Ghost’s payload as it was');
    assert.deepEqual(Object.keys(inside.payload), ['event', 'post']);
  }
  const other = run(grant({ constraints: { posts: { tags: ['internal'] } } }), 'post.published');
  assert.deepEqual(other, { deliver: false, why: "the post is outside the key's grant" });
});

test('a post leaving the tag arrives as "left": its id and the old values of what changed, never its new content', () => {
  const out = run(PARTNER, 'post.edited.leaving');
  assert.equal(out.deliver, true);
  if (!out.deliver) return;
  assert.equal(out.view, 'left');
  const ghost = body('post.edited.leaving').post as Json;
  const post = (out.payload as Json).post;
  assert.deepEqual(post.current, { id: ghost.current.id });
  assert.deepEqual(post.previous, ghost.previous);
  assert.ok(!JSON.stringify(out.payload).includes('other-cap'), 'the new tag is not shown');
  assert.ok(!JSON.stringify(out.payload).includes('cap post moved'), 'the new title is not shown');
});

test('a post entering the tag arrives whole, without the values it had while outside', () => {
  // The same edit read the other way round: the key is limited to the tag the post moved to.
  const out = run(grant({ constraints: { posts: { tags: ['other-cap'] } } }), 'post.edited.leaving');
  assert.equal(out.deliver, true);
  if (!out.deliver) return;
  assert.equal(out.view, 'entered');
  const post = (out.payload as Json).post;
  assert.deepEqual(post.current, (body('post.edited.leaving').post as Json).current);
  assert.deepEqual(post.previous, {});
});

test('status constraints read the state before and after: unpublishing leaves a published-only key', () => {
  const out = run(grant({ constraints: { posts: { status: ['published'] } } }), 'post.unpublished');
  assert.equal(out.deliver && out.view, 'left');
  const drafts = run(grant({ constraints: { posts: { status: ['draft'] } } }), 'post.unpublished');
  assert.equal(drafts.deliver && drafts.view, 'entered');
});

test('a deleted record (current is {}) is delivered to a key that could read it before, as Ghost sent it', () => {
  const out = run(grant({ constraints: { posts: { tags: ['other-cap'] } } }), 'post.deleted');
  assert.equal(out.deliver, true);
  if (out.deliver) assert.deepEqual(out.payload, body('post.deleted'));
  assert.equal(run(PARTNER, 'post.deleted').deliver, false);
});

test('createdByKey: only posts in the key’s ledger', () => {
  const own = grant({ constraints: { posts: { createdByKey: true } } });
  const id = ((body('post.published').post as Json).current as Json).id as string;
  assert.equal(run(own, 'post.published').deliver, false);
  assert.equal(run(own, 'post.published', [id]).deliver, true);
});

test('members-reader: member events arrive with email, name, note and the other redacted fields removed, before and after', () => {
  const g = PRESETS['members-reader']!.grant;
  for (const name of ['member.added', 'member.edited', 'member.deleted']) {
    const out = run(g, name);
    assert.equal(out.deliver, true, name);
    if (!out.deliver) continue;
    const text = JSON.stringify(out.payload);
    assert.ok(!/@example\.com/.test(text), `${name}: no email anywhere`);
    const m = (out.payload as Json).member;
    for (const state of [m.current, m.previous]) for (const f of g.redact!.members!) assert.ok(!(f in state), `${name}: ${f}`);
    const ghost = body(name).member as Json;
    assert.equal(m.current.id ?? m.previous.id, ghost.current.id ?? ghost.previous.id, `${name}: the id stays`);
  }
});

test('member label constraints: a member leaving the label is "left"; a deleted member without labels is not delivered (fail closed)', () => {
  const vip = grant({ constraints: { members: { labels: ['vip'] } } });
  assert.equal(run(vip, 'member.added').deliver && 'yes', 'yes');
  const edited = run(vip, 'member.edited');
  assert.equal(edited.deliver && edited.view, 'left');
  if (edited.deliver) assert.deepEqual(Object.keys((edited.payload as Json).member.current), ['id']);
  // Ghost's member.deleted payload carries no labels, so the gateway cannot tell: it drops it.
  assert.equal(run(vip, 'member.deleted').deliver, false);
});

test('site.changed carries no record and is delivered as {"event"}', () => {
  const out = filterDelivery('site.changed', { event: 'site.changed' }, grantLens(PARTNER), new Set());
  assert.deepEqual(out, { deliver: true, payload: { event: 'site.changed' }, view: 'full' });
});

test('a delivery without the record it names is not delivered', () => {
  assert.equal(filterDelivery('post.added', { event: 'post.added' }, grantLens(PARTNER), new Set()).deliver, false);
  assert.equal(
    filterDelivery('post.added', { event: 'post.added', post: { current: [], previous: {} } }, grantLens(PARTNER), new Set()).deliver,
    false,
  );
});

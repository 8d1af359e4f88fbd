import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { decideApproval } from '../../src/admin/approvals.js';
import { PRESETS } from '../../src/grants/presets.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { refusal } from '../helpers/refusal.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { lab } from './lab-helper.js';

/**
 * The race an outside review found (docs/security.md, "Concurrent writes to one record"): an approved
 * publish and an unapproved edit of the same draft, sent at the same moment. Without a lock, the edit's
 * decision reads the post while it is still a draft (a draft edit needs no approval), and the edit lands
 * on the post the publish has just made live. A proxy in front of the lab's real Ghost holds the publish's
 * PUT until the test lets it go, so the two calls overlap every time, not by chance.
 */
describe('a write holds its record until Ghost answers (the lab’s real Ghost, the official client)', () => {
  let s: LabState;
  let gw: TestGateway;
  let proxy: CountingProxy;
  let direct: any;
  /** While set, every PUT waits for it before it goes on to Ghost. */
  let gate: Promise<void> | undefined;
  /** While set, Ghost's answers to reads of this post wait for `until` before they reach the gateway. */
  let late: { id: string; until: Promise<void> } | undefined;
  const created: string[] = [];

  before(async () => {
    s = await lab();
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
    proxy = await startCountingProxy(
      s.url,
      (method) => (method === 'PUT' ? gate : undefined),
      (method, url) => (method === 'GET' && late && url.includes(late.id) ? late.until : undefined),
    );
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey });
  });
  after(async () => {
    for (const id of created) await direct.posts.delete({ id }).catch(() => {});
    await gw?.close();
    await proxy?.close();
  });

  /** An agent-editor key's client, a draft, and its publish, held once and approved by a person. */
  const approvedPublish = async (title: string) => {
    const k = await gw.createKey(PRESETS['agent-editor']!.grant, `agent editor (${title})`);
    const api = new GhostAdminAPI({ url: gw.url, key: k.key, version: 'v6.0' });
    const draft = await direct.posts.add({ title, status: 'draft' });
    created.push(draft.id);
    // (The client deletes `id` from what it is given: each call gets a copy.)
    const publish = { id: draft.id, status: 'published', updated_at: draft.updated_at };
    assert.equal((await refusal(api.posts.edit({ ...publish }))).code, 'APPROVAL_PENDING');
    const pending = (await gw.gateway.store.approvals.list('pending')).filter((a) => a.keyId === k.id);
    assert.equal(pending.length, 1, 'one approval opened');
    await decideApproval({ store: gw.gateway.store }, pending[0]!.id, 'approved', Date.now());
    return { api, draft, publish };
  };

  test('an edit sent while an approved publish is with Ghost is refused before it reads the post; retried, it is held for a person', async () => {
    const { api, draft, publish } = await approvedPublish('Reviewed as a draft');

    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const puts = () => proxy.seen.filter((x) => x.method === 'PUT' && x.url.includes(draft.id)).length;
    const publishing = api.posts.edit({ ...publish });
    // The publish is decided and on its way to Ghost, held at the proxy.
    for (let i = 0; i < 200 && puts() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(puts(), 1, 'the approved publish reached Ghost');
    const readsBefore = proxy.seen.length;
    const edit = { id: draft.id, og_title: 'Nobody reviewed this', updated_at: draft.updated_at };
    const busy = await refusal(api.posts.edit({ ...edit }));
    assert.deepEqual([busy.name, busy.code], ['UpdateCollisionError', 'RECORD_BUSY']);
    assert.equal(proxy.seen.length, readsBefore, 'refused before the gateway read the post (it was still a draft in Ghost)');
    open();
    gate = undefined;
    const live = await publishing;
    assert.equal(live.status, 'published');

    // Once Ghost has answered, the edit is decided on the post as it is now: live, so a person must approve it.
    const retried = await refusal(api.posts.edit({ ...edit }));
    assert.equal(retried.code, 'APPROVAL_PENDING');
    assert.equal(puts(), 1, 'only the approved publish was forwarded');
    const now = await direct.posts.read({ id: draft.id });
    assert.deepEqual([now.status, now.og_title], ['published', null], 'the live post has no edit a person did not see');
  });

  test('an edit decided on the post as it was before an approved publish went through is refused, not forwarded', async () => {
    const { api, draft, publish } = await approvedPublish('Read as a draft');

    // The edit's decision reads the post while it is a draft; Ghost's answer reaches the gateway only
    // after the approved publish has been forwarded and answered.
    let deliver!: () => void;
    late = { id: draft.id, until: new Promise<void>((r) => (deliver = r)) };
    const read = proxy.seen.filter((x) => x.method === 'GET' && x.url.includes(draft.id)).length;
    const reads = () => proxy.seen.filter((x) => x.method === 'GET' && x.url.includes(draft.id)).length - read;
    const editing = refusal(api.posts.edit({ id: draft.id, og_title: 'Nobody reviewed this', updated_at: draft.updated_at }));
    for (let i = 0; i < 200 && reads() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(reads(), 1, 'the edit read the post (a draft then)');
    late = undefined;
    const live = await api.posts.edit({ ...publish });
    assert.equal(live.status, 'published', 'the approved publish went through meanwhile');
    deliver();
    const stale = await editing;
    assert.deepEqual([stale.name, stale.code], ['UpdateCollisionError', 'RECORD_BUSY']);
    assert.match(stale.message + JSON.stringify(stale), /RECORD_BUSY|another call/);
    const puts = proxy.seen.filter((x) => x.method === 'PUT' && x.url.includes(draft.id)).length;
    assert.equal(puts, 1, 'only the publish reached Ghost');
    const now = await direct.posts.read({ id: draft.id });
    assert.deepEqual([now.status, now.og_title], ['published', null], 'the live post has no edit a person did not see');
  });
});

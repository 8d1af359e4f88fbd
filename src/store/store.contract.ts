import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';
import type { Store } from './store.js';

export interface ContractOptions {
  /** Why the driver's tests are skipped (its database is unreachable). */
  readonly skip?: string;
  /** How long a change made by another process may take to be seen (0: the very next get()). */
  readonly propagationMs?: number;
}

/** The contract every Store driver passes (sqlite/, postgres/). */
export function storeContract(
  name: string,
  open: () => Promise<Store>,
  open2: (first: Store) => Promise<Store | undefined> = async () => undefined,
  options: ContractOptions = {},
): void {
  const test = (title: string, fn: () => Promise<void>): void => {
    void nodeTest(title, options.skip ? { skip: options.skip } : {}, fn);
  };
  const ID = 'a'.repeat(24);
  const grant = { version: 1 as const, scopes: ['posts:browse'] };

  test(`${name}: creates, reads and lists keys`, async () => {
    const store = await open();
    try {
      const rec = await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      assert.deepEqual(rec, {
        id: ID,
        name: 'k',
        grant,
        status: 'active',
        generation: 1,
        previousGeneration: null,
        graceUntil: null,
        createdAt: 1000,
        revokedAt: null,
        expiresAt: null,
        notBefore: null,
        maxUses: null,
        limits: {},
        parentId: null,
        lastUsedAt: null,
        useCount: 0,
      });
      assert.deepEqual(await store.keys.get(ID), rec);
      assert.equal(await store.keys.get('b'.repeat(24)), undefined);
      assert.deepEqual(
        (await store.keys.list()).map((k) => k.id),
        [ID],
      );
      await assert.rejects(store.keys.create({ id: ID, name: 'dup', grant, createdAt: 1 }));
    } finally {
      await store.close();
    }
  });

  test(`${name}: a key's grant can be replaced by its pinned form, and the change is seen at once, also by another process`, async () => {
    const store = await open();
    try {
      await store.keys.create({
        id: ID,
        name: 'k',
        grant: { version: 1, scopes: ['posts:browse'], constraints: { posts: { tags: ['partner'] } } },
        createdAt: 1000,
      });
      assert.deepEqual((await store.keys.get(ID))?.grant.constraints?.posts?.tags, ['partner']);
      const pinned = {
        version: 1 as const,
        scopes: ['posts:browse'],
        constraints: { posts: { tags: [{ id: 'c'.repeat(24), slug: 'partner' }] } },
      };
      await store.keys.setGrant(ID, pinned);
      assert.deepEqual((await store.keys.get(ID))?.grant, pinned);
      const other = await open2(store);
      if (other) {
        assert.deepEqual((await other.keys.get(ID))?.grant, pinned);
        await other.close();
      }
      await assert.rejects(store.keys.setGrant(ID, { version: 2, scopes: [] } as never), 'a grant that does not validate is refused');
    } finally {
      await store.close();
    }
  });

  const within = options.propagationMs ?? 0;
  test(`${name}: a revocation by another process is seen ${within === 0 ? 'by the very next get()' : `within ${within} ms`}`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      assert.equal((await store.keys.get(ID))?.status, 'active');
      assert.equal((await store.keys.get(ID))?.status, 'active', 'cached');
      const other = await open2(store);
      if (other) {
        await other.keys.revoke(ID, 2000);
        await other.close();
        const t0 = Date.now();
        let status = (await store.keys.get(ID))?.status;
        while (status !== 'revoked' && Date.now() - t0 < within) {
          await new Promise((r) => setTimeout(r, 5));
          status = (await store.keys.get(ID))?.status;
        }
        assert.equal(status, 'revoked');
      }
    } finally {
      await store.close();
    }
  });

  test(`${name}: revocation is a state change, once, and reaches every descendant`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      await store.keys.create({ id: 'b'.repeat(24), name: 'child', grant, createdAt: 1001, parentId: ID });
      await store.keys.create({ id: 'c'.repeat(24), name: 'grandchild', grant, createdAt: 1002, parentId: 'b'.repeat(24) });
      await store.keys.create({ id: 'd'.repeat(24), name: 'other', grant, createdAt: 1003 });
      assert.deepEqual((await store.keys.revoke(ID, 2000)).sort(), [ID, 'b'.repeat(24), 'c'.repeat(24)]);
      assert.deepEqual(await store.keys.revoke(ID, 3000), []);
      assert.equal((await store.keys.get('c'.repeat(24)))?.status, 'revoked');
      assert.equal((await store.keys.get('d'.repeat(24)))?.status, 'active');
      const k = await store.keys.get(ID);
      assert.equal(k?.status, 'revoked');
      assert.equal(k?.revokedAt, 2000);
    } finally {
      await store.close();
    }
  });

  test(`${name}: max uses are taken atomically and counted only when the request succeeded`, async () => {
    const store = await open();
    try {
      await store.keys.create({
        id: ID,
        name: 'k',
        grant,
        createdAt: 1000,
        maxUses: 2,
        expiresAt: 9000,
        notBefore: 500,
        limits: { ipAllow: ['10.0.0.0/8'], rate: { perSecond: 5 } },
      });
      const holder = await store.holders.register({ pid: 1, host: 'h', startedAt: 1000 }, Date.now() + 60_000);
      const a = await store.keys.reserveUse(ID, holder, 1500);
      const b = await store.keys.reserveUse(ID, holder, 1500);
      assert.ok(a && b && a !== b, 'a && b && a !== b');
      assert.equal(await store.keys.reserveUse(ID, holder, 1500), undefined, 'two in flight take both uses');
      assert.deepEqual(await store.keys.uses(ID, Date.now()), { spent: 0, reserved: 2, unknown: 0 });
      await store.keys.settleUse(a, 'failed', 2000);
      const c = await store.keys.reserveUse(ID, holder, 2000);
      assert.ok(c, 'a failed request gives its use back');
      await store.keys.settleUse(b, 'succeeded', 2100);
      await store.keys.settleUse(c, 'succeeded', 2200);
      await store.keys.settleUse(c, 'succeeded', 2300);
      assert.equal(await store.keys.reserveUse(ID, holder, 2300), undefined);
      const k = await store.keys.get(ID);
      assert.equal(k?.useCount, 2, 'a reservation settles once');
      assert.equal(k?.lastUsedAt, 2200);
      assert.deepEqual(k?.limits, { ipAllow: ['10.0.0.0/8'], rate: { perSecond: 5 } });
      assert.equal(k?.expiresAt, 9000);
      assert.equal(k?.notBefore, 500);
      assert.equal(await store.keys.countDaily(ID, '2026-11-27'), 1);
      assert.equal(await store.keys.countDaily(ID, '2026-11-27'), 2);
      assert.equal(await store.keys.countDaily(ID, '2026-11-28'), 1);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a reservation is a durable fact: another opener of the store gives nothing back`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000, maxUses: 1 });
      const holder = await store.holders.register({ pid: 1, host: 'h', startedAt: 1000 }, Date.now() + 60_000);
      const r = await store.keys.reserveUse(ID, holder, 1000);
      assert.ok(r, 'r');
      const other = await open2(store);
      if (other) {
        // A CLI command or a second gateway opening the same store.
        const h2 = await other.holders.register({ pid: 2, host: 'h', startedAt: 1100 }, Date.now() + 60_000);
        assert.equal(await other.keys.reserveUse(ID, h2, 1100), undefined);
        await other.close();
      }
      assert.equal(await store.keys.reserveUse(ID, holder, 1200), undefined);
      assert.equal(await store.keys.markSent(r, 'req-1'), true);
      await store.keys.settleUse(r, 'unknown', 1300);
      assert.deepEqual(
        await store.keys.uses(ID, Date.now()),
        { spent: 0, reserved: 0, unknown: 1 },
        'no answer: the use counts, as unknown',
      );
      assert.equal(await store.keys.reserveUse(ID, holder, 1400), undefined);
    } finally {
      await store.close();
    }
  });

  test(`${name}: live holders are those whose lease runs past the time asked; a released one is not`, async () => {
    const store = await open();
    try {
      const now = Date.now();
      const before = await store.holders.live(now);
      const a = await store.holders.register({ pid: 1, host: 'h', startedAt: now }, now + 15_000);
      await store.holders.register({ pid: 2, host: 'h', startedAt: now }, now + 5_000);
      assert.equal(await store.holders.live(now), before + 2);
      assert.equal(await store.holders.live(now + 10_000), before + 1, 'a lease that ran out is not live');
      await store.holders.release(a);
      assert.equal(await store.holders.live(now), before + 1);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a lease is renewed only while it runs; a holder whose lease ran out takes no record lock`, async () => {
    const store = await open();
    try {
      const now = Date.now();
      const a = await store.holders.register({ pid: 1, host: 'h', startedAt: now }, now + 15_000);
      assert.equal(await store.holders.renew(a, now + 25_000, now + 10_000), true, 'running: renewed');
      assert.equal(await store.holders.renew(a, now + 45_000, now + 30_000), false, 'ran out at 25 s: not renewed');
      assert.equal(await store.holders.renew('no-such-holder', now + 45_000, now), false);
      assert.equal(await store.recordLocks.take('post-9', a, now + 30_000, now + 90_000), undefined, 'a lapsed holder takes nothing');
      // The review's sequence: a lock whose holder lapsed, then tried to renew and give its take back.
      const b = await store.holders.register({ pid: 2, host: 'h', startedAt: now }, now + 600_000);
      const stalled = await store.holders.register({ pid: 3, host: 'h', startedAt: now }, now + 15_000);
      const r = await store.recordLocks.take('post-8', stalled, now, now + 120_000);
      const read = await store.recordLocks.state('post-8', now + 16_000);
      assert.deepEqual(read, { taken: 1, held: false }, 'lapsed with its holder');
      assert.equal(await store.holders.renew(stalled, now + 31_000, now + 16_000), false, 'no revival');
      await store.recordLocks.release(r!, false, now + 16_000);
      const w = await store.recordLocks.take('post-8', b, now + 16_000, now + 136_000, read.taken);
      assert.ok(w, 'a write that read after the lapse takes it');
      await store.recordLocks.release(w, true, now + 16_000);
      assert.equal(await store.recordLocks.take('post-8', b, now + 16_000, now + 136_000, read.taken), undefined, 'a stale read does not');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a dead holder's reservations: sent ones count as unknown uses, unsent ones are freed, and the dead holder cannot send after that`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000, maxUses: 2 });
      const now = Date.now();
      const dying = await store.holders.register({ pid: 1, host: 'h', startedAt: 1000 }, now + 60_000);
      const sent = (await store.keys.reserveUse(ID, dying, now))!;
      const unsent = (await store.keys.reserveUse(ID, dying, now))!;
      assert.equal(await store.keys.markSent(sent, 'req-sent'), true);
      const live = await store.holders.register({ pid: 2, host: 'h', startedAt: 1100 }, now + 60_000);
      assert.equal(await store.keys.reserveUse(ID, live, now), undefined, 'a live holder keeps its reservations');
      await store.holders.release(dying); // as after a crash, once its lease has run out
      assert.deepEqual(await store.keys.uses(ID, Date.now()), { spent: 0, reserved: 0, unknown: 1 });
      const again = await store.keys.reserveUse(ID, live, Date.now());
      assert.ok(again, 'the unsent use is freed');
      assert.equal(await store.keys.reserveUse(ID, live, Date.now()), undefined, 'the sent one is spent');
      assert.equal(await store.keys.markSent(unsent, 'late'), false, 'the dead holder cannot send what was freed');
      await store.keys.settleUse(sent, 'succeeded', Date.now());
      assert.deepEqual(
        await store.keys.uses(ID, Date.now()),
        { spent: 0, reserved: 1, unknown: 1 },
        'a resolved reservation stays resolved',
      );
    } finally {
      await store.close();
    }
  });

  test(`${name}: a record lock is held by one taker at a time, until released or run out, and counts its takers`, async () => {
    const store = await open();
    try {
      const now = Date.now();
      const a = await store.holders.register({ pid: 1, host: 'h', startedAt: now }, now + 60_000);
      const b = await store.holders.register({ pid: 2, host: 'h', startedAt: now }, now + 60_000);
      assert.deepEqual(await store.recordLocks.state('post-1', now), { taken: 0, held: false }, 'a record never written');
      const first = await store.recordLocks.take('post-1', a, now, now + 10_000);
      assert.ok(first, 'a free record is locked');
      assert.deepEqual(await store.recordLocks.state('post-1', now), { taken: 1, held: true });
      assert.equal(await store.recordLocks.take('post-1', b, now, now + 10_000), undefined, 'another holder waits');
      assert.equal(await store.recordLocks.take('post-1', a, now, now + 10_000), undefined, 'so does another request of the same holder');
      assert.ok(await store.recordLocks.take('post-2', b, now, now + 10_000), 'another record is its own lock');
      await store.recordLocks.release(first, true, Date.now());
      assert.deepEqual(await store.recordLocks.state('post-1', now), { taken: 1, held: false }, 'released, the count stays');
      const second = await store.recordLocks.take('post-1', b, now, now + 10_000);
      assert.ok(second, 'released, the record is free');
      assert.notEqual(second, first);
      assert.equal(await store.recordLocks.take('post-1', a, now + 9_999, now + 20_000), undefined, 'held until its last instant');
      assert.deepEqual(await store.recordLocks.state('post-1', now + 10_000), { taken: 2, held: false }, 'run out');
      const third = await store.recordLocks.take('post-1', a, now + 10_000, now + 20_000);
      assert.ok(third, 'a lock that ran out is taken over');
      await store.recordLocks.release(second, true, Date.now());
      assert.equal(await store.recordLocks.take('post-1', b, now + 10_000, now + 20_000), undefined, 'the late release freed nothing');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a lock taken with what state() said is refused once another write has taken it since`, async () => {
    const store = await open();
    try {
      const now = Date.now();
      const a = await store.holders.register({ pid: 1, host: 'h', startedAt: now }, now + 60_000);
      const b = await store.holders.register({ pid: 2, host: 'h', startedAt: now }, now + 60_000);
      const seen = (await store.recordLocks.state('page-1', now)).taken;
      assert.equal(seen, 0);
      assert.ok(await store.recordLocks.take('page-1', a, now, now + 10_000, seen), 'nothing taken since: taken');
      const read = (await store.recordLocks.state('page-2', now)).taken;
      const other = await store.recordLocks.take('page-2', b, now, now + 10_000);
      await store.recordLocks.release(other!, true, Date.now());
      assert.equal(await store.recordLocks.take('page-2', a, now, now + 10_000, read), undefined, 'a write came and went since the read');
      const fresh = (await store.recordLocks.state('page-2', now)).taken;
      assert.equal(fresh, 1);
      const refused = await store.recordLocks.take('page-3', b, now, now + 10_000);
      await store.recordLocks.release(refused!, false, now);
      assert.deepEqual(
        await store.recordLocks.state('page-3', now),
        { taken: 0, held: false },
        'a call never forwarded gives its take back',
      );
      assert.ok(await store.recordLocks.take('page-3', a, now, now + 10_000, 0), 'so a read before it still holds');
      // A give-back after the lock lapsed gives nothing back: others may have read the count it made.
      const lapsing = await store.recordLocks.take('page-4', b, now, now + 1_000);
      await store.recordLocks.release(lapsing!, false, now + 1_000);
      assert.deepEqual(await store.recordLocks.state('page-4', now), { taken: 1, held: false }, 'ran out first: kept');
      const dying = await store.holders.register({ pid: 9, host: 'h', startedAt: now }, now + 60_000);
      const orphan = await store.recordLocks.take('page-5', dying, now, now + 10_000);
      await store.holders.release(dying);
      await store.recordLocks.release(orphan!, false, now);
      assert.deepEqual(await store.recordLocks.state('page-5', now), { taken: 1, held: false }, 'its holder died first: kept');
      assert.ok(await store.recordLocks.take('page-2', a, now, now + 10_000, fresh), 'read again, taken');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a dead holder's record locks are free at once; across openers, one of many takers wins`, async () => {
    const store = await open();
    try {
      const now = Date.now();
      const dying = await store.holders.register({ pid: 1, host: 'h', startedAt: now }, now + 60_000);
      const live = await store.holders.register({ pid: 2, host: 'h', startedAt: now }, now + 60_000);
      assert.ok(await store.recordLocks.take('tag-1', dying, now, now + 60_000), 'taken');
      assert.equal(await store.recordLocks.take('tag-1', live, now, now + 60_000), undefined);
      await store.holders.release(dying); // as after a crash, once its lease has run out
      assert.equal((await store.recordLocks.state('tag-1', now)).held, false, 'a dead holder holds nothing');
      assert.ok(await store.recordLocks.take('tag-1', live, now, now + 60_000), 'taken over');
      const other = (await open2(store)) ?? store;
      try {
        const h2 = await other.holders.register({ pid: 3, host: 'h', startedAt: now }, now + 60_000);
        const takers = Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : store).recordLocks.take('member-1', i % 2 ? h2 : live, now, now + 60_000, 0),
        );
        const won = (await Promise.all(takers)).filter((id) => id !== undefined);
        assert.equal(won.length, 1, 'exactly one of 20 concurrent takers holds the lock');
        assert.deepEqual(await other.recordLocks.state('member-1', now), { taken: 1, held: true });
      } finally {
        if (other !== store) await other.close();
      }
    } finally {
      await store.close();
    }
  });

  test(`${name}: audit anchors advance and never move back, unless reset after an acknowledgement`, async () => {
    const store = await open();
    try {
      const a = { chain: 'c1', seq: 5, hash: 'h5', signature: 's5', updatedAt: 1 };
      await store.auditAnchors.advance(a);
      await store.auditAnchors.advance({ ...a, seq: 3, hash: 'h3' });
      assert.deepEqual(await store.auditAnchors.list(), [a]);
      await store.auditAnchors.advance({ ...a, seq: 9, hash: 'h9' });
      assert.equal((await store.auditAnchors.list())[0]?.seq, 9);
      await store.auditAnchors.reset('c1', { ...a, seq: 2 });
      assert.equal((await store.auditAnchors.list())[0]?.seq, 2);
      await store.auditAnchors.reset('c1', undefined);
      assert.deepEqual(await store.auditAnchors.list(), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: rotation moves to a new generation and keeps the old one for the grace period`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      const r = await store.keys.rotate(ID, 5000);
      assert.equal(r?.generation, 2);
      assert.equal(r?.previousGeneration, 1);
      assert.equal(r?.graceUntil, 5000);
      assert.equal(await store.keys.rotate('e'.repeat(24), 5000), undefined);
    } finally {
      await store.close();
    }
  });

  test(`${name}: records uses and keeps settings`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      await store.keys.recordUses([{ id: ID, count: 1, lastAt: 5000 }]);
      await store.keys.recordUses([{ id: ID, count: 1, lastAt: 6000 }]);
      const k = await store.keys.get(ID);
      assert.equal(k?.useCount, 2);
      assert.equal(k?.lastUsedAt, 6000);
      assert.equal(await store.settings.get('x'), undefined);
      await store.settings.set('x', 'one');
      await store.settings.set('x', 'two');
      assert.equal(await store.settings.get('x'), 'two');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a relay is pending, active, retired, then removed from Ghost; only then is the client's secret erased`, async () => {
    const store = await open();
    try {
      const R = 'r'.repeat(32);
      await store.webhooks.add({
        id: R,
        keyId: ID,
        event: 'post.published',
        targetUrl: 'https://hooks.example.com/x',
        secretSealed: 'sealed',
        relayUrl: 'https://gw/ghostgate/webhooks/relay/' + R,
        createdAt: 1,
      });
      assert.equal((await store.webhooks.get(R))?.status, 'pending');
      await store.webhooks.activate(R, 'g'.repeat(24), 2);
      assert.equal((await store.webhooks.byGhostId('g'.repeat(24)))?.id, R);
      assert.equal(await store.webhooks.scrub(R), false, 'an active relay keeps its secret');
      assert.equal(await store.webhooks.retire(R, 'key revoked', 3), true);
      assert.equal(await store.webhooks.retire(R, 'again', 4), false);
      assert.equal(await store.webhooks.scrub(R), false, 'a retired relay Ghost may still call keeps its secret');
      const retired = (await store.webhooks.get(R))!;
      assert.equal(retired.ghostRemovedAt, null);
      assert.equal(retired.secretSealed, 'sealed');
      await store.webhooks.markRemoved(R, 5);
      await store.webhooks.markRemoved(R, 6);
      assert.equal((await store.webhooks.get(R))?.ghostRemovedAt, 5, 'the first confirmation stays');
      assert.equal(await store.webhooks.scrub(R), true);
      const scrubbed = (await store.webhooks.get(R))!;
      assert.equal(scrubbed.secretSealed, null);
      assert.equal(scrubbed.retiredReason, 'key revoked');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a relay is added under a limit only while fewer than max relays of those keys are pending or active`, async () => {
    const store = await open();
    try {
      const B = 'b'.repeat(24);
      const relay = (n: number, keyId: string) => ({
        id: String(n).repeat(32).slice(0, 32),
        keyId,
        event: 'site.changed',
        targetUrl: `https://hooks.example.com/${n}`,
        secretSealed: null,
        relayUrl: `https://gw/r/${n}`,
        createdAt: n,
      });
      const limit = { keyIds: [ID, B], max: 2 };
      assert.equal(await store.webhooks.add(relay(1, ID), limit), true);
      assert.equal(await store.webhooks.add(relay(2, B), limit), true);
      assert.equal(await store.webhooks.add(relay(3, ID), limit), false);
      assert.equal(await store.webhooks.get(relay(3, ID).id), undefined, 'nothing added');
      assert.equal(
        await store.webhooks.add(relay(3, 'c'.repeat(24)), { keyIds: ['c'.repeat(24)], max: 2 }),
        true,
        'another family counts apart',
      );
      await store.webhooks.retire(relay(1, ID).id, 'gone', 4);
      assert.equal(await store.webhooks.add(relay(4, ID), limit), true, 'a retired relay does not count');
      assert.equal(await store.webhooks.add(relay(5, ID)), true, 'no limit: always');
    } finally {
      await store.close();
    }
  });

  test(`${name}: the ledger keeps each key's created ids per resource, once each`, async () => {
    const store = await open();
    try {
      await store.ledger.add(ID, 'webhooks', 'w1', 1);
      await store.ledger.add(ID, 'webhooks', 'w2', 2);
      await store.ledger.add(ID, 'webhooks', 'w1', 3);
      await store.ledger.add(ID, 'posts', 'p1', 4);
      await store.ledger.add('b'.repeat(24), 'webhooks', 'w3', 5);
      assert.deepEqual(await store.ledger.ids(ID, 'webhooks'), ['w1', 'w2']);
      assert.deepEqual(await store.ledger.ids(ID, 'posts'), ['p1']);
      assert.deepEqual(await store.ledger.ids('c'.repeat(24), 'webhooks'), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: an approval is opened once per call, decided once, and used once before it expires`, async () => {
    const store = await open();
    try {
      const approvals = store.approvals;
      const held = { method: 'PUT', pathAndQuery: '/posts/p1/', body: '{"posts":[{"status":"published"}]}', bodyEncoding: 'utf8' as const };
      const call = { keyId: ID, fingerprint: 'f1', summary: 'PUT /posts/:id (posts:publish)', call: held, expiresAt: 10_000 };
      const opened = async (a: Partial<Parameters<typeof approvals.open>[0]> & { id: string; now: number }) => {
        const r = await approvals.open({
          ...call,
          family: a.keyId ?? call.keyId,
          subject: `s-${a.fingerprint ?? call.fingerprint}`,
          deniedSince: 0,
          maxPending: 10,
          ...a,
        });
        assert.ok(r, `approval ${a.id} opened`);
        return r;
      };
      const first = await opened({ id: 'ap1', now: 1000 });
      assert.deepEqual(first, { id: 'ap1', ...call, status: 'pending', createdAt: 1000, decidedAt: null, usedAt: null });
      // The same call again is the same approval; another call, or another key, is another.
      assert.equal((await opened({ id: 'ap2', now: 1100 })).id, 'ap1');
      assert.equal((await opened({ fingerprint: 'f2', id: 'ap3', now: 1200 })).id, 'ap3');
      assert.equal((await opened({ keyId: 'b'.repeat(24), id: 'ap4', now: 1300 })).id, 'ap4');
      assert.equal(await approvals.use('ap1', 2000), false, 'a pending approval lets nothing through');
      assert.equal(await approvals.decide('ap1', 'approved', 2000), true);
      assert.equal(await approvals.decide('ap1', 'denied', 2100), false, 'decided once');
      assert.equal((await opened({ id: 'ap5', now: 2200 })).status, 'approved');
      assert.equal(await approvals.use('ap1', 3000), true);
      assert.equal(await approvals.use('ap1', 3001), false, 'used once');
      // Used, the call needs a new approval.
      assert.equal((await opened({ id: 'ap6', now: 3100 })).id, 'ap6');
      assert.equal(await approvals.decide('ap3', 'denied', 3200), true);
      assert.equal(await approvals.use('ap3', 3300), false);
      // A denial stands: the same call finds it, even after the approval's expiry, and opens nothing new.
      assert.deepEqual(
        [
          (await opened({ fingerprint: 'f2', id: 'ap8', now: 3400 })).id,
          (await opened({ fingerprint: 'f2', id: 'ap9', now: 50_000 })).status,
        ],
        ['ap3', 'denied'],
      );
      // A denial covers its subject (the same key, route, record and item, whatever the bytes) since deniedSince.
      assert.equal((await opened({ fingerprint: 'f2b', subject: 's-f2', id: 'ap10', now: 3500, deniedSince: 3000 })).id, 'ap3');
      assert.equal((await opened({ fingerprint: 'f2c', subject: 's-f2', id: 'ap11', now: 3600, deniedSince: 3300 })).id, 'ap11');
      // Expired: neither decided, used nor reopened.
      assert.equal(await approvals.decide('ap6', 'approved', 10_000), false);
      assert.equal((await opened({ id: 'ap7', now: 10_001, expiresAt: 20_000 })).id, 'ap7');
      assert.deepEqual(
        (await approvals.list('used')).map((a) => a.id),
        ['ap1'],
      );
      assert.deepEqual((await approvals.get('ap3'))?.status, 'denied');
      assert.equal(await approvals.get('nope'), undefined);
      assert.deepEqual(
        (await approvals.list()).map((a) => a.id),
        ['ap7', 'ap11', 'ap6', 'ap4', 'ap3', 'ap1'],
      );
    } finally {
      await store.close();
    }
  });

  test(`${name}: a key opens at most maxPending pending approvals at once; a decided or known call is still answered`, async () => {
    const store = await open();
    try {
      const approvals = store.approvals;
      const held = { method: 'DELETE', pathAndQuery: '/posts/p1/', body: null, bodyEncoding: 'utf8' as const };
      const base = { keyId: ID, family: ID, summary: 's', deniedSince: 0, call: held, expiresAt: 10_000, maxPending: 2 };
      assert.ok(
        await approvals.open({ ...base, id: 'q1', fingerprint: 'g1', subject: 'g1', now: 1 }),
        "await approvals.open({ ...base, id: 'q1', fingerprint: 'g1', subject: 'g1', now: 1 })",
      );
      assert.ok(
        await approvals.open({ ...base, id: 'q2', fingerprint: 'g2', subject: 'g2', now: 2 }),
        "await approvals.open({ ...base, id: 'q2', fingerprint: 'g2', subject: 'g2', now: 2 })",
      );
      assert.equal(await approvals.open({ ...base, id: 'q3', fingerprint: 'g3', subject: 'g3', now: 3 }), undefined);
      assert.equal(
        (await approvals.open({ ...base, id: 'q4', fingerprint: 'g1', subject: 'g1', now: 4 }))?.id,
        'q1',
        'an open call is found',
      );
      assert.ok(
        await approvals.open({
          ...base,
          keyId: 'b'.repeat(24),
          family: 'b'.repeat(24),
          id: 'q5',
          fingerprint: 'g3',
          subject: 'g3',
          now: 5,
        }),
        'another family has its own',
      );
      // A child key (of the family ID) shares the family's cap, and its denials.
      const child = { ...base, keyId: 'c'.repeat(24) };
      assert.equal(
        await approvals.open({ ...child, id: 'q5b', fingerprint: 'g5', subject: 'g5', now: 5 }),
        undefined,
        'the family is full',
      );
      assert.equal(await approvals.decide('q2', 'denied', 6), true);
      assert.equal(
        (await approvals.open({ ...base, id: 'q6', fingerprint: 'g3', subject: 'g3', now: 7 }))?.id,
        'q6',
        'a decided one frees a place',
      );
      assert.equal(
        (await approvals.open({ ...child, id: 'q6b', fingerprint: 'g9', subject: 'g2', now: 8 }))?.id,
        'q2',
        'the parent’s denial',
      );
      // Expired pending approvals do not count.
      assert.equal(
        (await approvals.open({ ...base, id: 'q7', fingerprint: 'g4', subject: 'g4', now: 10_000, expiresAt: 20_000 }))?.id,
        'q7',
      );
      assert.equal(await approvals.get('q3'), undefined, 'nothing was written for the refused one');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a key's name and limits can be updated, nothing else; an unknown key is undefined`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000, limits: { dailyQuota: 5 }, maxUses: 3 });
      const renamed = await store.keys.update(ID, { name: 'renamed' });
      assert.deepEqual([renamed?.name, renamed?.limits, renamed?.maxUses], ['renamed', { dailyQuota: 5 }, 3]);
      const limited = await store.keys.update(ID, { limits: { ipAllow: ['10.0.0.0/8'] } });
      assert.deepEqual([limited?.name, limited?.limits], ['renamed', { ipAllow: ['10.0.0.0/8'] }]);
      assert.deepEqual(await store.keys.get(ID), limited, 'the change is seen at once');
      assert.equal(await store.keys.update('b'.repeat(24), { name: 'x' }), undefined);
    } finally {
      await store.close();
    }
  });

  test(`${name}: admin API tokens are stored with their hash only, listed, revoked once and touched`, async () => {
    const store = await open();
    try {
      const t = {
        id: 'c'.repeat(24),
        name: 'ci',
        scope: 'admin:read' as const,
        secretHash: 'd'.repeat(64),
        createdAt: 1000,
        expiresAt: 5000,
      };
      const rec = await store.adminTokens.create(t);
      assert.deepEqual(rec, {
        id: t.id,
        name: 'ci',
        scope: 'admin:read',
        createdAt: 1000,
        expiresAt: 5000,
        revokedAt: null,
        lastUsedAt: null,
      });
      assert.equal(Object.hasOwn(rec, 'secretHash'), false, 'a record never carries the hash');
      assert.deepEqual(await store.adminTokens.find(t.id), { ...rec, secretHash: 'd'.repeat(64) });
      assert.equal(await store.adminTokens.find('e'.repeat(24)), undefined);
      await assert.rejects(store.adminTokens.create({ ...t, scope: 'admin:all' as 'admin:read' }), 'the scope is checked by the database');
      await store.adminTokens.create({ ...t, id: 'f'.repeat(24), name: 'deploy', scope: 'admin:write', createdAt: 2000, expiresAt: null });
      await store.adminTokens.touch(t.id, 3000);
      await store.adminTokens.touch(t.id, 2500);
      assert.equal((await store.adminTokens.find(t.id))?.lastUsedAt, 3000, 'last use never goes back');
      assert.equal(await store.adminTokens.revoke(t.id, 4000), true);
      assert.equal(await store.adminTokens.revoke(t.id, 4100), false, 'revoked once');
      assert.equal(await store.adminTokens.revoke('e'.repeat(24), 4100), false);
      assert.deepEqual(
        (await store.adminTokens.list()).map((x) => [x.name, x.scope, x.revokedAt]),
        [
          ['ci', 'admin:read', 4000],
          ['deploy', 'admin:write', null],
        ],
      );
    } finally {
      await store.close();
    }
  });
  test(`${name}: an admin account is set up once through its link, before it expires; its sessions go with it`, async () => {
    const store = await open();
    try {
      const a = store.admins;
      assert.equal(await a.addAccount({ id: 'ad1', email: 'a@x.test', setupHash: 'h1', setupExpiresAt: 5000, createdAt: 1000 }), true);
      assert.equal(
        await a.addAccount({ id: 'ad2', email: 'a@x.test', setupHash: 'h2', setupExpiresAt: 5000, createdAt: 1000 }),
        false,
        'one account per email',
      );
      assert.equal((await a.accountBySetup('h1', 1000))?.id, 'ad1');
      assert.equal(await a.accountBySetup('h1', 5000), undefined, 'an expired link finds nothing');
      assert.equal(await a.completeSetup('h1', 'pw', 5000), undefined, 'nor sets a password');
      const done = await a.completeSetup('h1', 'pw', 4000);
      assert.deepEqual([done?.id, done?.passwordHash, done?.setupExpiresAt], ['ad1', 'pw', null]);
      assert.equal(await a.completeSetup('h1', 'pw2', 4001), undefined, 'single use');
      assert.equal((await a.accountByEmail('a@x.test'))?.passwordHash, 'pw');
      await a.setTotp('ad1', 'sealed');
      assert.equal((await a.account('ad1'))?.totpSealed, 'sealed');
      const steps = await Promise.all([a.useTotpStep('ad1', 100), a.useTotpStep('ad1', 100)]);
      assert.deepEqual(steps.sort(), [false, true], 'a step is taken once, even at once');
      assert.equal(await a.useTotpStep('ad1', 99), false, 'an older step is not taken');
      assert.equal(await a.useTotpStep('ad1', 101), true);
      await a.setTotp('ad1', 'sealed2');
      assert.equal(await a.useTotpStep('ad1', 50), true, 'a new secret starts with no step used');
      const s = { idHash: 's1', accountId: 'ad1', csrf: 'c', createdAt: 1000, lastSeenAt: 1000, expiresAt: 9000 };
      await a.addSession(s);
      await a.touchSession('s1', 2000);
      await a.touchSession('s1', 1500);
      assert.deepEqual(await a.session('s1'), { ...s, lastSeenAt: 2000 }, 'last seen moves forward only');
      await a.addSession({ ...s, idHash: 's2' });
      await a.deleteSession('s2');
      assert.equal(await a.session('s2'), undefined);
      await a.addSession({ ...s, idHash: 's3' });
      await a.addSession({ ...s, idHash: 's4' });
      await a.deleteOtherSessions('ad1', 's1');
      assert.deepEqual(
        [!!(await a.session('s1')), !!(await a.session('s3')), !!(await a.session('s4'))],
        [true, false, false],
        'the other sessions end, the one named stays',
      );
      assert.deepEqual(
        (await a.listAccounts()).map((x) => x.email),
        ['a@x.test'],
      );
      assert.equal(await a.removeAccount('ad1'), true);
      assert.equal(await a.session('s1'), undefined, 'sessions go with the account');
      assert.equal(await a.removeAccount('ad1'), false);
    } finally {
      await store.close();
    }
  });

  test(`${name}: an access request is decided once, then collected once, before it expires`, async () => {
    const store = await open();
    try {
      const a = store.admins;
      const spec = { grant: { version: 1, scopes: ['posts:browse'] } };
      await a.addRequest({ id: 'r1', tokenHash: 't1', name: 'tool', spec, createdAt: 1000, expiresAt: 5000 });
      await a.addRequest({ id: 'r2', tokenHash: 't2', name: 'tool2', spec, createdAt: 1100, expiresAt: 5000 });
      assert.equal((await a.requestByToken('t1'))?.status, 'pending');
      assert.equal(await a.collectRequest('r1', 2000), false, 'a pending request gives nothing');
      const narrowed = { grant: { version: 1, scopes: ['posts:read'] } };
      assert.equal(await a.decideRequest('r1', 'approved', narrowed, 'ad1', 2000), true);
      assert.equal(await a.decideRequest('r1', 'denied', spec, 'ad1', 2100), false, 'decided once');
      assert.deepEqual((await a.request('r1'))?.spec, narrowed);
      assert.equal(await a.collectRequest('r1', 3000), true);
      assert.equal(await a.collectRequest('r1', 3001), false, 'collected once');
      assert.equal(await a.releaseRequest('r1'), true, 'a collection without its key is given back');
      assert.equal((await a.request('r1'))?.status, 'approved');
      assert.equal(await a.collectRequest('r1', 3000), true);
      await a.setRequestKey('r1', 'k'.repeat(24));
      assert.equal(await a.releaseRequest('r1'), false, 'never once its key is made');
      assert.equal((await a.request('r1'))?.keyId, 'k'.repeat(24));
      assert.equal(await a.decideRequest('r2', 'approved', spec, 'ad1', 5000), false, 'an expired request cannot be decided');
      assert.deepEqual(
        (await a.listRequests()).map((r) => r.id),
        ['r2', 'r1'],
      );
      assert.deepEqual(
        (await a.listRequests('collected')).map((r) => [r.id, r.decidedBy, r.collectedAt]),
        [['r1', 'ad1', 3000]],
      );
    } finally {
      await store.close();
    }
  });
}

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AuditLog } from '../../pipeline/audit/audit-log.js';
import { AUDIT_FILE_SETTING } from '../../pipeline/audit/continuity.js';
import { signCheckpoint, type AuditEntry } from '../../pipeline/audit/record.js';
import { verifyTrail } from '../../pipeline/audit/trail.js';
import type { SignedHead } from '../audit.js';
import { openPostgresAudit } from './pg-audit.js';
import { openPostgresDeliveryLog } from './pg-deliveries.js';
import { openPostgresStore } from './pg-store.js';
import { pgUnavailable, testSchema, type TestSchema } from './postgres.test.helper.js';

/** The audit trail and the delivery log in PostgreSQL: chains per replica, verification, tamper evidence, pruning. */
const skip = await pgUnavailable();
const options = skip ? { skip } : {};
const KEY = Buffer.alloc(32, 9);
const schemas: TestSchema[] = [];
after(async () => {
  for (const s of schemas) await s.drop();
});

const entry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  at: 1_700_000_000_000 + i,
  requestId: `r${i}`,
  kind: 'request',
  keyId: 'a'.repeat(24),
  keyName: 'k',
  clientIp: '127.0.0.1',
  method: 'GET',
  route: 'GET /posts/',
  resource: 'posts',
  action: 'browse',
  decision: 'allow',
  code: null,
  status: 200,
  latencyMs: 1.25,
  bytesIn: null,
  bytesOut: 2048,
  ...over,
});

test(
  'postgres audit: two replicas write a chain each (batches and intents); every row reads back as written and the trail verifies',
  options,
  async () => {
    const s = await testSchema();
    schemas.push(s);
    const store = await openPostgresStore(s.url);
    const [fa, fb] = [await openPostgresAudit(s.url), await openPostgresAudit(s.url)];
    try {
      assert.equal(fa.fileId, fb.fileId, 'one trail, one identity');
      await store.settings.set(AUDIT_FILE_SETTING, fa.fileId);
      const heads: SignedHead[] = [];
      const anchor = (h: SignedHead) => heads.push(h);
      const la = await AuditLog.open(fa, KEY, { flushMs: 10, maxBatch: 500, chain: 'replica-a' }, { anchor });
      const lb = await AuditLog.open(fb, KEY, { flushMs: 10, maxBatch: 500, chain: 'replica-b' }, { anchor });
      // 1200 records (more than a page) and 40 intents, on both chains at once.
      for (let i = 0; i < 1200; i++) (i % 2 ? la : lb).record(entry(i, i === 7 ? { detail: '{"x":1}', code: 'X', latencyMs: null } : {}));
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? la : lb).intent(entry(2000 + i, { kind: 'intent', method: 'POST' }))),
      );
      await la.close();
      await lb.close();
      await assert.rejects(AuditLog.open(fb, KEY, { flushMs: 10, maxBatch: 500, chain: 'replica-a' }), /exists already/);
      for (const h of heads) await store.auditAnchors.advance({ ...h, updatedAt: 1 });
      assert.equal(await fa.count(), 1240);
      assert.deepEqual(await fa.chains(), ['replica-a', 'replica-b']);
      let n = 0;
      for await (const r of fa.rows('replica-b')) assert.equal(r.seq, ++n, 'in sequence, across pages');
      assert.equal(n, 620);
      const seven = (await fa.query({ code: 'X' }))[0]!;
      const newest = await fa.query({ newest: true, limit: 2, chain: 'replica-a' });
      assert.deepEqual(
        newest.map((r) => r.seq),
        [619, 620],
        'the newest two, oldest first',
      );
      assert.equal((await fa.query({ route: 'get /POSTS' })).length, 1240, 'route text in any case');
      assert.equal((await fa.query({ route: '_' })).length, 0, 'a wildcard is text');
      assert.deepEqual([seven.detail, seven.latencyMs, seven.bytesIn], ['{"x":1}', null, null]);
      const report = await verifyTrail(KEY, fa, store);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.rows, 1240);

      // Tamper evidence, as in SQLite: an edited row breaks its chain.
      await fa.unsafeExec("UPDATE audit SET status = 500 WHERE chain = 'replica-a' AND seq = ?", 5);
      const tampered = await verifyTrail(KEY, fa, store);
      assert.equal(tampered.ok, false);
      assert.match(tampered.problems.join(), /replica-a: row 5/);
      await fa.unsafeExec("UPDATE audit SET status = 200 WHERE chain = 'replica-a' AND seq = ?", 5);

      // Pruning keeps a signed checkpoint; the rest still verifies and stays continuous with the anchors.
      const row = (await fa.row('replica-a', 100))!;
      assert.equal(await fa.prune('replica-a', 100, signCheckpoint(KEY, 100, row.hash, 2, 'replica-a')), 100);
      assert.equal((await fa.checkpoint('replica-a'))?.seq, 100);
      const pruned = await verifyTrail(KEY, fa, store);
      assert.equal(pruned.ok, true, JSON.stringify(pruned));
      assert.equal(await fa.lastSeq('replica-a'), 620);
      assert.deepEqual(
        (await fa.tail(2)).map((r) => r.requestId),
        (await fa.query({})).slice(-2).map((r) => r.requestId),
      );
    } finally {
      await fa.close();
      await fb.close();
      await store.close();
    }
  },
);

test('postgres audit: a schema that is not migrated is refused', options, async () => {
  const s = await testSchema(false);
  schemas.push(s);
  await assert.rejects(openPostgresAudit(s.url), { name: 'StoreMigrationError' });
});

test('postgres delivery log: buffered rows are written and read back newest first, by relay and by key', options, async () => {
  const s = await testSchema();
  schemas.push(s);
  const log = openPostgresDeliveryLog(s.url, 20);
  try {
    const base = { at: 1, deliveryId: 'd', ghostId: 'g', event: 'post.published', status: 200, latencyMs: 3.5, error: null, view: 'full' };
    log.record({ ...base, relayId: 'r1', keyId: 'k1', attempt: 1, outcome: 'retrying', status: null, error: 'ETIMEDOUT' });
    log.record({ ...base, relayId: 'r1', keyId: 'k1', attempt: 2, outcome: 'delivered' });
    log.record({ ...base, relayId: 'r2', keyId: 'k2', attempt: 0, outcome: 'filtered', latencyMs: null, view: null });
    const r1 = await log.query({ relayId: 'r1' });
    assert.deepEqual(
      r1.map((e) => [e.attempt, e.outcome, e.status, e.error]),
      [
        [2, 'delivered', 200, null],
        [1, 'retrying', null, 'ETIMEDOUT'],
      ],
    );
    assert.deepEqual((await log.query({ keyId: 'k2' }))[0], {
      ...base,
      relayId: 'r2',
      keyId: 'k2',
      attempt: 0,
      outcome: 'filtered',
      latencyMs: null,
      view: null,
    });
    assert.equal((await log.query({ limit: 1 })).length, 1);
  } finally {
    await log.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../pipeline/audit/audit-log.js';
import { AUDIT_FILE_SETTING } from '../pipeline/audit/continuity.js';
import type { AuditEntry } from '../pipeline/audit/record.js';
import { openSqliteAudit } from '../store/sqlite/sqlite-audit.js';
import type { SignedHead } from '../store/audit.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { acknowledgeAudit, advise, csvField, pruneAudit, queryAudit, verifyAudit } from './audit.js';
import { AdminError } from './errors.js';
import { testEntry } from '../pipeline/audit/entry.test.support.js';

/** The audit services on real files: what `ghostgate audit …` and `advise` print, and the management API will answer. */
const KEY = Buffer.alloc(32, 7);
const K1 = 'a1'.repeat(12);
const T0 = Date.parse('2026-11-01T00:00:00Z');
const entry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry =>
  testEntry(i, { at: T0 + i * 1000, keyId: K1, keyName: 'k', resource: 'posts', action: 'browse', ...over });

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-admin-audit-'));
  const store = openSqliteStore(join(dir, 'k.db'));
  const audit = openSqliteAudit(join(dir, 'a.db'));
  await store.settings.set(AUDIT_FILE_SETTING, audit.fileId);
  const heads: SignedHead[] = [];
  const log = await AuditLog.open(audit, KEY, { flushMs: 10_000, maxBatch: 100_000, chain: 'c1' }, { anchor: (h) => heads.push(h) });
  const write = async (entries: AuditEntry[]) => {
    for (const e of entries) log.record(e);
    await log.flush();
    for (const h of heads.splice(0)) await store.auditAnchors.advance({ ...h, updatedAt: 1 });
  };
  return { store, audit, write, ctx: { audit, key: KEY, store } };
}

test('verify, prune (a prefix, with a signed checkpoint) and verify again; acknowledge needs a reason and has nothing to do on a continuous file', async () => {
  const { store, audit, write, ctx } = await setup();
  try {
    await write([1, 2, 3, 4, 5].map((i) => entry(i)));
    assert.deepEqual([(await verifyAudit(ctx)).ok, (await verifyAudit(ctx)).rows], [true, 5]);
    const r = await pruneAudit(ctx, T0 + 3500, T0 + 10_000);
    assert.equal(r.pruned, 3, 'records 1..3 are older than the cutoff');
    assert.equal(r.checkpoints.c1!.seq, 3);
    assert.deepEqual(
      (await audit.query({ chain: 'c1' })).map((x) => x.seq),
      [4, 5],
    );
    assert.equal((await verifyAudit(ctx)).ok, true, 'the rest verifies from the checkpoint');
    assert.equal((await pruneAudit(ctx, T0 + 3500, T0 + 10_000)).pruned, 0, 'pruning again removes nothing');
    await assert.rejects(acknowledgeAudit(ctx, '  ', T0), (e) => e instanceof AdminError && e.code === 'INVALID');
    assert.equal(await acknowledgeAudit(ctx, 'nothing happened', T0), undefined);
    await audit.unsafeExec('UPDATE audit SET status = 500 WHERE seq = 5');
    assert.equal((await verifyAudit(ctx)).ok, false, 'an edited record fails verification');
  } finally {
    await audit.close();
    await store.close();
  }
});

test('a CSV field cannot become a formula in a spreadsheet, whatever its separator', () => {
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('/x;=1+1;@SUM(2+2)'), '"/x;=1+1;@SUM(2+2)"', 'a semicolon is quoted');
  assert.equal(csvField('a\t=1'), '"a\t=1"', 'a tab is quoted');
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(null), '');
});

test('query filters and validates; advise names used, unused and refused scopes and the narrowest grant', async () => {
  const { store, audit, write } = await setup();
  try {
    const key = await store.keys.create({
      id: K1,
      name: 'k',
      grant: { version: 1, scopes: ['posts:*', 'tags:browse', 'members:browse'] },
      createdAt: T0,
    });
    await write([
      entry(1),
      entry(2, { route: 'POST /posts', action: 'add', method: 'POST', kind: 'intent' }),
      entry(3, { route: 'GET /members', resource: 'members', action: 'read', decision: 'deny', code: 'SCOPE_MISSING', status: 403 }),
      entry(4, { keyId: 'other' }),
    ]);
    assert.deepEqual(
      (await queryAudit(audit, { keyId: K1, decision: 'deny' })).map((r) => r.requestId),
      ['r3'],
    );
    assert.deepEqual(
      (await queryAudit(audit, { since: T0 + 3500 })).map((r) => r.requestId),
      ['r4'],
    );
    assert.deepEqual(
      (await queryAudit(audit, { limit: 2, newest: true })).map((r) => r.requestId),
      ['r3', 'r4'],
      'the newest two, oldest first',
    );
    assert.deepEqual(
      (await queryAudit(audit, { limit: 2 })).map((r) => r.requestId),
      ['r1', 'r2'],
    );
    assert.deepEqual(
      (await queryAudit(audit, { route: 'get /MEM' })).map((r) => r.requestId),
      ['r3'],
      'route text in any case',
    );
    assert.deepEqual(await queryAudit(audit, { route: '%' }), [], 'a wildcard is text');
    await assert.rejects(
      () => queryAudit(audit, { decision: 'maybe' }),
      (e) => e instanceof AdminError && e.code === 'INVALID',
    );
    await assert.rejects(
      () => queryAudit(audit, { limit: 0 }),
      (e) => e instanceof AdminError && e.code === 'INVALID',
    );
    const a = await advise(store, audit, key.id, T0);
    assert.deepEqual(a.used, ['posts:add', 'posts:browse']);
    assert.deepEqual(a.unused, ['tags:browse', 'members:browse']);
    assert.deepEqual(
      a.narrowed_wildcards.map((w) => [w.held, w.used]),
      [['posts:*', ['posts:add', 'posts:browse']]],
    );
    assert.ok(a.narrowed_wildcards[0]!.covers > 2, 'a.narrowed_wildcards[0]!.covers > 2');
    assert.deepEqual(a.refused_for_missing_scope, ['members:read']);
    assert.deepEqual(a.proposed_grant.scopes, ['posts:add', 'posts:browse']);
    assert.equal(a.requests, 3);
    await assert.rejects(advise(store, audit, 'nope', T0), (e) => e instanceof AdminError && e.code === 'NOT_FOUND');
  } finally {
    await audit.close();
    await store.close();
  }
});

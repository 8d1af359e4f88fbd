import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteAudit } from '../../store/sqlite/sqlite-audit.js';
import type { AuditStore, ChainPosition, SignedHead } from '../../store/audit.js';
import { AuditLog } from './audit-log.js';
import { verifyChain } from './record.js';
import { testEntry as entry } from './entry.test.support.js';

/** The writer's behaviour when its file cannot be written, and after: no record of an answered request is lost. */
const KEY = Buffer.alloc(32, 5);

test('while the file is locked: intents fail, other records are kept (up to the backlog), ready() retries once per flushMs; after: all kept records are written, in order', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db');
  const file = openSqliteAudit(path);
  const heads: SignedHead[] = [];
  const errors: string[] = [];
  const log = await AuditLog.open(
    file,
    KEY,
    { flushMs: 50, maxBatch: 1000, chain: 'c', maxBacklog: 3 },
    { anchor: (h) => heads.push(h), onError: (e) => errors.push(e.message) },
  );
  log.record(entry(1));
  await log.flush();
  assert.deepEqual(
    heads.map((h) => h.seq),
    [1],
  );
  await assert.rejects(AuditLog.open(file, KEY, { flushMs: 50, maxBatch: 1000, chain: 'c' }), /exists already/, 'a chain has one writer');

  const locker = new Database(path);
  locker.exec('BEGIN EXCLUSIVE');
  log.record(entry(2));
  log.record(entry(3));
  await assert.rejects(log.intent({ ...entry(4), kind: 'intent' }));
  assert.equal(log.available, false);
  assert.equal(await log.ready(), false, 'just failed: not tried again yet');
  log.record(entry(5));
  log.record(entry(6));
  await log.flush();
  assert.equal(log.dropped, 1, 'beyond the backlog of 3');
  locker.exec('ROLLBACK');
  locker.close();
  assert.equal(await log.ready(Date.now() + 60), true, 'tried again after flushMs, and written');
  assert.deepEqual(
    (await file.query({ chain: 'c' })).map((r) => r.requestId),
    ['r1', 'r2', 'r3', 'r5'],
  );
  assert.deepEqual(
    heads.map((h) => h.seq),
    [1, 4],
  );
  assert.ok(errors.length >= 1, 'errors.length >= 1');
  assert.equal(await log.ready(), true);
  // With nothing pending, recovery is probed with a write of its own.
  const idle = await AuditLog.open(file, KEY, { flushMs: 10, maxBatch: 1000, chain: 'idle' });
  idle.available = false;
  assert.equal(await idle.ready(Date.now() + 20), true);
  await log.close();
  await file.close();
});

test('closed on a failing file: the pending records are written once or dropped, never retried on a closed store', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db');
  const file = openSqliteAudit(path);
  const errors: string[] = [];
  const log = await AuditLog.open(file, KEY, { flushMs: 5, maxBatch: 1000, chain: 'c' }, { onError: (e) => errors.push(e.message) });
  const locker = new Database(path);
  locker.exec('BEGIN EXCLUSIVE');
  log.record(entry(1));
  log.record(entry(2));
  await log.close();
  await file.close();
  assert.equal(log.dropped, 2, 'what could not be written at close is counted as dropped');
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(errors.length, 1, 'no retry after close (a retry would fail again on the closed store)');
  locker.exec('ROLLBACK');
  locker.close();
});

test('a batch waits for the one being committed: intents arriving meanwhile share the next commit, in order, on one chain', async () => {
  const file = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  const appends: number[] = [];
  // A network database: each commit takes a while, and the writer must not start another meanwhile.
  const slow = {
    ...file,
    appendEntries: async (chain: string, from: ChainPosition, texts: readonly string[], key: Buffer) => {
      appends.push(texts.length);
      await new Promise((r) => setTimeout(r, 30));
      return file.appendEntries(chain, from, texts, key);
    },
  } as AuditStore;
  const heads: SignedHead[] = [];
  const log = await AuditLog.open(slow, KEY, { flushMs: 1000, maxBatch: 1000, chain: 'c' }, { anchor: (h) => heads.push(h) });
  const first = log.intent({ ...entry(1), kind: 'intent' });
  await new Promise((r) => setTimeout(r, 10)); // the first commit is under way
  const later = [2, 3, 4].map((i) => log.intent({ ...entry(i), kind: 'intent' }));
  await Promise.all([first, ...later]);
  assert.deepEqual(appends, [1, 3], 'two commits: the first, then the three that arrived during it');
  assert.deepEqual(
    heads.map((h) => h.seq),
    [1, 4],
  );
  assert.deepEqual(
    (await file.query({ chain: 'c' })).map((r) => [r.seq, r.requestId]),
    [
      [1, 'r1'],
      [2, 'r2'],
      [3, 'r3'],
      [4, 'r4'],
    ],
  );
  await log.close();
  await file.close();
});

test('ready() while a failing batch is in flight waits for it: a probe that succeeds meanwhile does not let requests through', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db');
  const real = openSqliteAudit(path);
  // A file whose batches fail after a while (a full file, committed on a writer thread), while its probe succeeds.
  let appends = 0;
  const file: AuditStore = {
    ...real,
    appendEntries: () => {
      appends++;
      return new Promise<SignedHead>((_, reject) =>
        setTimeout(() => {
          reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
        }, 20),
      );
    },
    probeWrite: async () => undefined,
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 10, maxBatch: 1000, chain: 'c' });
  try {
    log.record(entry(1));
    await log.flush();
    assert.equal(log.available, false);
    // The retry (flushMs later) is in flight, its record out of `pending`, when a request asks past the window.
    await new Promise((r) => setTimeout(r, 15));
    assert.equal(appends, 2, 'the retry is in flight');
    assert.equal(await log.ready(Date.now() + 1000), false, 'not available: the batch in flight failed');
  } finally {
    await log.close().catch(() => undefined);
    await real.close();
  }
});

test('a batch committed whose answer was lost (a writer thread or connection that died after the commit) counts as written', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db');
  const real = openSqliteAudit(path);
  let lose = true;
  const file: AuditStore = {
    ...real,
    appendEntries: async (chain, from, texts, key) => {
      const head = await real.appendEntries(chain, from, texts, key);
      if (lose) {
        lose = false;
        throw new Error('the audit writer thread exited (1)');
      }
      return head;
    },
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 10, maxBatch: 1000, chain: 'c' });
  try {
    await log.intent({ ...entry(1), kind: 'intent' });
    assert.equal(log.available, true);
    log.record(entry(2));
    await log.flush();
    assert.deepEqual(
      (await real.query({ chain: 'c' })).map((r) => r.seq),
      [1, 2],
      'the next batch follows on, no collision, nothing written twice',
    );
  } finally {
    await log.close();
    await real.close();
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s, the machine may be loaded) until the chain holds `n` records; the count it saw. */
async function rowsWritten(file: AuditStore, chain: string, n: number): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const c = await file.count(chain);
    if (c >= n) return c;
    await sleep(10);
  }
  return file.count(chain);
}

test('a new writer is available; a batch is written once full, or after flushMs, without a flush; written counts its records; a flush with nothing pending writes no head and anchors nothing', async () => {
  const file = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  const heads: SignedHead[] = [];
  const full = await AuditLog.open(file, KEY, { flushMs: 60_000, maxBatch: 3, chain: 'full' }, { anchor: (h) => heads.push(h) });
  assert.equal(full.available, true, 'available before its first batch (the audit gauge reads 1 from the start)');
  await full.flush();
  assert.deepEqual([heads.length, await file.chains()], [0, []], 'nothing pending: no head written, no anchor');
  full.record(entry(1));
  full.record(entry(2));
  await sleep(50);
  assert.equal(await file.count('full'), 0, 'two records of a batch of three wait for flushMs');
  full.record(entry(3));
  assert.equal(await rowsWritten(file, 'full', 3), 3, 'the third fills the batch: written at once');
  assert.equal(full.written, 3);
  const timed = await AuditLog.open(file, KEY, { flushMs: 20, maxBatch: 1000, chain: 'timed' });
  timed.record(entry(1));
  assert.equal(await rowsWritten(file, 'timed', 1), 1, 'written after flushMs, nobody flushing');
  assert.equal(timed.written, 1);
  await full.close();
  await timed.close();
  await file.close();
});

test('while the file cannot be written, ready() probes it at most once per flushMs', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  let probes = 0;
  let broken = true;
  const file: AuditStore = {
    ...real,
    probeWrite: async () => {
      probes++;
      if (broken) throw new Error('database is locked');
    },
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 1000, maxBatch: 1000, chain: 'c' });
  try {
    log.available = false;
    const t = Date.now();
    assert.equal(await log.ready(t), false, 'probed: still failing');
    assert.equal(probes, 1);
    assert.equal(await log.ready(t + 500), false);
    broken = false;
    assert.equal(await log.ready(t + 999), false, 'within flushMs of the failed probe: not probed again');
    assert.equal(probes, 1, 'one probe in the window');
    assert.equal(await log.ready(t + 1000), true, 'flushMs after the failed probe: probed again, and recovered');
    assert.equal(probes, 2);
  } finally {
    await log.close();
    await real.close();
  }
});

test('ready() while a batch that recovers the file is in flight: available once it is committed', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  let appends = 0;
  const file: AuditStore = {
    ...real,
    appendEntries: async (chain, from, texts, key) => {
      if (++appends === 1) throw new Error('database is locked');
      await sleep(30);
      return real.appendEntries(chain, from, texts, key);
    },
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 10, maxBatch: 1000, chain: 'c' });
  try {
    log.record(entry(1));
    await log.flush();
    assert.equal(log.available, false);
    await sleep(20); // the retry (flushMs later) is in flight
    assert.equal(appends, 2, 'the retry is in flight');
    assert.equal(await log.ready(Date.now() + 1000), true, 'the batch in flight was committed');
    assert.equal(await real.count('c'), 1);
  } finally {
    await log.close();
    await real.close();
  }
});

test('the backlog bounds the records kept through an outage, those recorded while the failing batch was in flight included', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  const file: AuditStore = {
    ...real,
    appendEntries: async () => {
      await sleep(30);
      throw new Error('database is locked');
    },
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 60_000, maxBatch: 1000, chain: 'c', maxBacklog: 3 });
  try {
    log.record(entry(1));
    log.record(entry(2));
    const failing = log.flush();
    await sleep(5);
    for (const i of [3, 4, 5]) log.record(entry(i));
    await failing;
    assert.equal(log.dropped, 2, 'three arrived during the batch: no room is left for its two');
  } finally {
    await log.close().catch(() => undefined);
    await real.close();
  }
});

test('a failed batch counts as written only when the file’s head is that batch’s: a head at its position with another hash fails the intent', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  let tried = false;
  const file: AuditStore = {
    ...real,
    appendEntries: async () => {
      tried = true;
      throw new Error('the audit writer thread exited (1)');
    },
    // After the failure the file names record 1 of the chain, but not the record this batch holds.
    head: async (chain) => (tried ? { chain, seq: 1, hash: 'e'.repeat(64), signature: 'f'.repeat(64) } : real.head(chain)),
  };
  const log = await AuditLog.open(file, KEY, { flushMs: 60_000, maxBatch: 1000, chain: 'c' });
  try {
    await assert.rejects(log.intent({ ...entry(1), kind: 'intent' }), /writer thread exited/);
    assert.equal(log.available, false);
  } finally {
    await log.close();
    await real.close();
  }
});

test('after a batch that did not commit, the kept records and those that came meanwhile are chained from the committed head, and the chain verifies', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'));
  let fail = true;
  const file: AuditStore = {
    ...real,
    appendEntries: async (chain, from, texts, key) => {
      if (!fail) return real.appendEntries(chain, from, texts, key);
      await sleep(30);
      throw new Error('database is locked');
    },
  };
  const heads: SignedHead[] = [];
  const log = await AuditLog.open(file, KEY, { flushMs: 60_000, maxBatch: 1000, chain: 'c' }, { anchor: (h) => heads.push(h) });
  try {
    log.record(entry(1));
    const refused = log.intent({ ...entry(2), kind: 'intent' });
    log.record(entry(3));
    const failing = log.flush();
    await sleep(5);
    // Recorded while the failing batch is out.
    log.record(entry(4));
    log.record(entry(5));
    await assert.rejects(refused);
    await failing;
    fail = false;
    log.record(entry(6));
    await log.flush();
    const rows = await real.query({ chain: 'c' });
    assert.deepEqual(
      rows.map((r) => [r.requestId, r.seq]),
      [
        ['r1', 1],
        ['r3', 2],
        ['r4', 3],
        ['r5', 4],
        ['r6', 5],
      ],
      'the refused intent left no gap',
    );
    const v = await verifyChain(KEY, rows, undefined, 'c');
    assert.deepEqual(v.problems, [], 'every row chains from the one before it under the key');
    assert.deepEqual(
      heads.map((h) => [h.seq, h.hash]),
      [[5, rows.at(-1)!.hash]],
    );
  } finally {
    await log.close();
    await real.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteAudit } from '../../store/sqlite/sqlite-audit.js';
import type { AuditStore, SignedHead } from '../../store/audit.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { Store } from '../../store/store.js';
import { AuditLog } from './audit-log.js';
import { AUDIT_FILE_SETTING, checkContinuity } from './continuity.js';
import { signCheckpoint, signHead, type AuditEntry } from './record.js';
import { acknowledgeDiscontinuity, verifyTrail } from './trail.js';
import { testEntry } from './entry.test.support.js';

/**
 * The audit file against the key store's anchors, in process: each kind of
 * discontinuity, the acknowledgement, and verification of every chain.
 */
const KEY = Buffer.alloc(32, 3);
const entry = (i: number): AuditEntry => testEntry(i, { at: 1_800_000_000_000 + i, resource: 'posts', action: 'browse' });

async function setup(): Promise<{
  store: Store;
  file: AuditStore;
  write: (chain: string, n: number) => Promise<void>;
  reopen: () => AuditStore;
  /** Closes the audit file and the key store and removes the folder: the end of every test. */
  close: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-continuity-'));
  const store = openSqliteStore(join(dir, 'k.db'));
  const path = join(dir, 'a.db');
  const box = { file: openSqliteAudit(path) };
  await store.settings.set(AUDIT_FILE_SETTING, box.file.fileId);
  const write = async (chain: string, n: number) => {
    const heads: SignedHead[] = [];
    const log = await AuditLog.open(box.file, KEY, { flushMs: 10_000, maxBatch: 100_000, chain }, { anchor: (h) => heads.push(h) });
    for (let i = 1; i <= n; i++) {
      log.record(entry(i));
      await log.flush();
    }
    for (const h of heads) await store.auditAnchors.advance({ ...h, updatedAt: 1 });
  };
  return {
    store,
    get file() {
      return box.file;
    },
    write,
    reopen: () => (box.file = openSqliteAudit(path)),
    close: async () => {
      await box.file.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a file holding every anchored record, or more, is continuous', async () => {
  const s = await setup();
  await s.write('c1', 3);
  await s.write('c2', 2);
  assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list()), []);
  // Ahead of the anchors (a crash between the audit commit and the anchor update): fine.
  const ahead = await s.store.auditAnchors.list();
  assert.deepEqual(
    await checkContinuity(
      KEY,
      s.file,
      s.file.fileId,
      ahead.map((a) => (a.chain === 'c1' ? { ...ahead[0]!, seq: 0 } : a)),
    ),
    [],
  );
  const r = await verifyTrail(KEY, s.file, s.store);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual([r.rows, r.chains.length], [5, 2]);
  await s.close();
});

// [what, damage to the file] -> a discontinuity of chain c1 (or of the file)
const DAMAGE: [string, (f: AuditStore) => Promise<void>][] = [
  ['its last records removed', (f) => f.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq > 1")],
  [
    'the whole chain removed',
    async (f) => {
      await f.unsafeExec("DELETE FROM audit WHERE chain = 'c1'");
      await f.unsafeExec("DELETE FROM audit_heads WHERE chain = 'c1'");
    },
  ],
  ['the anchored record replaced', (f) => f.unsafeExec("UPDATE audit SET hash = 'x' WHERE chain = 'c1' AND seq = 3")],
  ['the anchored record missing from the middle', (f) => f.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq = 3")],
];
for (const [what, damage] of DAMAGE) {
  test(`a chain with ${what} is a discontinuity until acknowledged; the acknowledgement verifies`, async () => {
    const s = await setup();
    await s.write('c1', 3);
    if (what.includes('middle'))
      await s.file.unsafeExec(
        "INSERT INTO audit SELECT 'c1', 4, at, request_id, kind, key_id, key_name, client_ip, method, route, resource, action, decision, code, status, latency_ms, bytes_in, bytes_out, detail, prev_hash, hash FROM audit WHERE chain = 'c1' AND seq = 3",
      );
    await damage(s.file);
    const found = await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list());
    assert.equal(found.length, 1);
    assert.equal(found[0]!.chain, 'c1');
    assert.deepEqual(found[0]!.expected?.seq, 3);
    assert.equal((await verifyTrail(KEY, s.file, s.store)).ok, false);
    const ack = await acknowledgeDiscontinuity(KEY, s.file, s.store, `lost: ${what}`, 2_000_000_000_000);
    assert.ok(ack, 'ack');
    assert.equal(ack.discontinuities.length, 1);
    assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list()), []);
    const after = await verifyTrail(KEY, s.file, s.store);
    if (!what.includes('replaced') && !what.includes('middle')) assert.equal(after.ok, true, JSON.stringify(after));
    assert.deepEqual(
      after.acknowledged.map((a) => a.reason),
      [`lost: ${what}`],
    );
    assert.equal(
      await acknowledgeDiscontinuity(KEY, s.file, s.store, 'again', 2_000_000_000_001),
      undefined,
      'nothing left to acknowledge',
    );
    await s.close();
  });
}

test('a replaced file (another identity) and a forged anchor are discontinuities', async () => {
  const s = await setup();
  await s.write('c1', 2);
  assert.equal((await checkContinuity(KEY, s.file, 'another-file', await s.store.auditAnchors.list()))[0]?.chain, null);
  const [a] = await s.store.auditAnchors.list();
  const forged = await checkContinuity(KEY, s.file, s.file.fileId, [{ ...a!, seq: 1 }]);
  assert.equal(forged.length, 1, 'an anchor whose signature does not verify');
  await s.close();
});

test('a pruned chain stays continuous: its checkpoint stands for the pruned records', async () => {
  const s = await setup();
  await s.write('c1', 4);
  const rows = await s.file.query({ chain: 'c1' });
  await s.file.prune('c1', 4, signCheckpoint(KEY, 4, rows[3]!.hash, 1, 'c1'));
  assert.equal(await s.file.count('c1'), 0);
  assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list()), []);
  const pruned = await verifyTrail(KEY, s.file, s.store);
  assert.equal(pruned.ok, true, JSON.stringify(pruned));
  const [a] = await s.store.auditAnchors.list();
  assert.equal((await checkContinuity(KEY, s.file, s.file.fileId, [{ ...a!, hash: 'y'.repeat(64) }])).length, 1);
  await s.close();
});

test('the key store names the audit file under the setting earlier versions wrote; a store that anchors no file yet (its first start) finds no discontinuity of the file', async () => {
  // Renaming the setting would leave upgraded key stores anchoring no file: a replaced file would go unnoticed.
  assert.equal(AUDIT_FILE_SETTING, 'audit.file');
  const s = await setup();
  await s.write('c1', 2);
  assert.deepEqual(await checkContinuity(KEY, s.file, undefined, await s.store.auditAnchors.list()), []);
  await s.close();
});

test('an anchor rolled back to an earlier record of its chain, keeping its signature, is a discontinuity (it would hide the truncated file)', async () => {
  const s = await setup();
  await s.write('c1', 3);
  const [a] = await s.store.auditAnchors.list();
  const first = (await s.file.row('c1', 1))!;
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq > 1");
  const found = await checkContinuity(KEY, s.file, s.file.fileId, [{ ...a!, seq: 1, hash: first.hash }]);
  assert.deepEqual(
    found.map((d) => [d.chain, d.expected?.seq, d.found]),
    [['c1', 1, undefined]],
    'the anchor does not verify',
  );
  await s.close();
});

test('a chain pruned past an older anchor is continuous; a record missing after the checkpoint is not', async () => {
  const s = await setup();
  await s.write('c1', 5);
  const rows = await s.file.query({ chain: 'c1' });
  const anchor = (seq: number) => {
    const hash = rows[seq - 1]!.hash;
    return { chain: 'c1', seq, hash, signature: signHead(KEY, 'c1', seq, hash), updatedAt: 1 };
  };
  await s.file.prune('c1', 2, signCheckpoint(KEY, 2, rows[1]!.hash, 1, 'c1'));
  // The anchor names record 1, pruned: the checkpoint at record 2 stands for it (the file is ahead of its anchor).
  assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, [anchor(1)]), []);
  assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, [anchor(2)]), []);
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq = 4");
  const found = await checkContinuity(KEY, s.file, s.file.fileId, [anchor(4)]);
  assert.deepEqual(
    found.map((d) => [d.chain, d.expected?.seq, d.found?.seq]),
    [['c1', 4, 5]],
    'record 4 is neither in the file nor behind its checkpoint',
  );
  await s.close();
});

test('verify finds records removed from a chain the key store has not anchored (its writer stopped before the anchor update) by the file’s signed head, and an edited head', async () => {
  const s = await setup();
  await s.write('c1', 3);
  await s.write('c2', 2);
  await s.write('c3', 2);
  for (const chain of ['c1', 'c2']) await s.store.auditAnchors.reset(chain, undefined);
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq > 1");
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c2'");
  await s.file.unsafeExec("UPDATE audit_heads SET signature = ? WHERE chain = 'c3'", 'f'.repeat(64));
  const r = await verifyTrail(KEY, s.file, s.store);
  assert.deepEqual(r.discontinuities, [], 'nothing anchored is missing');
  assert.deepEqual(
    r.chains.map((c) => [c.chain, c.problems.length]),
    [
      ['c1', 1],
      ['c2', 1],
      ['c3', 1],
    ],
    JSON.stringify(r.problems),
  );
  assert.equal(r.ok, false);
  await s.close();
});

test('an acknowledgement that cannot be written to the audit file changes no anchor: the discontinuity stays', async () => {
  const s = await setup();
  await s.write('c1', 3);
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq > 1");
  // The file takes no record (full), though re-signing a head (no rows) would go through.
  const full: AuditStore = {
    ...s.file,
    appendEntries: async () => {
      throw new Error('database or disk is full');
    },
  };
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  await assert.rejects(acknowledgeDiscontinuity(KEY, full, s.store, 'lost', 2_000_000_000_000));
  // Nothing is left to retry the record: a writer left open would retry it every 60 s and hold the process.
  assert.equal(timers(), before, 'no retry timer is left behind');
  assert.equal((await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list())).length, 1);
  await s.close();
});

test('acknowledging a replaced file: the signed record names both files, as an ACK of `ghostgate audit acknowledge`; the file is anchored after it', async () => {
  const s = await setup();
  await s.write('c1', 2);
  await s.store.settings.set(AUDIT_FILE_SETTING, 'another-file');
  assert.equal((await verifyTrail(KEY, s.file, s.store)).ok, false);
  const ack = await acknowledgeDiscontinuity(KEY, s.file, s.store, 'restored from a copy', 2_000_000_000_000);
  assert.deepEqual(
    ack?.discontinuities.map((d) => d.chain),
    [null],
  );
  const [rec] = await s.file.query({ code: 'AUDIT_DISCONTINUITY' });
  assert.deepEqual([rec?.method, rec?.route, rec?.kind], ['ACK', 'ghostgate audit acknowledge', 'discontinuity']);
  const detail = JSON.parse(rec!.detail!) as { fileId: string; anchoredFileId: string | null; reason: string };
  assert.deepEqual([detail.fileId, detail.anchoredFileId, detail.reason], [s.file.fileId, 'another-file', 'restored from a copy']);
  const after = await verifyTrail(KEY, s.file, s.store);
  assert.equal(after.ok, true, JSON.stringify(after));
  await s.close();
});

test('a pruned chain restored without its records after the checkpoint: acknowledged, its anchor is set back to the checkpoint', async () => {
  const s = await setup();
  await s.write('c1', 4);
  const rows = await s.file.query({ chain: 'c1' });
  await s.file.prune('c1', 2, signCheckpoint(KEY, 2, rows[1]!.hash, 1, 'c1'));
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1'");
  await s.file.unsafeExec("DELETE FROM audit_heads WHERE chain = 'c1'");
  assert.equal((await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list())).length, 1);
  assert.ok(await acknowledgeDiscontinuity(KEY, s.file, s.store, 'restored', 2_000_000_000_000), 'acknowledged');
  assert.deepEqual(await checkContinuity(KEY, s.file, s.file.fileId, await s.store.auditAnchors.list()), []);
  const anchor = (await s.store.auditAnchors.list()).find((a) => a.chain === 'c1');
  assert.deepEqual([anchor?.seq, anchor?.hash], [2, rows[1]!.hash]);
  const after = await verifyTrail(KEY, s.file, s.store);
  assert.equal(after.ok, true, JSON.stringify(after));
  await s.close();
});

test('verify on a file being written: a batch committed while it reads is not taken for records removed, and a head must name a row it holds', async () => {
  const s = await setup();
  // One live writer (a gateway's), three records in, appending on demand.
  const log = await AuditLog.open(s.file, KEY, { flushMs: 10_000, maxBatch: 100_000, chain: 'live' });
  let n = 0;
  const append = async (k: number) => {
    for (let i = 0; i < k; i++) log.record(entry(++n));
    await log.flush();
  };
  await append(3);
  // A batch committed just before the head is read (after the rows, when verify read the rows first).
  let writes = 1;
  const beforeHead: AuditStore = {
    ...s.file,
    head: async (chain) => {
      if (writes-- > 0) await append(2);
      return s.file.head(chain);
    },
  };
  const r1 = await verifyTrail(KEY, beforeHead, s.store);
  assert.deepEqual([r1.ok, r1.problems], [true, []]);
  // A batch committed after the head is read, before the rows are: the rows go further than the head.
  writes = 1;
  const afterHead: AuditStore = {
    ...s.file,
    checkpoint: async (chain) => {
      if (writes-- > 0) await append(2);
      return s.file.checkpoint(chain);
    },
  };
  const r2 = await verifyTrail(KEY, afterHead, s.store);
  assert.deepEqual([r2.ok, r2.chains[0]?.lastSeq], [true, 7]);
  // A signed head naming a record whose hash the chain does not hold.
  const wrongHash = 'f'.repeat(64);
  const forged: AuditStore = {
    ...s.file,
    head: async (chain) => ({ chain, seq: 2, hash: wrongHash, signature: signHead(KEY, chain, 2, wrongHash) }),
  };
  const r3 = await verifyTrail(KEY, forged, s.store);
  assert.equal(r3.ok, false);
  assert.match(r3.problems.join('\n'), /names record 2, which the chain does not hold as signed/);
  await log.close();
  await s.close();
});

test('a record edited to carry the acknowledgement code, or an acknowledgement whose detail was erased, is reported as edited, not read as an acknowledgement, and verify does not throw', async () => {
  const s = await setup();
  await s.write('c1', 3);
  // A request record given the code with no detail, another with a detail that is not an acknowledgement's JSON.
  await s.file.unsafeExec("UPDATE audit SET code = 'AUDIT_DISCONTINUITY' WHERE chain = 'c1' AND seq = 1");
  await s.file.unsafeExec("UPDATE audit SET code = 'AUDIT_DISCONTINUITY', detail = 'not json' WHERE chain = 'c1' AND seq = 2");
  const r = await verifyTrail(KEY, s.file, s.store);
  assert.equal(r.ok, false);
  assert.deepEqual(r.acknowledged, []);
  assert.ok(r.chains.find((c) => c.chain === 'c1')!.problems.length > 0, JSON.stringify(r.problems));
  // A real acknowledgement whose detail was erased.
  await s.file.unsafeExec("DELETE FROM audit WHERE chain = 'c1' AND seq > 2");
  assert.ok(await acknowledgeDiscontinuity(KEY, s.file, s.store, 'lost', 2_000_000_000_000), 'ack');
  await s.file.unsafeExec("UPDATE audit SET detail = NULL WHERE kind = 'discontinuity'");
  const erased = await verifyTrail(KEY, s.file, s.store);
  assert.equal(erased.ok, false);
  assert.deepEqual(erased.acknowledged, []);
  await s.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUDIT_WIDTH,
  chainedRows,
  chainHash,
  checkpointValid,
  entryText,
  genesis,
  GENESIS,
  signCheckpoint,
  signHead,
  verifyChain,
  type AuditEntry,
  type AuditRow,
} from './record.js';

const KEY = Buffer.alloc(32, 9);
const entry = (i: number): AuditEntry => ({
  at: 1_800_000_000_000 + i,
  requestId: `r${i}`,
  kind: 'request',
  keyId: 'k',
  keyName: 'n',
  clientIp: '127.0.0.1',
  method: 'GET',
  route: 'GET /posts',
  resource: 'posts',
  action: 'browse',
  decision: 'allow',
  code: null,
  status: 200,
  latencyMs: 1.5,
  bytesIn: null,
  bytesOut: 10,
});
function chain(n: number, from = { seq: 0, hash: GENESIS }): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = from.hash;
  for (let i = 1; i <= n; i++) {
    const seq = from.seq + i;
    const hash = chainHash(KEY, prev, seq, entry(seq));
    rows.push({ ...entry(seq), chain: '', seq, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

test('an untouched chain verifies', async () => {
  const v = await verifyChain(KEY, chain(10), undefined);
  assert.equal(v.ok, true);
  assert.equal(v.rows, 10);
});

test('an edited record, a deleted record and two swapped records are each detected', async () => {
  const edited = chain(10);
  edited[4] = { ...edited[4]!, decision: 'deny' };
  assert.match((await verifyChain(KEY, edited, undefined)).problems.join(), /row 5: its content does not match/);
  const deleted = chain(10).filter((r) => r.seq !== 6);
  assert.match((await verifyChain(KEY, deleted, undefined)).problems.join(), /expected row 6/);
  const swapped = chain(10);
  [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
  assert.equal((await verifyChain(KEY, swapped, undefined)).ok, false);
});

test('without the key, a rewritten chain does not verify', async () => {
  const forged = chain(5).map((r) => ({ ...r }));
  const other = Buffer.alloc(32, 1);
  let prev = GENESIS;
  for (const r of forged) {
    (r as { hash: string }).hash = chainHash(other, prev, r.seq, r);
    (r as { prevHash: string }).prevHash = prev;
    prev = r.hash;
  }
  assert.equal((await verifyChain(KEY, forged, undefined)).ok, false);
});

test('after pruning, the rest verifies from a signed checkpoint, and a forged checkpoint is detected', async () => {
  const all = chain(10);
  const cut = all[3]!;
  const checkpoint = signCheckpoint(KEY, cut.seq, cut.hash, 5);
  assert.equal((await verifyChain(KEY, all.slice(4), checkpoint)).ok, true);
  assert.equal((await verifyChain(KEY, all.slice(5), checkpoint)).ok, false, 'a record after the checkpoint is missing');
  assert.equal((await verifyChain(KEY, all.slice(4), { ...checkpoint, seq: 2 })).ok, false);
});

test('files written before chains still verify: the first chain hashes and signs exactly as before (golden values)', () => {
  const h = chainHash(KEY, GENESIS, 1, entry(1));
  assert.equal(h, '7d3d19127dbaf2a90270150fa439e29665ef772faf5dfadadcdd7152919f8d2a');
  assert.equal(signHead(KEY, '', 1, 'ab'), 'dbdf65af14473067a0596ef65bd20280904f11ff5ad3617ccb332a18e2297ef1');
  assert.equal(signCheckpoint(KEY, 1, h, 5).signature, '949c0594744bfad00d9d126cde95e0e2fc1cf23fba48ecdb869efdab3a03230e');
  assert.equal(genesis(KEY, ''), GENESIS);
  // Named chains are bound to their id: their start, head and checkpoint signatures differ.
  assert.notEqual(genesis(KEY, 'c1'), GENESIS);
  assert.notEqual(genesis(KEY, 'c1'), genesis(KEY, 'c2'));
  assert.notEqual(signHead(KEY, 'c1', 1, 'ab'), signHead(KEY, '', 1, 'ab'));
  assert.notEqual(signCheckpoint(KEY, 1, h, 5, 'c1').signature, signCheckpoint(KEY, 1, h, 5).signature);
});

test('a record’s detail is covered by its hash; a record without one hashes as before', () => {
  const e = { ...entry(1), kind: 'discontinuity' as const, detail: '{"reason":"disk lost"}' };
  const h = chainHash(KEY, GENESIS, 1, e);
  assert.notEqual(h, chainHash(KEY, GENESIS, 1, { ...e, detail: '{"reason":"edited"}' }));
  assert.notEqual(h, chainHash(KEY, GENESIS, 1, entry(1)));
  assert.equal(chainHash(KEY, GENESIS, 1, { ...entry(1), detail: null }), chainHash(KEY, GENESIS, 1, entry(1)));
});

test('verifying a named chain: its first and last records, a forged checkpoint, and a record spliced in from another chain', async () => {
  const named = (chainId: string, n: number): AuditRow[] => {
    const rows: AuditRow[] = [];
    let prev = genesis(KEY, chainId);
    for (let seq = 1; seq <= n; seq++) {
      const hash = chainHash(KEY, prev, seq, entry(seq));
      rows.push({ ...entry(seq), chain: chainId, seq, prevHash: prev, hash });
      prev = hash;
    }
    return rows;
  };
  const a = named('a', 4);
  const v = await verifyChain(KEY, a, undefined, 'a');
  assert.deepEqual([v.ok, v.rows, v.firstSeq, v.lastSeq], [true, 4, 1, 4]);
  assert.equal((await verifyChain(KEY, a, undefined, 'b')).ok, false, 'a chain verifies only under its own id');
  assert.deepEqual((await verifyChain(KEY, [], undefined, 'a')).lastSeq, null);
  // Row 3 of chain b is a valid record of its own chain, but does not follow row 2 of chain a.
  const spliced = [...a.slice(0, 2), named('b', 3)[2]!, ...a.slice(3)];
  assert.match((await verifyChain(KEY, spliced, undefined, 'a')).problems.join(), /row 3: does not chain/);
  const cp = signCheckpoint(KEY, 2, a[1]!.hash, 9, 'a');
  assert.equal((await verifyChain(KEY, a.slice(2), cp, 'a')).ok, true);
  assert.match((await verifyChain(KEY, a.slice(2), { ...cp, signature: 'f'.repeat(64) }, 'a')).problems.join(), /checkpoint signature/);
});

test('a named chain’s head and checkpoint signatures cover the chain, the sequence number, the hash and (checkpoints) the time', () => {
  const head = signHead(KEY, 'c1', 1, 'ab');
  for (const other of [signHead(KEY, 'c2', 1, 'ab'), signHead(KEY, 'c1', 2, 'ab'), signHead(KEY, 'c1', 1, 'cd')])
    assert.notEqual(other, head);
  const cp = signCheckpoint(KEY, 1, 'ab', 5, 'c1');
  assert.deepEqual([cp.seq, cp.hash, cp.at], [1, 'ab', 5]);
  for (const other of [
    signCheckpoint(KEY, 1, 'ab', 5, 'c2'),
    signCheckpoint(KEY, 2, 'ab', 5, 'c1'),
    signCheckpoint(KEY, 1, 'cd', 5, 'c1'),
    signCheckpoint(KEY, 1, 'ab', 6, 'c1'),
  ])
    assert.notEqual(other.signature, cp.signature);
  assert.equal(checkpointValid(KEY, cp, 'c1'), true);
  assert.equal(checkpointValid(KEY, signCheckpoint(KEY, 1, 'ab', 5)), true, 'the first chain by default');
  assert.equal(checkpointValid(KEY, cp, 'c2'), false);
  assert.equal(checkpointValid(KEY, { ...cp, at: 6 }, 'c1'), false);
});

test('a chain with a problem in every row: verification stops after the first fifty or so, the report stays bounded', async () => {
  const rows = chain(500).map((r) => ({ ...r, status: 500 }));
  const v = await verifyChain(KEY, rows, undefined);
  assert.equal(v.ok, false);
  assert.ok(v.problems.length <= 60 && v.rows < 500, `${v.problems.length} problems after ${v.rows} rows`);
});

test('a batch chained from its entry texts: each row is its entry and its place, hashed as chainHash hashes it, and the head is signed', () => {
  const from = { seq: 4, hash: genesis(KEY, 'c') };
  const entries: AuditEntry[] = [entry(5), { ...entry(6), detail: '{"reason":"x"}' }, { ...entry(7), detail: null }];
  const { rows, head } = chainedRows(KEY, 'c', from, entries.map(entryText));
  let prevHash = from.hash;
  const expected = entries.map((e, i) => {
    const seq = from.seq + 1 + i;
    const hash = chainHash(KEY, prevHash, seq, e);
    const { detail, ...rest } = e;
    // Read back as written: `detail` only when present (a null detail is no detail).
    const row: AuditRow = { ...rest, ...(detail !== null && detail !== undefined ? { detail } : {}), chain: 'c', seq, prevHash, hash };
    prevHash = hash;
    return row;
  });
  assert.deepEqual(rows, expected);
  assert.deepEqual(head, { chain: 'c', seq: 7, hash: expected[2]!.hash, signature: signHead(KEY, 'c', 7, expected[2]!.hash) });
  assert.equal(AUDIT_WIDTH, 17, 'every field and detail: the columns a row binds before its place in the chain');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainHash, GENESIS, signCheckpoint, verifyChain, type AuditEntry, type AuditRow } from './record.js';

const KEY = Buffer.alloc(32, 9);
const entry = (i: number): AuditEntry => ({
  at: 1_800_000_000_000 + i, requestId: `r${i}`, kind: 'request', keyId: 'k', keyName: 'n', clientIp: '127.0.0.1', method: 'GET',
  route: 'GET /posts', resource: 'posts', action: 'browse', decision: 'allow', code: null, status: 200, latencyMs: 1.5, bytesIn: null, bytesOut: 10,
});
function chain(n: number, from = { seq: 0, hash: GENESIS }): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = from.hash;
  for (let i = 1; i <= n; i++) {
    const seq = from.seq + i;
    const hash = chainHash(KEY, prev, seq, entry(seq));
    rows.push({ ...entry(seq), seq, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

test('an untouched chain verifies', () => {
  const v = verifyChain(KEY, chain(10), undefined);
  assert.equal(v.ok, true);
  assert.equal(v.rows, 10);
});

test('an edited record, a deleted record and two swapped records are each detected', () => {
  const edited = chain(10);
  edited[4] = { ...edited[4]!, decision: 'deny' };
  assert.match(verifyChain(KEY, edited, undefined).problems.join(), /row 5: its content does not match/);
  const deleted = chain(10).filter((r) => r.seq !== 6);
  assert.match(verifyChain(KEY, deleted, undefined).problems.join(), /expected row 6/);
  const swapped = chain(10);
  [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
  assert.equal(verifyChain(KEY, swapped, undefined).ok, false);
});

test('without the key, a rewritten chain does not verify', () => {
  const forged = chain(5).map((r) => ({ ...r }));
  const other = Buffer.alloc(32, 1);
  let prev = GENESIS;
  for (const r of forged) {
    (r as { hash: string }).hash = chainHash(other, prev, r.seq, r);
    (r as { prevHash: string }).prevHash = prev;
    prev = r.hash;
  }
  assert.equal(verifyChain(KEY, forged, undefined).ok, false);
});

test('after pruning, the rest verifies from a signed checkpoint, and a forged checkpoint is detected', () => {
  const all = chain(10);
  const cut = all[3]!;
  const checkpoint = signCheckpoint(KEY, cut.seq, cut.hash, 5);
  assert.equal(verifyChain(KEY, all.slice(4), checkpoint).ok, true);
  assert.equal(verifyChain(KEY, all.slice(5), checkpoint).ok, false, 'a record after the checkpoint is missing');
  assert.equal(verifyChain(KEY, all.slice(4), { ...checkpoint, seq: 2 }).ok, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyStore } from '../store/store.js';
import { UsageRecorder } from './usage.js';

/** A KeyStore that records only recordUses (the one method the recorder may call). */
function fakeKeys(fail = false): { keys: KeyStore; batches: { id: string; count: number; lastAt: number }[][] } {
  const batches: { id: string; count: number; lastAt: number }[][] = [];
  const keys = new Proxy({} as KeyStore, {
    get: (_t, name) => {
      if (name !== 'recordUses') throw new Error(`UsageRecorder called KeyStore.${String(name)}`);
      return async (b: { id: string; count: number; lastAt: number }[]) => {
        if (fail) throw new Error('store gone');
        batches.push(b);
      };
    },
  });
  return { keys, batches };
}

test('uses are summed per key in memory and written in one batch per flush, nothing when idle', async () => {
  const { keys, batches } = fakeKeys();
  const u = new UsageRecorder(keys, 60_000);
  await u.flush();
  assert.deepEqual(batches, []);
  u.add('a', 10);
  u.add('b', 11);
  u.add('a', 12);
  await u.flush();
  assert.deepEqual(batches, [
    [
      { id: 'a', count: 2, lastAt: 12 },
      { id: 'b', count: 1, lastAt: 11 },
    ],
  ]);
  await u.flush();
  assert.equal(batches.length, 1, 'a flushed batch is not written twice');
  u.add('a', 20);
  await u.close();
  assert.deepEqual(batches[1], [{ id: 'a', count: 1, lastAt: 20 }], 'close flushes');
});

test('a failed write is reported, not thrown', async () => {
  const { keys } = fakeKeys(true);
  const errors: string[] = [];
  const u = new UsageRecorder(keys, 60_000, (e) => errors.push(e.message));
  u.add('a', 1);
  await u.flush();
  await u.close();
  assert.deepEqual(errors, ['store gone']);
});

test('uses are written every intervalMs without a call to flush; the timer does not keep the process alive', async () => {
  const { keys, batches } = fakeKeys();
  const u = new UsageRecorder(keys, 20);
  u.add('a', 1);
  await new Promise((r) => setTimeout(r, 200));
  const keepsAlive = (u as unknown as { timer: NodeJS.Timeout }).timer.hasRef();
  const written = [...batches];
  await u.close();
  assert.deepEqual(written, [[{ id: 'a', count: 1, lastAt: 1 }]]);
  assert.equal(keepsAlive, false);
  u.add('b', 2);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(batches.length, 1, 'closed: the timer is stopped');
});

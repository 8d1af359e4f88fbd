import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRow, SignedHead } from '../audit.js';
import { openSqliteAudit } from './sqlite-audit.js';

/**
 * The audit file's batches committed on a worker thread (sqlite-audit-writer.ts): what the gateway's
 * thread reads back is what it sent, in order; a refused commit rejects with SQLite's code; close
 * waits for the batches already sent.
 */
const row = (seq: number, over: Partial<AuditRow> = {}): AuditRow => ({
  chain: 'c',
  seq,
  at: 1_700_000_000_000 + seq,
  requestId: `r${seq}`,
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
  latencyMs: 1,
  bytesIn: null,
  bytesOut: 10,
  detail: null,
  prevHash: `p${seq}`,
  hash: `h${seq}`,
  ...over,
});
const head = (seq: number): SignedHead => ({ chain: 'c', seq, hash: `h${seq}`, signature: `s${seq}` });

test('batches sent at once are committed in order by the writer thread and read back on this one', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gg-audit-thread-')), 'audit.db');
  const audit = openSqliteAudit(file, { writer: 'thread' });
  try {
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 5 }, (_, i) => row(b * 5 + i + 1)));
    await Promise.all(batches.map((rows) => audit.append('c', rows, head(rows[rows.length - 1]!.seq))));
    const back = await audit.query({ chain: 'c' });
    assert.deepEqual(
      back.map((r) => r.seq),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.deepEqual(await audit.head('c'), head(100), 'the head of the last batch');
    await assert.rejects(
      audit.append('c', [row(100)], head(100)),
      (e: Error & { code?: string }) => e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY',
      'a refused commit rejects with SQLite’s code',
    );
    assert.equal(await audit.count('c'), 100, 'and changes nothing');
  } finally {
    await audit.close();
  }
});

test('a full audit file refuses the batch on the writer thread too (the size cap holds on its connection)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gg-audit-thread-')), 'audit.db');
  const audit = openSqliteAudit(file, { writer: 'thread', maxSizeMb: 0.05 });
  try {
    let refused: (Error & { code?: string }) | undefined;
    for (let b = 0; b < 200 && !refused; b++) {
      const rows = Array.from({ length: 10 }, (_, i) => row(b * 10 + i + 1, { detail: 'x'.repeat(200) }));
      await audit.append('c', rows, head(b * 10 + 10)).catch((e: unknown) => {
        refused = e as Error & { code?: string };
      });
    }
    assert.equal(refused?.code, 'SQLITE_FULL');
    await assert.rejects(audit.probeWrite(Date.now()), 'the probe needs room as a batch does: a full file refuses it too');
  } finally {
    await audit.close();
  }
});

test('close waits for the batches already sent', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gg-audit-thread-')), 'audit.db');
  const audit = openSqliteAudit(file, { writer: 'thread' });
  const sent = audit.append('c', [row(1), row(2)], head(2));
  await audit.close();
  await sent;
  const again = openSqliteAudit(file);
  try {
    assert.equal(await again.count('c'), 2, 'committed before the close');
  } finally {
    await again.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteAudit } from '../src/store/sqlite/sqlite-audit.js';
import type { SignedHead } from '../src/store/audit.js';
import { AuditLog } from '../src/pipeline/audit/audit-log.js';
import { chainedRows, entryText, genesis, signHead, verifyChain, type AuditEntry } from '../src/pipeline/audit/record.js';
import { testEntry as entry } from '../src/pipeline/audit/entry.test.support.js';

/**
 * The gateway's audit writer on the SQLite file's writer thread, which chains each batch by running the
 * source of src/store/audit-chain.ts's functions: its rows must be the ones those functions give on this
 * thread. Here rather than beside the module: a mutation run instruments that source, which the thread
 * could not run (scripts/stryker.config.mjs runs src/**\/*.test.ts).
 */
const KEY = Buffer.alloc(32, 5);

test('on the writer thread (the gateway’s): the rows it chains are the ones this thread’s format gives, they verify, and the anchored head is signed', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'), { writer: 'thread' });
  const heads: SignedHead[] = [];
  const log = await AuditLog.open(real, KEY, { flushMs: 60_000, maxBatch: 1000, chain: 'c' }, { anchor: (h) => heads.push(h) });
  // Texts that JSON escapes (a newline, quotes, a backslash, a character beyond ASCII), a detail, and a null detail.
  const entries: AuditEntry[] = [
    entry(1),
    { ...entry(2), keyName: 'line one\nline "two" \\ ✓', route: 'GET /posts/é' },
    { ...entry(3), kind: 'intent', detail: JSON.stringify({ origin: 'https://a.example', note: 'x\ny' }) },
    { ...entry(4), detail: null },
  ];
  try {
    log.record(entries[0]!);
    log.record(entries[1]!);
    await log.intent(entries[2]!);
    log.record(entries[3]!);
    await log.flush();
    const rows = await real.query({ chain: 'c' });
    const expected = [
      ...chainedRows(KEY, 'c', { seq: 0, hash: genesis(KEY, 'c') }, entries.slice(0, 3).map(entryText)).rows,
      ...chainedRows(KEY, 'c', { seq: 3, hash: heads[0]!.hash }, [entryText(entries[3]!)]).rows,
    ];
    assert.deepEqual(
      rows.map(({ pos: _, ...r }) => ({ ...r, detail: r.detail ?? null })),
      expected.map((r) => ({ ...r, detail: r.detail ?? null })),
      'each row as chainedRows gives it on this thread',
    );
    assert.deepEqual(
      rows.map((r) => r.keyName),
      entries.map((e) => e.keyName),
    );
    assert.deepEqual((await verifyChain(KEY, rows, undefined, 'c')).problems, []);
    assert.deepEqual(
      heads.map((h) => [h.seq, h.hash, h.signature === signHead(KEY, 'c', h.seq, h.hash)]),
      [
        [3, rows[2]!.hash, true],
        [4, rows[3]!.hash, true],
      ],
    );
    assert.deepEqual(await real.head('c'), heads[1], 'the file’s head is the one anchored');
  } finally {
    await log.close();
    await real.close();
  }
});

test('an empty batch on the writer thread re-signs the head, as the other writers do', async () => {
  const real = openSqliteAudit(join(mkdtempSync(join(tmpdir(), 'ghostgate-auditlog-')), 'a.db'), { writer: 'thread' });
  try {
    const from = { seq: 0, hash: genesis(KEY, 'e') };
    const head = await real.appendEntries('e', from, [], KEY);
    assert.deepEqual(head, { chain: 'e', seq: 0, hash: from.hash, signature: signHead(KEY, 'e', 0, from.hash) });
    assert.deepEqual(await real.head('e'), head);
    assert.equal(await real.count('e'), 0);
  } finally {
    await real.close();
  }
});

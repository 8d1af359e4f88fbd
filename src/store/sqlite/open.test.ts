import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteAudit } from './sqlite-audit.js';
import { migrateSqliteStore, openSqliteStore } from './sqlite-store.js';

test('a key store or audit file that cannot be opened is named in the error (review finding: only "unable to open database file")', () => {
  const missing = join(mkdtempSync(join(tmpdir(), 'ghostgate-open-')), 'no-such-folder');
  const store = join(missing, 'ghostgate.db');
  const audit = join(missing, 'audit.db');
  assert.throws(
    () => openSqliteStore(store),
    (e: Error) => e.message.startsWith(`the key store ${store} cannot be opened: `),
  );
  assert.throws(
    () => migrateSqliteStore(store),
    (e: Error) => e.message.startsWith(`the key store ${store} cannot be opened: `),
  );
  assert.throws(
    () => openSqliteAudit(audit),
    (e: Error) => e.message.startsWith(`the audit file ${audit} cannot be opened: `),
  );
});

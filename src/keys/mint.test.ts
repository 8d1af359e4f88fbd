import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterSecret } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { checkPolicy, mintKey, MintError, type KeyPolicy } from './mint.js';

const NOW = Date.parse('2026-11-28T00:00:00Z');
const DAY = 86_400_000;
const open: KeyPolicy = { requireExpiry: false };
const strict: KeyPolicy = { requireExpiry: true, maxKeyLifetimeDays: 30 };

// [what, policy, expiresAt, notBefore, refused]
const windows: [string, KeyPolicy, number | null, number | null, boolean][] = [
  ['no window at all, no policy', open, null, null, false],
  ['not-before before the expiry', open, NOW + 2 * DAY, NOW + DAY, false],
  ['not-before in the past, expiry ahead', open, NOW + DAY, NOW - DAY, false],
  ['not-before after the expiry (a key that could never be used)', open, NOW + DAY, NOW + 2 * DAY, true],
  ['not-before equal to the expiry', open, NOW + DAY, NOW + DAY, true],
  ['not-before with no expiry', open, null, NOW + DAY, false],
  ['an expiry in the past', open, NOW - 1, null, true],
  ['an expiry that is not a time', open, Number.NaN, null, true],
  ['a not-before that is not a time', open, NOW + DAY, Number.NaN, true],
  ['an expiry beyond what a Date holds (--expires 99999999d)', open, NOW + 99_999_999 * DAY, null, true],
  ['a not-before beyond what a Date holds', open, null, 8.64e15 + 1, true],
  ['the last time a Date holds', open, 8.64e15, null, false],
  ['policy: no expiry', strict, null, null, true],
  ['policy: an expiry past the longest lifetime', strict, NOW + 31 * DAY, null, true],
  ['policy: within the longest lifetime', strict, NOW + 30 * DAY, NOW + 29 * DAY, false],
  ['policy: a not-before past the expiry within the lifetime', strict, NOW + 10 * DAY, NOW + 20 * DAY, true],
];

for (const [what, policy, expiresAt, notBefore, refused] of windows) {
  test(`a key's window: ${what} is ${refused ? 'refused' : 'accepted'}`, () => {
    const check = () => {
      checkPolicy(policy, expiresAt, NOW, notBefore);
    };
    if (refused) assert.throws(check, MintError);
    else assert.doesNotThrow(check);
  });
}

test('a child that would expire before its parent becomes valid is refused and not created (review finding)', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ghostgate-mint-')), 'k.db'));
  try {
    const master = new MasterSecret(MasterSecret.generateHex());
    const grant = { version: 1, scopes: ['posts:browse'] };
    const parent = await mintKey(store, master, open, { name: 'p', grant, notBefore: NOW + 2 * DAY }, NOW);
    await assert.rejects(mintKey(store, master, open, { name: 'c', grant, expiresAt: NOW + 2 * DAY }, NOW, parent.record), MintError);
    assert.equal((await store.keys.list()).length, 1, 'only the parent');
    const child = await mintKey(store, master, open, { name: 'c', grant, expiresAt: NOW + 3 * DAY }, NOW, parent.record);
    assert.equal(child.record.parentId, parent.record.id);
  } finally {
    await store.close();
  }
});

test('mintKey applies the window check: a not-before after the expiry creates no key', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ghostgate-mint-')), 'k.db'));
  try {
    const master = new MasterSecret(MasterSecret.generateHex());
    const spec = { name: 'w', grant: { version: 1, scopes: ['posts:browse'] }, expiresAt: NOW + DAY, notBefore: NOW + 2 * DAY };
    await assert.rejects(mintKey(store, master, open, spec, NOW), MintError);
    assert.deepEqual(await store.keys.list(), []);
    const ok = await mintKey(store, master, open, { ...spec, notBefore: NOW + DAY / 2 }, NOW);
    assert.equal(ok.record.notBefore, NOW + DAY / 2);
  } finally {
    await store.close();
  }
});

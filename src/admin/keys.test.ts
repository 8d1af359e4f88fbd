import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../config/config.js';
import { MasterSecret, parseKey } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { AdminError } from './errors.js';
import { createKey, listKeys, revokeKey, rotateKey, showKey } from './keys.js';

/** The key services on a real SQLite store: what the CLI and the management API call. */
const NOW = Date.parse('2026-11-28T00:00:00Z');
const setup = () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ghostgate-admin-')), 'k.db'));
  const master = new MasterSecret(MasterSecret.generateHex());
  // No upstream credential: a service that needed Ghost here would fail the test.
  const config = ConfigSchema.parse({ upstream: { url: 'http://127.0.0.1:9' } });
  return { ctx: { config, store, master }, store, master };
};
const refusal = (code: string) => (e: unknown) => e instanceof AdminError && e.code === code;

test('createKey: a valid grant makes a key whose secret is derived, not stored; bad input writes nothing', async () => {
  const { ctx, store, master } = setup();
  try {
    await assert.rejects(createKey(ctx, { name: 'x', grant: { version: 1, scopes: ['posts:fly'] } }, NOW), refusal('INVALID'));
    await assert.rejects(
      createKey(ctx, { name: 'x', grant: { version: 1, scopes: ['posts:browse'] }, parentId: 'f'.repeat(24) }, NOW),
      refusal('NOT_FOUND'),
    );
    await assert.rejects(
      createKey(ctx, { name: 'x', grant: { version: 1, scopes: ['posts:browse'] }, expiresAt: NOW + 1000, notBefore: NOW + 2000 }, NOW),
      refusal('INVALID'),
    );
    assert.deepEqual(await listKeys({ store }), [], 'nothing was written by a refused create');
    const { record, key } = await createKey(ctx, { name: 'zapier', grant: { version: 1, scopes: ['posts:browse'] }, maxUses: 3 }, NOW);
    const parsed = parseKey(key)!;
    assert.equal(parsed.id, record.id);
    assert.deepEqual(parsed.secret, master.keySecret(record.id, record.generation));
    assert.deepEqual(
      (await listKeys({ store })).map((k) => [k.name, k.maxUses]),
      [['zapier', 3]],
    );
  } finally {
    await store.close();
  }
});

test('rotateKey gives a new secret with a grace period; showKey and revokeKey (children too); unknown ids are NOT_FOUND', async () => {
  const { ctx, store, master } = setup();
  try {
    const parent = await createKey(ctx, { name: 'p', grant: { version: 1, scopes: ['posts:browse', 'keys:mint'] } }, NOW);
    const child = await createKey(ctx, { name: 'c', grant: { version: 1, scopes: ['posts:browse'] }, parentId: parent.record.id }, NOW);
    assert.equal(child.record.parentId, parent.record.id);
    await assert.rejects(rotateKey(ctx, parent.record.id, -1, NOW), refusal('INVALID'));
    const rotated = await rotateKey(ctx, parent.record.id, 60_000, NOW);
    assert.notEqual(rotated.key, parent.key);
    assert.deepEqual(parseKey(rotated.key)!.secret, master.keySecret(parent.record.id, rotated.record.generation));
    assert.equal(rotated.record.graceUntil, NOW + 60_000);
    await assert.rejects(rotateKey(ctx, 'a'.repeat(24), 0, NOW), refusal('NOT_FOUND'));
    const shown = await showKey({ store }, child.record.id, NOW);
    assert.deepEqual([shown.record.name, shown.uses, shown.webhooks], ['c', { spent: 0, reserved: 0, unknown: 0 }, []]);
    await assert.rejects(showKey({ store }, 'a'.repeat(24), NOW), refusal('NOT_FOUND'));
    const r = await revokeKey({ store }, parent.record.id, undefined, NOW);
    assert.equal(r.changed, true);
    assert.deepEqual(new Set(r.revoked), new Set([parent.record.id, child.record.id]));
    assert.equal((await store.keys.get(child.record.id))!.status, 'revoked');
    assert.equal((await revokeKey({ store }, parent.record.id, undefined, NOW)).changed, false, 'revoking twice changes nothing');
    await assert.rejects(revokeKey({ store }, 'a'.repeat(24), undefined, NOW), refusal('NOT_FOUND'));
  } finally {
    await store.close();
  }
});

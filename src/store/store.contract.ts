import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from './store.js';

/** The contract every Store driver passes (sqlite/ today, postgres/ next). */
export function storeContract(name: string, open: () => Promise<Store>): void {
  const ID = 'a'.repeat(24);
  const grant = { version: 1 as const, scopes: ['posts:browse'] };

  test(`${name}: creates, reads and lists keys`, async () => {
    const store = await open();
    try {
      const rec = await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      assert.deepEqual(rec, { id: ID, name: 'k', grant, status: 'active', generation: 1, createdAt: 1000, revokedAt: null, lastUsedAt: null, useCount: 0 });
      assert.deepEqual(await store.keys.get(ID), rec);
      assert.equal(await store.keys.get('b'.repeat(24)), undefined);
      assert.deepEqual((await store.keys.list()).map((k) => k.id), [ID]);
      await assert.rejects(store.keys.create({ id: ID, name: 'dup', grant, createdAt: 1 }));
    } finally {
      await store.close();
    }
  });

  test(`${name}: revocation is a state change, once`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      assert.equal(await store.keys.revoke(ID, 2000), true);
      assert.equal(await store.keys.revoke(ID, 3000), false);
      const k = await store.keys.get(ID);
      assert.equal(k?.status, 'revoked');
      assert.equal(k?.revokedAt, 2000);
    } finally {
      await store.close();
    }
  });

  test(`${name}: records uses and keeps settings`, async () => {
    const store = await open();
    try {
      await store.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
      await store.keys.recordUse(ID, 5000);
      await store.keys.recordUse(ID, 6000);
      const k = await store.keys.get(ID);
      assert.equal(k?.useCount, 2);
      assert.equal(k?.lastUsedAt, 6000);
      assert.equal(await store.settings.get('x'), undefined);
      await store.settings.set('x', 'one');
      await store.settings.set('x', 'two');
      assert.equal(await store.settings.get('x'), 'two');
    } finally {
      await store.close();
    }
  });

  test(`${name}: the ledger keeps each key's created ids per resource, once each`, async () => {
    const store = await open();
    try {
      await store.ledger.add(ID, 'webhooks', 'w1', 1);
      await store.ledger.add(ID, 'webhooks', 'w2', 2);
      await store.ledger.add(ID, 'webhooks', 'w1', 3);
      await store.ledger.add(ID, 'posts', 'p1', 4);
      await store.ledger.add('b'.repeat(24), 'webhooks', 'w3', 5);
      assert.deepEqual(await store.ledger.ids(ID, 'webhooks'), ['w1', 'w2']);
      assert.deepEqual(await store.ledger.ids(ID, 'posts'), ['p1']);
      assert.deepEqual(await store.ledger.ids('c'.repeat(24), 'webhooks'), []);
    } finally {
      await store.close();
    }
  });
}

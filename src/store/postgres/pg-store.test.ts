import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { storeContract } from '../store.contract.js';
import { StoreMigrationError, StoreUnavailableError, type Store } from '../store.js';
import { PG_MIGRATIONS } from './pg-migrations.js';
import { migratePostgresStore, openPostgresStore, type PostgresStore } from './pg-store.js';
import { pgUnavailable, testSchema, type TestSchema } from './postgres.test.helper.js';

/**
 * The store contract on PostgreSQL, and what only several replicas on one
 * database can show: reservations exact across two pools, key changes seen
 * by another replica within 1 s (measured), migrations checked at start-up.
 * Each test opens a schema of its own, dropped at the end.
 */
const skip = await pgUnavailable();
const options = skip ? { skip } : {};
const schemas: TestSchema[] = [];
const urls = new WeakMap<object, string>();
after(async () => {
  for (const s of schemas) await s.drop();
});

async function fresh(): Promise<TestSchema> {
  const s = await testSchema();
  schemas.push(s);
  return s;
}

storeContract(
  'postgres',
  async () => {
    const s = await fresh();
    const store = await openPostgresStore(s.url, { pollMs: 100 });
    urls.set(store, s.url);
    return store;
  },
  async (first) => openPostgresStore(urls.get(first)!, { pollMs: 100 }),
  { ...options, propagationMs: 1000 },
);

const ID = 'a'.repeat(24);
const grant = { version: 1 as const, scopes: ['posts:browse'] };

test('postgres: 20 parallel reservations of a one-use key across two replicas (two pools) give exactly one', options, async () => {
  const s = await fresh();
  const [a, b] = [await openPostgresStore(s.url), await openPostgresStore(s.url)];
  try {
    await a.keys.create({ id: ID, name: 'k', grant, createdAt: 1000, maxUses: 1 });
    const now = Date.now();
    const ha = await a.holders.register({ pid: 1, host: 'a', startedAt: now }, now + 60_000);
    const hb = await b.holders.register({ pid: 2, host: 'b', startedAt: now }, now + 60_000);
    const got = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a.keys.reserveUse(ID, ha, now) : b.keys.reserveUse(ID, hb, now))),
    );
    assert.equal(got.filter((r) => r !== undefined).length, 1);
    assert.deepEqual(await b.keys.uses(ID, Date.now()), { spent: 0, reserved: 1, unknown: 0 });
    // Settled as a success, the use is spent for both replicas.
    const r = got.find((x) => x !== undefined)!;
    await (got.indexOf(r) % 2 === 0 ? a : b).keys.settleUse(r, 'succeeded', now);
    assert.equal(await a.keys.reserveUse(ID, ha, now), undefined);
    assert.equal(await b.keys.reserveUse(ID, hb, now), undefined);
    assert.equal((await b.keys.get(ID))?.useCount, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: a dead replica’s reservations are resolved once, however many replicas resolve them at once', options, async () => {
  const s = await fresh();
  const stores = [await openPostgresStore(s.url), await openPostgresStore(s.url), await openPostgresStore(s.url)];
  try {
    await stores[0]!.keys.create({ id: ID, name: 'k', grant, createdAt: 1000, maxUses: 3 });
    const now = Date.now();
    const dead = await stores[0]!.holders.register({ pid: 1, host: 'gone', startedAt: now }, now + 60_000);
    const sent = (await stores[0]!.keys.reserveUse(ID, dead, now))!;
    assert.equal(await stores[0]!.keys.markSent(sent, 'req'), true);
    await stores[0]!.keys.reserveUse(ID, dead, now);
    await stores[0]!.holders.release(dead);
    const live = await Promise.all(stores.map((st, i) => st.holders.register({ pid: 10 + i, host: 'h', startedAt: now }, now + 60_000)));
    const got = await Promise.all(
      stores.flatMap((st, i) => [st.keys.reserveUse(ID, live[i]!, now), st.keys.reserveUse(ID, live[i]!, now)]),
    );
    // 3 uses: the sent one is an unknown use (counted once), the unsent one freed: 2 left.
    assert.equal(got.filter((r) => r !== undefined).length, 2);
    assert.deepEqual(await stores[1]!.keys.uses(ID, Date.now()), { spent: 0, reserved: 2, unknown: 1 });
  } finally {
    for (const st of stores) await st.close();
  }
});

/** How long a revocation made through `b` takes to be seen by `a`'s get(), which has the key cached. */
async function propagation(a: Store, b: Store, id: string): Promise<number> {
  await a.keys.create({ id, name: 'k', grant, createdAt: 1000 });
  assert.equal((await a.keys.get(id))?.status, 'active');
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await b.keys.revoke(id, 2000);
  while ((await a.keys.get(id))?.status !== 'revoked') {
    if (performance.now() - t0 > 3000) assert.fail('not seen within 3 s');
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - t0;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).padStart(24, 'e'));

test(
  'postgres: a revocation through one replica reaches another within 1 s: NOTIFY, the backstop alone, and after the listener reconnects',
  options,
  async (t) => {
    const s = await fresh();
    const a = (await openPostgresStore(s.url)) as PostgresStore;
    const b = await openPostgresStore(s.url);
    const quiet = (await openPostgresStore(s.url, { listen: false })) as PostgresStore;
    try {
      const notified: number[] = [];
      for (const id of ids(5)) notified.push(await propagation(a, b, id));
      const polled: number[] = [];
      for (const id of ids(10).slice(5)) polled.push(await propagation(quiet, b, id));
      // The listening connection breaks (a database restart): the replica reconnects and reloads everything.
      a.keyWatch.dropListener();
      assert.equal(a.keyWatch.listening, false);
      const id = 'f'.repeat(24);
      const reconnected = await propagation(a, b, id);
      for (let i = 0; i < 100 && !a.keyWatch.listening; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(a.keyWatch.listening, true, 'the listener reconnects');
      const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
      t.diagnostic(
        `revocation seen by another replica, ms: NOTIFY ${fmt(notified)}; backstop only (pollMs 500) ${fmt(polled)}; after a listener loss ${reconnected.toFixed(1)}`,
      );
      assert.ok(Math.max(...notified, ...polled, reconnected) < 1000, 'every change within 1 s');
      assert.ok(Math.max(...notified) < 200, 'NOTIFY is fast');
    } finally {
      await a.close();
      await b.close();
      await quiet.close();
    }
  },
);

test('postgres: a cached key is not answered once the backstop cannot confirm it: the store fails closed', options, async () => {
  const s = await fresh();
  const a = await openPostgresStore(s.url, { pollMs: 100 });
  try {
    await a.keys.create({ id: ID, name: 'k', grant, createdAt: 1000 });
    assert.equal((await a.keys.get(ID))?.status, 'active');
    // Every connection of this schema's database is cut: polls fail, the cache is no longer trusted.
    const admin = new pg.Client({ connectionString: s.url });
    await admin.connect();
    await admin.query(`ALTER TABLE ${s.schema}.key_version RENAME TO key_version_gone`);
    await new Promise((r) => setTimeout(r, 350));
    await admin.query(`ALTER TABLE ${s.schema}.keys RENAME TO keys_gone`);
    await assert.rejects(a.keys.get(ID), StoreUnavailableError, 'read from the database, which fails');
    await admin.query(`ALTER TABLE ${s.schema}.keys_gone RENAME TO keys`);
    await admin.query(`ALTER TABLE ${s.schema}.key_version_gone RENAME TO key_version`);
    await admin.end();
  } finally {
    await a.close();
  }
});

test(
  'postgres: a store whose migrations are not current is refused; `migrate` runs them once, also when two replicas run it at once',
  options,
  async () => {
    const s = await testSchema(false);
    schemas.push(s);
    await assert.rejects(
      openPostgresStore(s.url),
      (e: unknown) => e instanceof StoreMigrationError && e.applied === 0 && e.expected === PG_MIGRATIONS.length,
    );
    const runs = await Promise.all([migratePostgresStore(s.url), migratePostgresStore(s.url)]);
    assert.deepEqual(runs.map((r) => r.from).sort(), [0, PG_MIGRATIONS.length]);
    assert.deepEqual(await migratePostgresStore(s.url), { from: PG_MIGRATIONS.length, to: PG_MIGRATIONS.length });
    const store = await openPostgresStore(s.url);
    await store.close();
    // A newer ghostgate migrated further: this one does not serve on that schema.
    const c = new pg.Client({ connectionString: s.url });
    await c.connect();
    await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [PG_MIGRATIONS.length + 1]);
    await c.end();
    await assert.rejects(
      openPostgresStore(s.url),
      (e: unknown) => e instanceof StoreMigrationError && e.applied === PG_MIGRATIONS.length + 1,
    );
    await assert.rejects(migratePostgresStore(s.url), StoreMigrationError);
  },
);

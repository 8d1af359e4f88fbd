import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migratePostgresStore } from './pg-store.js';

/**
 * A PostgreSQL schema of its own for each test file: created, migrated, and
 * dropped at the end, so runs are isolated and repeatable on a shared
 * database. GHOSTGATE_TEST_PG_URL names the database (default: the
 * development and CI machines' 127.0.0.1:5432/test, trust auth).
 */
export const PG_TEST_URL = process.env.GHOSTGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** undefined when PostgreSQL answers; otherwise why the PostgreSQL tests are skipped. */
export async function pgUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL is not reachable at ${new URL(PG_TEST_URL).host} (${(e as Error).message}): PostgreSQL store tests skipped (.ci/run starts it)`;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface TestSchema {
  /** The database URL with this schema as its search_path. */
  readonly url: string;
  readonly schema: string;
  drop(): Promise<void>;
}

/** A new schema; migrated unless `migrate` is false. */
export async function testSchema(migrate = true): Promise<TestSchema> {
  const schema = `gg_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_TEST_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = `${PG_TEST_URL}${PG_TEST_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  if (migrate) await migratePostgresStore(url);
  return {
    url,
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: PG_TEST_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

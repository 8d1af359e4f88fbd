import pg from 'pg';

/**
 * Connections to PostgreSQL through node-postgres (`pg`): a pool per port,
 * with BIGINT and COUNT read as JavaScript numbers (every integer the store
 * keeps is a millisecond time or a count, far below 2^53), and a helper for
 * transactions. The URL is used as given (an operator may set
 * `?options=-c%20search_path%3Dghostgate` to keep ghostgate in its own schema).
 */
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-enum-assignment -- pg's parsers are untyped; the oid is the server's
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export type Queryable = Pick<pg.PoolClient, 'query'>;

export function openPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (a database restart) is dropped from the pool; the next query opens another.
  // Without a listener, node-postgres would throw it as an uncaught error.
  pool.on('error', () => {});
  return pool;
}

/** A client of its own (LISTEN needs one connection that stays), with the pool's type parsing. */
export function newClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types, connectionTimeoutMillis: 5000 });
}

/** Runs `fn` in one transaction (READ COMMITTED; rows are locked where it matters), committed or rolled back. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** SQLite-style `?` placeholders as PostgreSQL's `$1, $2…` (for the few statements written once for both). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

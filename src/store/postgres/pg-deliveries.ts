import type { DeliveryEntry, DeliveryLog, DeliveryQuery } from '../deliveries.js';
import { DELIVERY_FIELDS, deliveryFromRow, deliveryValues, type DeliveryDbRow } from '../rows.js';
import { openPool } from './pg-pool.js';

/**
 * The webhook delivery log in the store's PostgreSQL database: rows are
 * buffered and written as one INSERT every `flushMs`, as in
 * sqlite-deliveries.ts, so a delivery attempt never waits for the database.
 * Best effort: a failed write is dropped, never retried into a backlog.
 */
const TYPES = ['bigint', 'text', 'text', 'text', 'text', 'text', 'integer', 'text', 'integer', 'double precision', 'text', 'text'];
const INSERT = `INSERT INTO webhook_deliveries (${DELIVERY_FIELDS}) SELECT * FROM unnest(${TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;

export function openPostgresDeliveryLog(url: string, flushMs = 200): DeliveryLog {
  const pool = openPool(url, 2);
  let pending: DeliveryEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = async (rows: DeliveryEntry[]) => {
    const values = rows.map(deliveryValues);
    await pool.query(
      INSERT,
      TYPES.map((_, i) => values.map((v) => v[i])),
    );
  };
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const rows = pending;
    pending = [];
    if (rows.length > 0) writing = writing.then(() => write(rows)).catch(() => {});
    return writing;
  };
  return {
    record(e) {
      pending.push(e);
      timer ??= setTimeout(() => void flush(), flushMs);
    },
    async query(q: DeliveryQuery) {
      await flush();
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (cond: string, v: unknown) => (args.push(v), where.push(`${cond} $${args.length}`));
      if (q.relayId) add('relay_id =', q.relayId);
      if (q.keyId) add('key_id =', q.keyId);
      if (q.since !== undefined) add('at >=', q.since);
      args.push(q.limit ?? 100);
      const sql = `SELECT * FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${args.length}`;
      return ((await pool.query(sql, args)).rows as DeliveryDbRow[]).map(deliveryFromRow);
    },
    flush,
    async close() {
      await flush();
      await pool.end();
    },
  };
}

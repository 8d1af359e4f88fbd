import Database from 'better-sqlite3';
import type { DeliveryEntry, DeliveryLog, DeliveryQuery } from '../deliveries.js';
import { DELIVERY_FIELDS, deliveryFromRow, deliveryValues, type DeliveryDbRow } from '../rows.js';

/**
 * The webhook delivery log in the audit database file (its own table, its own
 * connection). Rows are buffered and written in one transaction every
 * `flushMs`, so a delivery attempt never waits for a disk sync.
 */
export function openSqliteDeliveryLog(path: string, flushMs = 200): DeliveryLog {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 1000');
  db.exec(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
      seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, delivery_id TEXT NOT NULL, relay_id TEXT NOT NULL, ghost_id TEXT, key_id TEXT,
      event TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, status INTEGER, latency_ms REAL, error TEXT, view TEXT);
    CREATE INDEX IF NOT EXISTS webhook_deliveries_relay ON webhook_deliveries(relay_id, seq);
    CREATE INDEX IF NOT EXISTS webhook_deliveries_key ON webhook_deliveries(key_id, seq);`);
  const insert = db.prepare(
    `INSERT INTO webhook_deliveries (${DELIVERY_FIELDS}) VALUES (${DELIVERY_FIELDS.split(', ')
      .map(() => '?')
      .join(', ')})`,
  );
  const write = db.transaction((rows: DeliveryEntry[]) => {
    for (const e of rows) insert.run(...deliveryValues(e));
  });
  let pending: DeliveryEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let open = true;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0 || !open) return;
    const rows = pending;
    pending = [];
    write(rows);
  };
  return {
    record(e) {
      pending.push(e);
      timer ??= setTimeout(() => {
        try {
          flush();
        } catch {
          /* the log is best effort: a full disk must not stop deliveries */
        }
      }, flushMs);
    },
    async query(q: DeliveryQuery) {
      flush();
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.relayId) {
        where.push('relay_id = ?');
        args.push(q.relayId);
      }
      if (q.keyId) {
        where.push('key_id = ?');
        args.push(q.keyId);
      }
      if (q.since !== undefined) {
        where.push('at >= ?');
        args.push(q.since);
      }
      const sql = `SELECT * FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, q.limit ?? 100) as DeliveryDbRow[]).map(deliveryFromRow);
    },
    flush: async () => {
      flush();
    },
    async close() {
      flush();
      open = false;
      db.close();
    },
  };
}

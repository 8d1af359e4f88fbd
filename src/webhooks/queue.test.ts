import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryEntry, DeliveryLog } from '../store/deliveries.js';
import { DeliveryQueue, type DeliveryJob } from './queue.js';
import { httpSender } from './send.js';
import { verifySignature } from './signature.js';

// A real HTTP target whose behaviour each test sets; every request it receives is recorded.
let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_q, res) => res.end();
const received: { headers: IncomingMessage['headers']; body: string; at: number }[] = [];
before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      handler(req, res, received.length);
    });
  });
  await new Promise<void>((r) =>
    server.listen(0, '127.0.0.1', () => {
      r();
    }),
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function memoryLog(): DeliveryLog & { rows: DeliveryEntry[] } {
  const rows: DeliveryEntry[] = [];
  return { rows, record: (e) => rows.push(e), query: async () => [...rows].reverse(), flush: async () => {}, close: async () => {} };
}

const job = (over: Partial<DeliveryJob> = {}): DeliveryJob => ({
  deliveryId: 'd1',
  relayId: 'r'.repeat(32),
  ghostId: 'g1',
  keyId: 'k1',
  rootKeyId: 'k1',
  event: 'post.published',
  url: new URL(`${base}/hook`),
  body: '{"event":"post.published","post":{"current":{"id":"p1"},"previous":{}}}',
  secret: 'client-secret',
  ghostHeaders: { 'content-version': 'v6.65', 'user-agent': 'Ghost/6.65 (https://github.com/TryGhost/Ghost)' },
  view: 'full',
  ...over,
});

function queue(
  o: {
    backoffMs?: number;
    retries?: number;
    timeoutMs?: number;
    wanted?: () => boolean;
    gone?: string[];
    allowInternal?: boolean;
    maxQueue?: number;
    concurrency?: number;
    concurrencyPerKey?: number;
    maxQueuePerKey?: number;
  } = {},
) {
  const log = memoryLog();
  const q = new DeliveryQueue({
    sender: httpSender({ allowInternal: o.allowInternal ?? true, timeoutMs: o.timeoutMs ?? 1000 }),
    log,
    stillWanted: async () => (o.wanted ? o.wanted() : true),
    gone: async (j) => void o.gone?.push(j.relayId),
    retries: o.retries ?? 5,
    backoffMs: o.backoffMs ?? 20,
    concurrency: o.concurrency ?? 4,
    maxQueue: o.maxQueue ?? 100,
    concurrencyPerKey: o.concurrencyPerKey ?? 4,
    maxQueuePerKey: o.maxQueuePerKey ?? 100,
  });
  return { q, log };
}

test('retries a failing target with growing delays, signing each attempt anew with the client’s secret', async () => {
  received.length = 0;
  handler = (_q, res, n) => {
    res.statusCode = n < 3 ? 503 : 200;
    res.end();
  };
  const { q, log } = queue({ backoffMs: 150 });
  assert.equal(q.enqueue(job()), true);
  await q.idle();
  assert.deepEqual(
    log.rows.map((r) => [r.attempt, r.outcome, r.status]),
    [
      [1, 'retrying', 503],
      [2, 'retrying', 503],
      [3, 'delivered', 200],
    ],
  );
  assert.equal(received.length, 3);
  const [d1, d2] = [received[1]!.at - received[0]!.at, received[2]!.at - received[1]!.at];
  assert.ok(d1 >= 150 && d2 >= 300 && d2 > d1, `the delay grows (${d1} ms, then ${d2} ms)`);
  for (const r of received) {
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-version'], 'v6.65');
    assert.equal(r.headers['user-agent'], 'Ghost/6.65 (https://github.com/TryGhost/Ghost)');
    assert.equal(r.body, job().body);
    const v = verifySignature(r.headers['x-ghost-signature'], Buffer.from(r.body), 'client-secret', Date.now(), 60_000);
    assert.equal(v.ok, true);
  }
  assert.notEqual(received[0]!.headers['x-ghost-signature'], received[2]!.headers['x-ghost-signature'], 'a fresh t per attempt');
});

test('a target that never answers in time: 1 try and 5 retries, each cut at the timeout, then failed', async () => {
  received.length = 0;
  handler = (_q, res) => setTimeout(() => res.end(), 400);
  const { q, log } = queue({ timeoutMs: 100 });
  q.enqueue(job());
  await q.idle();
  assert.equal(received.length, 6);
  assert.deepEqual(
    log.rows.map((r) => r.outcome),
    ['retrying', 'retrying', 'retrying', 'retrying', 'retrying', 'failed'],
  );
  for (const r of log.rows) {
    assert.equal(r.error, 'ETIMEDOUT');
    assert.ok(r.latencyMs! < 350, `cut at the timeout (${r.latencyMs} ms)`);
  }
});

test('410 removes the webhook and is not retried; another 4xx ends the delivery; 429 is retried', async () => {
  for (const [status, outcomes, goneCalls] of [
    [410, ['gone'], 1],
    [400, ['failed'], 0],
    [429, ['retrying', 'delivered'], 0],
  ] as const) {
    received.length = 0;
    handler = (_q, res, n) => {
      res.statusCode = status === 429 && n > 1 ? 200 : status;
      res.end();
    };
    const gone: string[] = [];
    const { q, log } = queue({ gone });
    q.enqueue(job());
    await q.idle();
    assert.deepEqual(
      log.rows.map((r) => r.outcome),
      outcomes,
      String(status),
    );
    assert.equal(gone.length, goneCalls, String(status));
  }
});

test('a key revoked while a delivery waits: the next attempt is cancelled and nothing is sent', async () => {
  received.length = 0;
  handler = (_q, res) => {
    res.statusCode = 500;
    res.end();
  };
  let wanted = true;
  const { q, log } = queue({ wanted: () => wanted });
  q.enqueue(job());
  while (received.length === 0) await new Promise((r) => setTimeout(r, 5));
  wanted = false;
  await q.idle();
  assert.equal(received.length, 1);
  assert.deepEqual(
    log.rows.map((r) => r.outcome),
    ['retrying', 'cancelled'],
  );
});

test('unsigned when the client gave no secret, as Ghost does', async () => {
  received.length = 0;
  handler = (_q, res) => res.end();
  const { q } = queue();
  q.enqueue(job({ secret: null }));
  q.enqueue(job({ secret: '' }));
  await q.idle();
  assert.equal(received.length, 2);
  for (const r of received) assert.equal(r.headers['x-ghost-signature'], undefined);
});

test('private and loopback targets are refused at delivery unless allowed, and never retried', async () => {
  received.length = 0;
  const { q, log } = queue({ allowInternal: false });
  q.enqueue(job());
  q.enqueue(job({ url: new URL(`http://localhost:${new URL(base).port}/hook`) }));
  q.enqueue(job({ url: new URL(`http://[::ffff:127.0.0.1]:${new URL(base).port}/hook`) }));
  await q.idle();
  assert.equal(received.length, 0);
  assert.deepEqual(
    log.rows.map((r) => [r.outcome, r.error]),
    [
      ['failed', 'TARGET_PRIVATE'],
      ['failed', 'TARGET_PRIVATE'],
      ['failed', 'TARGET_PRIVATE'],
    ],
  );
});

test('a full queue refuses more work instead of growing', () => {
  handler = (_q, res) => setTimeout(() => res.end(), 200);
  const { q } = queue({ maxQueue: 2 });
  assert.equal(q.enqueue(job()), true);
  assert.equal(q.enqueue(job()), true);
  assert.equal(q.enqueue(job()), false);
  return q.close();
});

test('one key’s slow target cannot starve another’s: each root key has its own line and at most concurrencyPerKey in flight', async () => {
  received.length = 0;
  handler = (req, res) => setTimeout(() => res.end(), req.url === '/slow' ? 600 : 0);
  const { q, log } = queue({ concurrency: 4, concurrencyPerKey: 2 });
  for (let i = 0; i < 8; i++) assert.equal(q.enqueue(job({ deliveryId: `a${i}`, rootKeyId: 'A', url: new URL(`${base}/slow`) })), true);
  const started = Date.now();
  q.enqueue(job({ deliveryId: 'b1', rootKeyId: 'B', url: new URL(`${base}/fast`) }));
  while (!log.rows.some((r) => r.deliveryId === 'b1')) await new Promise((r) => setTimeout(r, 5));
  const waited = Date.now() - started;
  assert.ok(waited < 400, `B was delivered after ${waited} ms, while A's target takes 600 ms each`);
  assert.ok(log.rows.filter((r) => r.deliveryId.startsWith('a')).length === 0, 'A’s first two are still in flight');
  await q.close();
});

test('a key family’s line is bounded by maxQueuePerKey; other families still get in', () => {
  handler = (_q, res) => setTimeout(() => res.end(), 200);
  const { q } = queue({ maxQueuePerKey: 2 });
  assert.equal(q.enqueue(job({ rootKeyId: 'A' })), true);
  assert.equal(q.enqueue(job({ rootKeyId: 'A' })), true);
  assert.equal(q.enqueue(job({ rootKeyId: 'A' })), false);
  assert.equal(q.enqueue(job({ rootKeyId: 'B' })), true);
  return q.close();
});

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ChainPosition, SignedHead } from '../audit.js';
import { AUDIT_WIDTH, chainTexts, headSignature, textHash } from '../audit-chain.js';

/**
 * The audit file's batch writes on a worker thread. A batch is committed with
 * synchronous=FULL, so its commit waits for fsync: a millisecond on an idle
 * SSD, tens under load. On the gateway's own thread that wait stops every
 * request in flight (a CPU profile of sequential reads on the lab's Ghost
 * showed the commit as the gateway thread's largest cost); here it only delays
 * the batch's own promise and the intents waiting on it. The thread has its
 * own connection to the file, with the same pragmas (WAL: the gateway's thread
 * keeps reading on its own), and commits batches one at a time in the order
 * they were sent, so a chain's rows stay in sequence.
 *
 * The audit writer's batches (`appendEntries`) are chained here too: the
 * gateway's thread keeps each record as its entry text and hands a batch over
 * as one string; this thread computes each row's HMAC and the head's signature.
 * An HMAC computed at each request on the event loop cost about a fifth of the
 * full pipeline's throughput (docs/benchmarks.md): the batch here runs them
 * back to back, off the loop.
 *
 * The thread runs a few lines of plain JavaScript (THREAD) given the
 * statements and pragmas by sqlite-audit.ts, and the chain's format as the
 * source of audit-chain.ts's functions, so it needs no TypeScript loader and
 * holds no second copy of the schema or of the format.
 */
export interface WriterSpec {
  readonly path: string;
  readonly pragmas: readonly string[];
  readonly insert: string;
  readonly setHead: string;
}

export interface BatchParams {
  readonly rows: readonly (readonly unknown[])[];
  readonly head: readonly unknown[];
}

/** Entries to chain after `from`: their texts joined by newlines (JSON text holds none), one string to copy. */
export interface EntryBatch {
  readonly chain: string;
  readonly from: ChainPosition;
  readonly texts: string;
  readonly key: Uint8Array;
}

type Reply =
  | { readonly id: number; readonly ok: true; readonly head?: SignedHead }
  | { readonly id: number; readonly ok: false; message: string; code?: string };

const THREAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
${textHash.toString()}
${headSignature.toString()}
${chainTexts.toString()}
const Database = require(w.driver);
const db = new Database(w.path);
for (const p of w.pragmas) db.pragma(p);
const insert = db.prepare(w.insert);
const setHead = db.prepare(w.setHead);
const commit = db.transaction((b) => {
  for (const r of b.rows) insert.run(...r);
  setHead.run(...b.head);
});
const commitEntries = db.transaction((b) => {
  const texts = b.texts === '' ? [] : b.texts.split('\\n');
  const head = chainTexts(createHmac, b.key, b.chain, b.from, texts, w.width, (values, seq, prevHash, hash) => {
    insert.run(b.chain, seq, ...values, prevHash, hash);
  });
  setHead.run(head.chain, head.seq, head.hash, head.signature);
  return head;
});
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    if (m.entries) parentPort.postMessage({ id: m.id, ok: true, head: commitEntries(m.entries) });
    else {
      commit(m.batch);
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: String(e && e.message), code: e && e.code });
  }
});
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** The gateway's side: the thread starts at the first batch and holds the process open only while a batch is pending. */
export function threadWriter(spec: WriterSpec): {
  append(b: BatchParams): Promise<void>;
  appendEntries(b: EntryBatch): Promise<SignedHead>;
  close(): Promise<void>;
} {
  let worker: Worker | undefined;
  let next = 0;
  const pending = new Map<number, { resolve: (head?: SignedHead) => void; reject: (e: Error) => void }>();
  const inflight = new Set<Promise<unknown>>();
  const fail = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = (): Worker => {
    // No execArgv: the thread needs no loader of the parent's (tsx under tests).
    const w = new Worker(THREAD, { eval: true, execArgv: [], workerData: { ...spec, driver: DRIVER, width: AUDIT_WIDTH } });
    w.on('message', (r: Reply) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (pending.size === 0) w.unref();
      if (r.ok) p.resolve(r.head);
      else p.reject(Object.assign(new Error(r.message), r.code ? { code: r.code } : {}));
    });
    // A thread that could not open the file, or died: every pending batch fails (the audit log treats it as any
    // failed write), and the next batch starts a new thread.
    w.on('error', (err) => {
      if (worker === w) worker = undefined;
      fail(err);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      fail(new Error(`the audit writer thread exited (${code})`));
    });
    w.unref();
    return w;
  };
  const send = (message: { batch: BatchParams } | { entries: EntryBatch }): Promise<SignedHead | undefined> => {
    const w = (worker ??= start());
    const id = ++next;
    const p = new Promise<SignedHead | undefined>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, ...message });
    });
    inflight.add(p);
    const done = () => inflight.delete(p);
    p.then(done, done);
    return p;
  };
  return {
    async append(batch) {
      await send({ batch });
    },
    async appendEntries(entries) {
      const head = await send({ entries });
      if (!head) throw new Error('the audit writer thread answered a batch of entries without its head');
      return head;
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      // Batches already sent are committed (or refused) first; then the thread closes its connection and ends.
      await Promise.allSettled(inflight);
      const exited = new Promise<void>((r) => {
        w.once('exit', () => {
          r();
        });
      });
      w.ref();
      w.postMessage('close');
      await exited;
    },
  };
}

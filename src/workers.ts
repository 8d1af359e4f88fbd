import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { clusterMetrics, serveMetrics } from './metrics.js';

/**
 * `serve --workers N` (issue 15): the primary forks N gateway processes with
 * node:cluster. They share the listening port (the primary hands connections
 * out round-robin, Node's default outside Windows) and the store; each is a
 * whole gateway as `serve` alone is (its own audit chain, its own reservation
 * lease, its share of each key's rate from the store's holders), so what holds
 * for several `serve` processes on one store holds for the workers. The
 * primary opens no store: it starts the workers, restarts one that dies,
 * serves metrics.listen for all of them, and on SIGTERM or SIGINT passes the
 * signal on and waits for each worker's graceful exit.
 */
export interface WorkersOptions {
  readonly count: number;
  readonly log: Logger;
  /** metrics.listen: served here, summed over the workers (metrics.ts clusterMetrics). */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** The first restart's delay; doubled for each death within `steadyMs` of its start, up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly steadyMs?: number;
}

/** The number of workers `--workers` or listen.workers asks for: `auto` is one per core. */
export function workerCount(value: number | 'auto'): number {
  return value === 'auto' ? availableParallelism() : value;
}

/** Parses `--workers`: a whole number from 1, or `auto`; undefined when it is neither. */
export function parseWorkers(text: string): number | 'auto' | undefined {
  if (text === 'auto') return 'auto';
  return /^[1-9][0-9]{0,2}$/.test(text) ? Number(text) : undefined;
}

/**
 * Runs the primary until SIGTERM or SIGINT; the exit code: 0 when every worker
 * exited 0 after the signal, 1 when a worker failed to start (the first
 * worker's failure is the configuration's: it is not retried) or exited badly.
 */
export async function superviseWorkers(o: WorkersOptions): Promise<number> {
  const { log } = o;
  const backoffMs = o.backoffMs ?? 250;
  const maxBackoffMs = o.maxBackoffMs ?? 10_000;
  const steadyMs = o.steadyMs ?? 10_000;
  let stopping = false;
  let starting = true;
  let failed = false;
  /** Each slot's worker, when it started, and how many times in a row it died early. */
  const slots = Array.from({ length: o.count }, () => ({ worker: undefined as Worker | undefined, started: 0, deaths: 0 }));
  const timers = new Set<NodeJS.Timeout>();

  /** Forks the worker of slot i; resolves when it listens, or with its exit when it exits first. */
  const fork = (i: number): Promise<{ listening: true } | { listening: false; code: number | null; signal: string | null }> => {
    const worker = cluster.fork({ GHOSTGATE_WORKER: String(i + 1) });
    const slot = slots[i]!;
    slot.worker = worker;
    slot.started = Date.now();
    let listened = false;
    return new Promise((resolve) => {
      worker.once('listening', (address: { address: string | null; port: number }) => {
        listened = true;
        log.info({ worker: i + 1, pid: worker.process.pid, port: address.port }, 'worker started');
        resolve({ listening: true });
      });
      worker.once('exit', (code, signal) => {
        slot.worker = undefined;
        resolve({ listening: false, code, signal });
        if (stopping) {
          if (code !== 0) failed = true;
          log.info({ worker: i + 1, pid: worker.process.pid, code, signal }, 'worker stopped');
          return;
        }
        if (starting && !listened) return; // start-up failed: reported below, not retried
        // CASE: a worker died while the others serve: its connections are lost, new ones go to the others
        // until it is back. A worker that keeps dying at once is retried ever more slowly, not in a tight loop.
        slot.deaths = Date.now() - slot.started < steadyMs ? slot.deaths + 1 : 0;
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, slot.deaths - 1));
        log.error({ worker: i + 1, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; restarting it');
        const t = setTimeout(() => {
          timers.delete(t);
          if (!stopping) void fork(i);
        }, delay);
        timers.add(t);
      });
    });
  };

  let metrics: { server: Server; url: string } | undefined;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    stopping = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const live = slots.flatMap((s) => (s.worker ? [s.worker] : []));
    log.info({ signal, workers: live.length }, 'stopping workers');
    await Promise.all(
      live.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) {
              resolve();
              return;
            }
            w.once('exit', () => {
              resolve();
            });
            w.process.kill(signal);
          }),
      ),
    );
    const m = metrics;
    if (m)
      await new Promise<void>((resolve) => {
        m.server.close(() => {
          resolve();
        });
      });
  };

  let signalled: NodeJS.Signals | undefined;
  const signalledYet = () => signalled !== undefined;
  /** After the signal: 0 when every worker exited 0. */
  const exitCode = () => (failed ? 1 : 0);
  const stopped = new Promise<void>((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      if (signalled) return; // a second Ctrl-C (or the terminal's SIGINT to the whole group) changes nothing
      signalled = signal;
      void stop(signal).then(resolve);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });

  // The first worker alone: it migrates a SQLite store and anchors a new audit trail before the others open them,
  // and a configuration it refuses (STORE_MIGRATIONS_PENDING, AUDIT_DISCONTINUITY…) is reported once, not N times.
  const first = await fork(0);
  if (!first.listening) {
    if (signalledYet()) return await stopped.then(exitCode);
    stopping = true;
    log.error({ code: first.code, signal: first.signal }, 'the first worker did not start; not starting the others');
    return first.code && first.code !== 0 ? first.code : 1;
  }
  const rest = await Promise.all(slots.slice(1).map((_, j) => fork(j + 1)));
  starting = false;
  if (rest.some((r) => !r.listening) && !signalledYet()) {
    log.error('a worker did not start; stopping the others');
    await stop('SIGTERM');
    return 1;
  }
  if (o.metrics && !signalledYet()) {
    try {
      metrics = await serveMetrics(clusterMetrics(), o.metrics.host, o.metrics.port);
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'metrics.listen not available; stopping the workers');
      await stop('SIGTERM');
      return 1;
    }
    log.info({ url: `${metrics.url}/metrics`, workers: o.count }, 'metrics listening (summed over the workers)');
  }
  log.info({ workers: slots.map((s, i) => ({ worker: i + 1, pid: s.worker?.process.pid })) }, `${o.count} workers serving`);
  await stopped;
  return exitCode();
}

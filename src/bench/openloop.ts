import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * Open-loop load at a fixed offered rate, corrected for coordinated
 * omission: each request's latency is measured from the moment it was
 * scheduled to be sent, not from when a connection was free to send it.
 * argv: url, rate (req/s), seconds, authorization (or "-")
 * The first second is a warm-up at the same rate and is not counted.
 * Prints {sent, errors, p50, p90, p99, p999, max} in milliseconds, and the largest delay of this generator's own
 * event loop (client_loop_max): a tail no larger than it may be the generator's, not the server's.
 */
const [url, rateArg, secondsArg, auth] = process.argv.slice(2) as [string, string, string, string];
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const u = new URL(url);
const pool = new Pool(u.origin, { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 });
const headers: Record<string, string> = auth && auth !== '-' ? { authorization: auth } : {};
const warm = Math.round(rate);
const total = warm + Math.round(rate * seconds);
const latencies = new Float64Array(total);
let done = 0;
let errors = 0;
const loop = monitorEventLoopDelay({ resolution: 5 });
const start = performance.now() + 50;
const interval = 1000 / rate;

await new Promise<void>((resolve) => {
  let i = 0;
  const tick = () => {
    const now = performance.now();
    // Send every request whose scheduled time has come (catching up if the timer was late).
    while (i < total && start + i * interval <= now) {
      const scheduled = start + i * interval;
      const slot = i++;
      if (slot === warm) loop.enable();
      pool
        .request({ method: 'GET', path: u.pathname + u.search, headers })
        .then(async (r) => {
          await r.body.dump();
          if (r.statusCode !== 200) errors++;
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          latencies[slot] = performance.now() - scheduled;
          if (++done === total) resolve();
        });
    }
    if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
  };
  setTimeout(tick, 50);
});
await pool.close();
const sorted = Array.from(latencies.subarray(warm)).sort((a, b) => a - b);
const q = (p: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3));
process.stdout.write(
  `${JSON.stringify({ sent: total - warm, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1), client_loop_max: +(loop.max / 1e6).toFixed(2) })}\n`,
);

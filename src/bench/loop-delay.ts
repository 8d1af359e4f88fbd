import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * A bench process's event-loop delay, read by run.ts (loopProbe) around each open loop: SIGUSR2 prints the
 * delay since the last SIGUSR2 (or the start) on stdout as {p50, p99, max} in milliseconds and starts a new
 * window. (Not SIGUSR1: Node keeps it for the inspector.) A latency tail that no process's loop shows was
 * spent elsewhere (a queue, the kernel, another process).
 */
export function reportLoopDelayOnSignal(): void {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns: number) => +(ns / 1e6).toFixed(2);
    process.stdout.write(`${JSON.stringify({ p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) })}\n`);
    loop.reset();
  });
}

import { spawnSync } from 'node:child_process';

/** The compiled CLI, as `npx ghostgate` runs it (npm test builds first). */
export const CLI = new URL('../../bin/ghostgate.js', import.meta.url).pathname;

/** Runs the CLI in `cwd` with no upstream key or master secret from the environment. */
export function runCli(cwd: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

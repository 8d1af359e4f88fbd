import { execFile, spawnSync } from 'node:child_process';

/** The compiled CLI, as `npx ghostgate` runs it (npm test builds first). */
export const CLI = new URL('../../bin/ghostgate.js', import.meta.url).pathname;

/** Runs the CLI in `cwd` with no upstream key or master secret from the environment. */
export function runCli(cwd: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** As runCli, without blocking this process: for commands that call a fake Ghost running in the test process. */
export function runCliAsync(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, encoding: 'utf8', env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' } },
      (e, out, err) => {
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err });
      },
    );
  });
}

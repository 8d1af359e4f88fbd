import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'undici';

/** `ghostgate serve` as a separate process on a config, as an operator runs it: to kill -9, or to run two. */
export const CLI = new URL('../../bin/ghostgate.js', import.meta.url).pathname;

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** What the process wrote to standard error so far. */
  stderr(): string;
  /** What the process wrote to standard output so far (its log, at GHOSTGATE_LOG_LEVEL: warn unless `env` says otherwise). */
  stdout(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `serve` (with `args`, e.g. --workers 3); resolves once it answers, or rejects with its standard error when it exits first. */
export async function startServe(configFile: string, env: Record<string, string> = {}, args: string[] = []): Promise<ServeProcess> {
  // A random port may be taken by another process: try another one then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServeOn(20000 + Math.floor(Math.random() * 20000), configFile, env, args);
    } catch (err) {
      if (attempt >= 5 || !String((err as { stderr?: string }).stderr).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startServeOn(port: number, configFile: string, env: Record<string, string>, args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, '--config', configFile, 'serve', ...args], {
    env: { ...process.env, GHOSTGATE_LISTEN_PORT: String(port), GHOSTGATE_MASTER_SECRET: '', GHOSTGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (c) => {
      r((code = c));
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200 && code === undefined; i++) {
    try {
      await request(`${url}/ghost/api/admin/site/`).then((r) => r.body.dump());
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (code !== undefined) throw Object.assign(new Error(`serve exited with ${code}: ${err}`), { exitCode: code, stderr: err });
  return {
    url,
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    async kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs a CLI command on a config; GHOSTGATE_MASTER_SECRET is cleared so that the config's master.key is used. */
export function cli(
  configFile: string,
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, '--config', configFile, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GHOSTGATE_MASTER_SECRET: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

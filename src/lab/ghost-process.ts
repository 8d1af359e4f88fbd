import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LabError } from './install.js';
import type { LabPaths } from './paths.js';

/** Starts and stops the lab's Ghost: development mode, SQLite, stub mail, loopback only. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function logTail(p: LabPaths, lines = 30): string {
  try {
    return readFileSync(p.log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no Ghost log)';
  }
}

export function startGhost(p: LabPaths, port: number): number {
  mkdirSync(p.siteDir, { recursive: true });
  // Ghost needs its content folder (themes: casper); each site gets its own copy.
  if (!existsSync(p.contentDir)) cpSync(join(p.ghostDir, 'content'), p.contentDir, { recursive: true });
  const out = openSync(p.log, 'a');
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(p.nodeBin, ['index.js'], {
    cwd: p.ghostDir,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'development',
      url,
      server__host: '127.0.0.1',
      server__port: String(port),
      database__client: 'better-sqlite3',
      database__connection__filename: p.db,
      paths__contentPath: p.contentDir,
      mail__transport: 'stub',
      logging__transports: '["stdout"]',
      logging__level: 'info',
      // Webhooks to loopback receivers are allowed inside the lab (core/server/services/webhooks/webhook-trigger.js reads security:allowWebhookInternalIPs).
      security__allowWebhookInternalIPs: 'true',
      // No outside network: keep Ghost from reaching for it.
      privacy__useUpdateCheck: 'false',
      privacy__useGravatar: 'false',
      privacy__useRpcPing: 'false',
      privacy__useStructuredData: 'false',
    },
  });
  closeSync(out);
  child.unref();
  if (!child.pid) throw new LabError('Ghost did not start (no pid)', 'run `ghostgate lab up` again');
  return child.pid;
}

/** Waits until GET /ghost/api/admin/site/ answers 200, or Ghost exits, or the time is up. */
export async function waitForGhost(p: LabPaths, url: string, pid: number, timeoutMs: number, progress: (s: string) => void): Promise<void> {
  const started = Date.now();
  let lastNote = started;
  while (Date.now() - started < timeoutMs) {
    if (!isAlive(pid)) {
      throw new LabError(
        `Ghost exited while starting.\n--- ${p.log} (tail) ---\n${logTail(p)}`,
        'look at the log above; `ghostgate lab reset` starts over from an empty database',
      );
    }
    try {
      const res = await fetch(`${url}/ghost/api/admin/site/`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - lastNote > 10_000) {
      progress(`lab: waiting for Ghost to boot (${Math.round((Date.now() - started) / 1000)}s)`);
      lastNote = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new LabError(
    `Ghost did not answer on ${url} within ${timeoutMs / 1000}s.\n--- ${p.log} (tail) ---\n${logTail(p)}`,
    'run `ghostgate lab down` then `ghostgate lab up`',
  );
}

export async function stopGhost(pid: number | undefined): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(-pid!, 'SIGTERM'); // the detached process group
  } catch {
    process.kill(pid!, 'SIGTERM');
  }
  const until = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  if (isAlive(pid)) {
    try {
      process.kill(-pid!, 'SIGKILL');
    } catch {
      process.kill(pid!, 'SIGKILL');
    }
  }
}

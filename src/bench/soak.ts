import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lab/ghost-process.js';
import { adminTokenSigner } from '../secrets/keys.js';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { MasterSecret, formatKey, newKeyId } from '../secrets/keys.js';
import { seal } from '../secrets/master.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { openSqliteAudit } from '../store/sqlite/sqlite-audit.js';
import { UPSTREAM_SETTING } from '../main.js';

/**
 * Soak: bounded load through a gateway process (`ghostgate serve`, audit on)
 * to a local upstream, at a fixed rate, with a mix of reads, writes and
 * refusals. Reports errors, the gateway's RSS at start and end, and whether
 * the audit holds one record per request.
 *   node dist/bench/soak.js [--seconds 300] [--rate N]   (npm run soak)
 */
// Compiled helpers (npm test and npm run soak build first), from src/ (tsx) as from dist/.
const DIST = fileURLToPath(new URL('../../dist/bench/', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/ghostgate.js', import.meta.url));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

export interface SoakResult {
  seconds: number;
  rate: number;
  requests: number;
  unexpected: number;
  rssStartMb: number;
  rssEndMb: number;
  auditRequests: number;
  /** Lines serve logged (at level warn and above), and the first few of them. */
  logged: number;
  firstLogged: string[];
}

export async function runSoak(seconds: number, rate: number, progress: (s: string) => void = () => {}): Promise<SoakResult> {
  const up = spawn(process.execPath, [join(DIST, 'upstream.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const upPort = await new Promise<number>((r) =>
    up.stdout.once('data', (d: Buffer) => {
      r((JSON.parse(d.toString()) as { port: number }).port);
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-soak-'));
  const master = MasterSecret.generateHex();
  writeFileSync(join(dir, 'master.key'), `${master}\n`, { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'ghostgate.yaml'),
    stringify({
      listen: { host: '127.0.0.1', port },
      upstream: { url: `http://127.0.0.1:${upPort}` },
      store: { path: 'gg.db' },
      audit: { path: 'audit.db' },
      log: { level: 'warn' },
    }),
  );
  const m = new MasterSecret(master);
  const store = openSqliteStore(join(dir, 'gg.db'));
  await store.settings.set(UPSTREAM_SETTING, seal(m, `${'ab'.repeat(12)}:${'cd'.repeat(32)}`));
  const id = newKeyId();
  const rec = await store.keys.create({
    id,
    name: 'soak',
    grant: { version: 1, scopes: ['posts:browse', 'posts:add'], redact: { users: ['email'] } },
    createdAt: Date.now(),
  });
  await store.close();
  const key = formatKey(id, m.keySecret(id, rec.generation));
  const gw = spawn(process.execPath, [CLI, '--config', join(dir, 'ghostgate.yaml'), 'serve'], { stdio: ['ignore', 'ignore', 'pipe'] });
  // What serve logs (warnings and errors: log.level warn) is part of the result: a soak that lost audit records says why.
  const logged: string[] = [];
  createInterface({ input: gw.stderr }).on('line', (l) => logged.push(l));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
  for (let i = 0; i < 100; i++) {
    try {
      await (await pool.request({ method: 'GET', path: '/ghost/api/admin/site/' })).body.dump();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const sign = adminTokenSigner(key);
  let token = `Ghost ${sign('/admin/')}`;
  const retoken = setInterval(() => (token = `Ghost ${sign('/admin/')}`), 60_000);
  // Warm up before the first RSS reading.
  for (let i = 0; i < 500; i++)
    await (await pool.request({ method: 'GET', path: '/ghost/api/admin/posts/', headers: { authorization: token } })).body.dump();
  const rssStartMb = rssMb(gw.pid!);
  let requests = 500 + 1;
  let unexpected = 0;
  const total = rate * seconds;
  const start = performance.now();
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  let lastReport = 0;
  while (sent < total) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < Math.min(due, total); sent++) {
      const kind = sent % 10;
      const [method, path, body, want] =
        kind < 7
          ? (['GET', '/ghost/api/admin/posts/?limit=15', undefined, 200] as const)
          : kind < 9
            ? (['POST', '/ghost/api/admin/posts/', '{"posts":[{"title":"soak"}]}', 200] as const)
            : (['GET', '/ghost/api/admin/tags/', undefined, 403] as const);
      const p = pool
        .request({
          method,
          path,
          headers: { authorization: token, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body } : {}),
        })
        .then(async (r) => {
          await r.body.dump();
          if (r.statusCode !== want) unexpected++;
        })
        .catch(() => {
          unexpected++;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      requests++;
    }
    const elapsed = Math.floor((performance.now() - start) / 10_000) * 10;
    if (elapsed > lastReport) {
      lastReport = elapsed;
      progress(`soak: ${elapsed}s, ${sent} requests, RSS ${rssMb(gw.pid!)} MB`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  const rssEndMb = rssMb(gw.pid!);
  clearInterval(retoken);
  await pool.close();
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  up.kill('SIGTERM');
  const audit = openSqliteAudit(join(dir, 'audit.db'));
  // Every record, page by page (a query has a row limit, which a long soak passes).
  const ids = new Set<string | null>();
  for await (const r of audit.rows()) ids.add(r.requestId);
  await audit.close();
  return {
    seconds,
    rate,
    requests,
    unexpected,
    rssStartMb,
    rssEndMb,
    auditRequests: ids.size,
    logged: logged.length,
    firstLogged: logged.slice(0, 5),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? dflt : Number(process.argv[i + 1]);
  };
  const seconds = arg('--seconds', 300);
  const rate = arg('--rate', 1000);
  process.stderr.write(`soak: ${seconds}s at ${rate} req/s through ghostgate (audit on) to a local upstream\n`);
  const r = await runSoak(seconds, rate, (s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  const ok = r.unexpected === 0 && r.auditRequests === r.requests;
  process.stdout.write(
    `${ok ? 'OK' : 'FAILED'}: ${r.requests} requests, ${r.unexpected} unexpected answers, audit ${r.auditRequests}/${r.requests}, RSS ${r.rssStartMb} -> ${r.rssEndMb} MB\n`,
  );
  if (!ok) process.exitCode = 1;
}

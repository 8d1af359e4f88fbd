import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lab/ghost-process.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../config/config.js';
import { startGateway, UPSTREAM_SETTING } from '../main.js';
import { formatKey, MasterSecret, newKeyId } from '../secrets/keys.js';
import { seal } from '../secrets/master.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { openPostgresStore } from '../store/postgres/pg-store.js';
import type { Grant } from '../grants/grant.js';
import { reportLoopDelayOnSignal } from './loop-delay.js';

/**
 * One ghostgate rung of the ladder, in its own process: a gateway on a free
 * port in front of the given upstream, with one key of the given grant.
 * Prints {port, key} on stdout. argv: upstreamUrl, variant, [audit on|off], [store sqlite|postgres]
 * One in-process gateway reports its event loop's delay on signals (loop-delay.ts).
 * BENCH_WORKERS=N runs `ghostgate serve --workers N` on the same config instead of one in-process gateway.
 * On PostgreSQL (BENCH_PG_URL, a migrated schema), replicas of one deployment share BENCH_MASTER_HEX;
 * the first creates the key and the upstream credential, a replica given BENCH_KEY_ID joins them.
 */
const [upstreamUrl, variant, auditFlag, storeKind = 'sqlite'] = process.argv.slice(2) as [string, string, string, string?];
const pgUrl = process.env.BENCH_PG_URL;
if (storeKind === 'postgres' && !pgUrl) throw new Error('BENCH_PG_URL is needed for the PostgreSQL store');
const GRANTS: Record<string, Grant> = {
  auth: { version: 1, scopes: ['*'] },
  authz: {
    version: 1,
    scopes: [
      'posts:browse',
      'posts:read',
      'posts:add',
      'posts:edit',
      'pages:browse',
      'pages:read',
      'tags:browse',
      'tags:read',
      'images:upload',
      'webhooks:add',
      // The real-Ghost part browses members (src/bench/ghost.ts).
      'members:browse',
    ],
  },
  constraints: {
    version: 1,
    scopes: ['posts:browse', 'posts:read', 'posts:add', 'posts:edit', 'tags:browse', 'tags:read'],
    constraints: { posts: { tags: ['partner'] } },
    fields: { posts: { status: ['draft'], deny: ['authors', 'newsletter'] } },
    redact: { users: ['email'] },
  },
};
const dir = mkdtempSync(join(tmpdir(), 'ghostgate-bench-'));
const masterHex = process.env.BENCH_MASTER_HEX ?? MasterSecret.generateHex();
const file = join(dir, 'ghostgate.yaml');
writeFileSync(
  file,
  stringify({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstreamUrl, kind: 'integration' },
    store: storeKind === 'postgres' ? { driver: 'postgres', url: pgUrl } : { path: 'ghostgate.db' },
    masterSecret: masterHex,
    log: { level: 'warn' },
    audit: { enabled: auditFlag === 'on', path: 'audit.db' },
  }),
);
const { config } = loadConfig(file, {});
const master = new MasterSecret(masterHex);
const upstreamKey = process.env.BENCH_UPSTREAM_KEY ?? `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const joining = process.env.BENCH_KEY_ID;
let id: string;
let generation: number;
if (joining) {
  id = joining;
  generation = 1;
} else {
  const setup = storeKind === 'postgres' ? await openPostgresStore(pgUrl!) : openSqliteStore(config.store.path);
  await setup.settings.set(UPSTREAM_SETTING, seal(master, upstreamKey));
  id = newKeyId();
  generation = (await setup.keys.create({ id, name: `bench ${variant}`, grant: GRANTS[variant]!, createdAt: Date.now() })).generation;
  await setup.close();
}
const key = formatKey(id, master.keySecret(id, generation));
const workers = Number(process.env.BENCH_WORKERS ?? 1);
if (workers > 1) {
  // `ghostgate serve --workers N` on this config, as an operator runs it (src/workers.ts), on a port chosen now.
  const port = await freePort();
  writeFileSync(file, readFileSync(file, 'utf8').replace(/port: 0/, `port: ${port}`));
  const serve = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../bin/ghostgate.js', import.meta.url)), '--config', file, 'serve', '--workers', String(workers)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (let i = 0; ; i++) {
    if (serve.exitCode !== null) throw new Error(`serve --workers exited with ${serve.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/ghostgate/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 300) throw new Error('serve --workers did not start in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(`${JSON.stringify({ port, key, keyId: id, workers })}\n`);
  process.on('SIGTERM', () => {
    serve.once('exit', () => process.exit(0));
    serve.kill('SIGTERM');
  });
} else {
  const gw = await startGateway(config, pino({ level: 'warn' }));
  reportLoopDelayOnSignal();
  process.stdout.write(`${JSON.stringify({ port: Number(new URL(gw.url).port), key, keyId: id })}\n`);
  process.on('SIGTERM', () => void gw.close().then(() => process.exit(0)));
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../config/config.js';
import { startGateway, UPSTREAM_SETTING } from '../main.js';
import { formatKey, MasterSecret, newKeyId } from '../secrets/keys.js';
import { seal } from '../secrets/master.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Grant } from '../grants/grant.js';

/**
 * One ghostgate rung of the ladder, in its own process: a gateway on a free
 * port in front of the given upstream, with one key of the given grant.
 * Prints {port, key} on stdout. argv: upstreamUrl, variant, [audit on|off]
 */
const [upstreamUrl, variant, auditFlag] = process.argv.slice(2) as [string, string, string];
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
const masterHex = MasterSecret.generateHex();
const file = join(dir, 'ghostgate.yaml');
writeFileSync(
  file,
  stringify({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstreamUrl, kind: 'integration' },
    store: { path: 'ghostgate.db' },
    masterSecret: masterHex,
    log: { level: 'warn' },
    audit: { enabled: auditFlag === 'on', path: 'audit.db' },
  }),
);
const { config } = loadConfig(file, {});
const master = new MasterSecret(masterHex);
const upstreamKey = process.env.BENCH_UPSTREAM_KEY ?? `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const setup = openSqliteStore(config.store.path);
await setup.settings.set(UPSTREAM_SETTING, seal(master, upstreamKey));
const id = newKeyId();
const rec = await setup.keys.create({ id, name: `bench ${variant}`, grant: GRANTS[variant]!, createdAt: Date.now() });
await setup.close();
const gw = await startGateway(config, pino({ level: 'warn' }));
process.stdout.write(
  `${JSON.stringify({ port: Number(new URL(gw.url).port), key: formatKey(id, master.keySecret(id, rec.generation)) })}\n`,
);
process.on('SIGTERM', () => void gw.close().then(() => process.exit(0)));

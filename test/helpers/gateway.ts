import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startGateway, UPSTREAM_SETTING, type RunningGateway } from '../../src/main.js';
import { MasterSecret, formatKey, newKeyId } from '../../src/secrets/keys.js';
import { seal } from '../../src/secrets/master.js';
import type { Grant } from '../../src/grants/grant.js';
import type { NewKey } from '../../src/store/store.js';
import { openStore } from '../../src/admin/context.js';
import { freePort } from '../../src/lab/ghost-process.js';
import { testSchema, type TestSchema } from '../../src/store/postgres/postgres.test.helper.js';

/**
 * GHOSTGATE_TEST_STORE=postgres: each test gateway keeps its store in a PostgreSQL schema of its own
 * (postgres.test.helper.ts), migrated, and dropped when the gateway's files are removed, instead of a
 * SQLite file; scripts/run-tests.mjs runs the store-dependent test files so a second time.
 * A test that names its own store (`extra.store`) keeps it.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.GHOSTGATE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** A real gateway, in process, on a free port, with its own temporary store. */
export interface TestGateway {
  readonly url: string;
  readonly config: Config;
  /** A ghostgate.yaml for this gateway, so tests can drive it with the CLI. */
  readonly configFile: string;
  readonly gateway: RunningGateway;
  readonly master: MasterSecret;
  /** A key with these scopes, or this whole grant; `more`: expiry, limits… */
  createKey(scopes: string[] | Grant, name?: string, more?: Partial<NewKey>): Promise<{ id: string; key: string }>;
  /** Stops the gateway; its files are removed unless `keepFiles`. */
  close(keepFiles?: boolean): Promise<void>;
}

export async function startTestGateway(opts: {
  upstreamUrl: string;
  upstreamKey: string;
  kind?: 'integration' | 'staff';
  timeoutMs?: number;
  extra?: Record<string, unknown>;
  /** Listen on a port chosen now and set publicUrl to it, so Ghost can call the webhook relay. */
  relay?: boolean;
  /** The master secret (hex): replicas of one deployment share it. A new one by default. */
  masterHex?: string;
  /** The gateway's logger (silent by default). */
  log?: Logger;
}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-gw-'));
  const masterHex = opts.masterHex ?? MasterSecret.generateHex();
  writeFileSync(join(dir, 'master.key'), `${masterHex}\n`, { mode: 0o600 });
  const configFile = join(dir, 'ghostgate.yaml');
  const port = opts.relay ? await freePort() : 0;
  const schema: TestSchema | undefined = TEST_STORE === 'postgres' && !opts.extra?.store ? await testSchema() : undefined;
  writeFileSync(
    configFile,
    stringify({
      ...(opts.relay ? { publicUrl: `http://127.0.0.1:${port}`, webhooks: { allowInternalIPs: true } } : {}),
      upstream: { url: opts.upstreamUrl, kind: opts.kind ?? 'integration', timeoutMs: opts.timeoutMs ?? 30_000 },
      store: schema ? { driver: 'postgres', url: schema.url } : { path: 'ghostgate.db' },
      masterSecretFile: 'master.key',
      log: { level: 'silent' },
      upstreamReloadMs: 200,
      ...opts.extra,
      // A test's own listen settings (drainSeconds…) keep the free port: a fixed one fails when another process holds it.
      listen: { host: '127.0.0.1', port, ...(opts.extra?.listen as Record<string, unknown> | undefined) },
    }),
  );
  const { config } = loadConfig(configFile, {});
  const master = new MasterSecret(masterHex);
  // The upstream credential goes in sealed, as `ghostgate init` stores it.
  const setup = await openStore(config);
  await setup.settings.set(UPSTREAM_SETTING, seal(master, opts.upstreamKey));
  await setup.close();
  const gateway = await startGateway(config, opts.log ?? pino({ level: 'silent' }));
  return {
    url: gateway.url,
    config,
    configFile,
    gateway,
    master,
    async createKey(scopes, name = 'test key', more = {}) {
      const id = newKeyId();
      const grant = Array.isArray(scopes) ? { version: 1 as const, scopes } : scopes;
      const rec = await gateway.store.keys.create({ ...more, id, name, grant, createdAt: Date.now() });
      return { id, key: formatKey(id, master.keySecret(id, rec.generation)) };
    },
    async close(keepFiles = false) {
      await gateway.close();
      if (keepFiles) return;
      rmSync(dir, { recursive: true, force: true });
      await schema?.drop();
    },
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigSchema, type Config } from '../../src/config/config.js';
import { startGateway, UPSTREAM_SETTING, type RunningGateway } from '../../src/main.js';
import { MasterSecret, formatKey, newKeyId } from '../../src/secrets/keys.js';
import { seal } from '../../src/secrets/master.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** A real gateway, in process, on a free port, with its own temporary store. */
export interface TestGateway {
  readonly url: string;
  readonly config: Config;
  readonly gateway: RunningGateway;
  readonly master: MasterSecret;
  createKey(scopes: string[], name?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startTestGateway(opts: { upstreamUrl: string; upstreamKey: string; kind?: 'integration' | 'staff'; timeoutMs?: number }): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-gw-'));
  const masterHex = MasterSecret.generateHex();
  const config = ConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: opts.upstreamUrl, kind: opts.kind ?? 'integration', timeoutMs: opts.timeoutMs ?? 30_000 },
    store: { path: join(dir, 'ghostgate.db') },
    masterSecret: masterHex,
    masterSecretFile: join(dir, 'unused.key'),
    log: { level: 'silent' },
  });
  const master = new MasterSecret(masterHex);
  // The upstream credential goes in sealed, as `ghostgate init` stores it.
  const setup = openSqliteStore(config.store.path);
  await setup.settings.set(UPSTREAM_SETTING, seal(master, opts.upstreamKey));
  await setup.close();
  const gateway = await startGateway(config, pino({ level: 'silent' }));
  return {
    url: gateway.url,
    config,
    gateway,
    master,
    async createKey(scopes, name = 'test key') {
      const id = newKeyId();
      const rec = await gateway.store.keys.create({ id, name, grant: { version: 1, scopes }, createdAt: Date.now() });
      return { id, key: formatKey(id, master.keySecret(id, rec.generation)) };
    },
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

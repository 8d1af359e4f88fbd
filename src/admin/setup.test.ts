import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.js';
import { loadMasterSecret, unseal } from '../secrets/master.js';
import { openStore, UPSTREAM_SETTING } from './context.js';
import { AdminError } from './errors.js';
import { initWorkspace, setUpstream } from './setup.js';

/** Setting a gateway up: nothing is written unless everything is valid, the credential included. */
const KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
const input = (dir: string, over: Record<string, unknown> = {}) => ({
  file: join(dir, 'ghostgate.yaml'),
  upstreamUrl: 'http://127.0.0.1:9',
  upstreamKind: 'integration',
  db: 'g.db',
  host: '127.0.0.1',
  port: 8787,
  env: {},
  ...over,
});
const invalid = (e: unknown) => e instanceof AdminError && e.code === 'INVALID';

test('initWorkspace: a refused set-up writes nothing; an accepted one writes the config, the master secret and the sealed credential', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-setup-'));
  await assert.rejects(initWorkspace(input(dir, { upstreamKey: KEY })), invalid, 'Ghost unreachable: the credential cannot be checked');
  await assert.rejects(initWorkspace(input(dir, { db: 'nowhere/g.db' })), invalid, 'a missing folder');
  assert.deepEqual(readdirSync(dir), []);
  const out = await initWorkspace(input(dir, { upstreamKey: KEY, offline: true }));
  assert.deepEqual([out.upstreamStored, out.upstream], [true, null]);
  assert.deepEqual(readdirSync(dir).sort(), ['g.db', 'ghostgate.yaml', 'master.key']);
  const { config } = loadConfig(join(dir, 'ghostgate.yaml'), {});
  const store = await openStore(config);
  try {
    assert.equal(unseal(loadMasterSecret(config), (await store.settings.get(UPSTREAM_SETTING))!), KEY);
    const next = `${'ef'.repeat(12)}:${'01'.repeat(32)}`;
    assert.deepEqual(await setUpstream({ config, store }, next), {
      stored: true,
      id: 'ef'.repeat(12),
      reloadMs: config.upstreamReloadMs,
      pinnedByConfig: false,
    });
    assert.equal(unseal(loadMasterSecret(config), (await store.settings.get(UPSTREAM_SETTING))!), next);
  } finally {
    await store.close();
  }
  writeFileSync(join(dir, 'other'), '');
  await assert.rejects(initWorkspace(input(dir, { offline: true })), invalid, 'an existing config is never overwritten');
});

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { labUp } from '../lab/lab.js';
import { freePort } from '../lab/ghost-process.js';
import { startGateway, UPSTREAM_SETTING, openStore } from '../main.js';
import { formatKey, newKeyId } from '../secrets/keys.js';
import { loadMasterSecret, seal, writeMasterSecretFile } from '../secrets/master.js';
import { stringify } from 'yaml';
import { addAdmin } from '../admin/accounts.js';
import { CONSOLE_PATH, setupLink } from '../admin/links.js';

/**
 * The quick start's main job: the lab's real Ghost, a gateway in front of it
 * on SQLite, two example keys, and one allowed and one refused call made with
 * the official client. Keeps serving until Ctrl-C (or exits with --exit).
 */
const say = (s = '') => process.stdout.write(`${s}\n`);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => {
      resolve(false);
    });
    srv.listen(port, '127.0.0.1', () =>
      srv.close(() => {
        resolve(true);
      }),
    );
  });
}

async function main(): Promise<void> {
  const exitAfter = process.argv.includes('--exit');
  const lab = await labUp((line) => process.stderr.write(`${line}\n`));

  // A fresh gateway workspace, like `ghostgate init` makes it.
  const dir = resolve('.ghostgate', 'demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = process.env.GHOSTGATE_DEMO_PORT ? Number(process.env.GHOSTGATE_DEMO_PORT) : (await portFree(8787)) ? 8787 : await freePort();
  const configFile = join(dir, 'ghostgate.yaml');
  // The lab's Ghost may call the gateway on 127.0.0.1 (security.allowWebhookInternalIPs), and so may the relay's receivers.
  writeFileSync(
    configFile,
    stringify({
      listen: { host: '127.0.0.1', port },
      publicUrl: `http://127.0.0.1:${port}`,
      webhooks: { allowInternalIPs: true },
      upstream: { url: lab.url, kind: 'integration' },
      store: { path: 'ghostgate.db' },
      masterSecretFile: 'master.key',
      log: { level: 'warn' },
    }),
  );
  const { config } = loadConfig(configFile, {});
  writeMasterSecretFile(config.masterSecretFile);
  const master = loadMasterSecret(config);
  const setup = await openStore(config);
  await setup.settings.set(UPSTREAM_SETTING, seal(master, lab.integration.adminKey));
  const keys: Record<string, string> = {};
  for (const [name, scopes] of [
    ['content-reader', ['posts:browse', 'posts:read', 'pages:browse', 'pages:read', 'tags:browse', 'tags:read']],
    ['webhook-setup', ['webhooks:add', 'webhooks:edit', 'webhooks:destroy', 'posts:read']],
  ] as const) {
    const id = newKeyId();
    const rec = await setup.keys.create({ id, name, grant: { version: 1, scopes: [...scopes] }, createdAt: Date.now() });
    keys[name] = formatKey(id, master.keySecret(id, rec.generation));
  }
  // The web console has no default account: the demo makes one and prints its one-time set-up link.
  const { token: setupToken } = await addAdmin({ store: setup }, 'owner@example.com', Date.now());
  await setup.close();

  const gw = await startGateway(config, pino({ level: 'warn' }));
  const require = createRequire(import.meta.url);
  const GhostAdminAPI = require('@tryghost/admin-api');
  const reader = new GhostAdminAPI({ url: gw.url, key: keys['content-reader'], version: 'v6.0' });

  say();
  say(`Ghost ${lab.ghostVersion} (the lab):  ${lab.url}   holds the real integration key`);
  say(`ghostgate:                 ${gw.url}   SQLite store ${config.store.path}`);
  say();
  say('Example keys (Ghost Admin API format; give a tool the gateway URL and one of these):');
  for (const [name, key] of Object.entries(keys)) say(`  ${name.padEnd(15)} ${key}`);
  say();
  say("With the official client, new GhostAdminAPI({ url: gateway, key: content-reader, version: 'v6.0' }):");
  const posts = await reader.posts.browse({ limit: 5, fields: 'title,status' });
  say(
    `  ALLOWED  posts.browse() -> ${posts.meta.pagination.total} posts, e.g. ${posts
      .map((p: { title: string }) => `"${p.title}"`)
      .slice(0, 3)
      .join(', ')}`,
  );
  try {
    await reader.posts.add({ title: 'Should not exist' });
    say('  UNEXPECTED: posts.add() was allowed');
    process.exitCode = 1;
  } catch (e) {
    const err = e as { name: string; code: string; message: string };
    say(`  REFUSED  posts.add()    -> 403 ${err.name} ${err.code}: ${err.message}`);
  }
  say();
  say(`Web console:  ${gw.url}${CONSOLE_PATH}/`);
  say(`  set a password for owner@example.com (this link works once, for 24 h): ${setupLink(config, setupToken)}`);
  say();
  say('Try it yourself:');
  say(`  npx ghostgate --config ${configFile} token list`);
  say(`  npx ghostgate --config ${configFile} admin add you@example.com     # another console account`);
  say(`  npx ghostgate --config ${configFile} token create --name my-tool --scope posts:browse,tags:browse`);
  say(`  npx ghostgate probe --url ${gw.url} --key <a key above>`);
  if (exitAfter) {
    await gw.close();
    return;
  }
  say();
  say('The gateway is serving. Ctrl-C stops it (the lab Ghost keeps running: `npx ghostgate lab down`).');
  process.once('SIGINT', () => void gw.close().then(() => process.exit(0)));
  process.once('SIGTERM', () => void gw.close().then(() => process.exit(0)));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `demo failed: ${(err as Error).message}\n${(err as { hint?: string }).hint ? `To retry: ${(err as { hint?: string }).hint}\n` : ''}`,
  );
  process.exit(1);
});

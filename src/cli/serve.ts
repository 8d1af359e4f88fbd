import { existsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { configFromDocument, loadConfig } from '../config/config.js';
import { discoverUpstreamRole, openStore, UPSTREAM_SETTING } from '../admin/context.js';
import { startGateway } from '../main.js';
import { loadMasterSecret, seal, writeMasterSecretFile } from '../secrets/master.js';
import { readSecretInput, withStore, type GlobalOpts } from './common.js';
import { CliError, printJson } from './output.js';

export function registerServe(program: Command, globals: () => GlobalOpts): void {
  program
    .command('init')
    .description('write ghostgate.yaml, a master secret (mode 600) and the database; optionally store the upstream credential sealed')
    .requiredOption('--upstream-url <url>', "the Ghost site's URL, e.g. https://example.com")
    .option('--upstream-kind <kind>', 'integration (an Admin API key) or staff (a staff access token)', 'integration')
    .option('--upstream-key-file <file>', 'file holding the upstream credential, or - for standard input')
    .option('--db <path>', 'SQLite database file', 'ghostgate.db')
    .option('--port <port>', 'port to listen on', '8787')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--json', 'print JSON')
    .action(async (o: { upstreamUrl: string; upstreamKind: string; upstreamKeyFile?: string; db: string; port: string; host: string; json?: boolean }) => {
      const g = globals();
      const file = resolve(g.config ?? 'ghostgate.yaml');
      if (existsSync(file)) throw new CliError(`${file} exists already; remove it or pass --config to write another`);
      const doc = {
        listen: { host: o.host, port: Number(o.port) },
        upstream: { url: o.upstreamUrl, kind: o.upstreamKind },
        store: { driver: 'sqlite', path: o.db },
        masterSecretFile: 'master.key',
      };
      // Validate everything before writing anything: a refused init leaves no file behind.
      const key = o.upstreamKeyFile ? readSecretInput(o.upstreamKeyFile, '--upstream-key-file') : undefined;
      const config = configFromDocument(doc, dirname(file), process.env, file);
      for (const dir of new Set([dirname(file), dirname(config.store.path), dirname(config.masterSecretFile)])) {
        if (!existsSync(dir)) throw new CliError(`the folder ${dir} does not exist`);
      }
      writeFileSync(file, stringify(doc), { flag: 'wx' });
      if (!config.masterSecret && !existsSync(config.masterSecretFile)) writeMasterSecretFile(config.masterSecretFile);
      const master = loadMasterSecret(config);
      const store = openStore(config);
      if (key) await store.settings.set(UPSTREAM_SETTING, seal(master, key));
      await store.close();
      const out = { config: file, masterSecretFile: config.masterSecretFile, database: config.store.path, upstreamStored: key !== undefined };
      if (o.json) printJson(out);
      else {
        process.stdout.write(`Wrote ${file}\nMaster secret: ${config.masterSecretFile} (mode 600; back it up: without it no key works)\nDatabase: ${config.store.path}\n`);
        if (!key) process.stdout.write('Next: ghostgate upstream set --key-file <file> (or set GHOSTGATE_UPSTREAM_KEY), then ghostgate serve\n');
      }
    });

  program
    .command('serve')
    .description('run the gateway')
    .action(async () => {
      const { config } = loadConfig(globals().config);
      const gw = await startGateway(config);
      const stop = () => {
        void gw.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const upstream = program.command('upstream').description("the site's real Ghost credential held by the gateway");
  upstream
    .command('set')
    .description('store the upstream credential sealed with the master secret')
    .requiredOption('--key-file <file>', 'file holding the credential, or - for standard input')
    .option('--json', 'print JSON')
    .action(async (o: { keyFile: string; json?: boolean }) => {
      const key = readSecretInput(o.keyFile);
      await withStore(globals(), async (store, config) => {
        await store.settings.set(UPSTREAM_SETTING, seal(loadMasterSecret(config), key));
        const id = key.split(':')[0];
        // Running gateways reload it (main.ts reloadUpstream) unless their configuration pins a key, which wins.
        const pinned = Boolean(config.upstream.key);
        if (o.json) printJson({ stored: true, id, reloadMs: pinned ? null : config.upstreamReloadMs, pinnedByConfig: pinned });
        else if (pinned) process.stdout.write(`Stored the upstream credential ${id} (sealed). The configuration pins an upstream key (upstream.key or GHOSTGATE_UPSTREAM_KEY), which gateways use instead.\n`);
        else process.stdout.write(`Stored the upstream credential ${id} (sealed). Running gateways switch to it within ${config.upstreamReloadMs} ms.\n`);
      });
    });

  upstream
    .command('rotate')
    .description('install a new upstream credential (e.g. after regenerating the integration key in Ghost): checked with Ghost first, then picked up by running gateways within seconds, with no change for any tool')
    .requiredOption('--key-file <file>', 'file holding the new credential, or - for standard input')
    .option('--json', 'print JSON')
    .action(async (o: { keyFile: string; json?: boolean }) => {
      const key = readSecretInput(o.keyFile);
      await withStore(globals(), async (store, config) => {
        let info;
        try {
          info = await discoverUpstreamRole(config, key, true);
        } catch (e) {
          throw new CliError(`the new credential was not installed: ${(e as Error).message}`);
        }
        await store.settings.set(UPSTREAM_SETTING, seal(loadMasterSecret(config), key));
        const id = key.split(':')[0];
        if (o.json) printJson({ rotated: true, id, kind: info.kind, role: info.role, reloadMs: config.upstreamReloadMs });
        else process.stdout.write(`Installed the upstream credential ${id} (${info.kind}, role ${info.role}). Running gateways switch to it within ${config.upstreamReloadMs} ms.\n`);
      });
    });
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isPostgresUrl, loadConfig, storeLabel, withoutPassword } from '../config/config.js';
import { migrateStore } from '../admin/context.js';
import { initWorkspace, rotateUpstream, setUpstream } from '../admin/setup.js';
import cluster from 'node:cluster';
import { pino } from 'pino';
import { startGateway } from '../main.js';
import { parseWorkers, superviseWorkers, workerCount } from '../workers.js';
import { readSecretInput, withStore, type GlobalOpts } from './common.js';
import { CliError, printJson } from './output.js';
import { moveStore, MoveStoreError } from '../admin/move-store.js';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

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
    .option('--offline', 'do not check the upstream credential with Ghost')
    .option('--json', 'print JSON')
    .action(async (o: InitOptions) => {
      const key = o.upstreamKeyFile ? readSecretInput(o.upstreamKeyFile, '--upstream-key-file') : undefined;
      const input = {
        file: resolve(globals().config ?? 'ghostgate.yaml'),
        upstreamUrl: o.upstreamUrl,
        upstreamKind: o.upstreamKind,
        db: o.db,
        host: o.host,
        port: Number(o.port),
        offline: o.offline === true,
        ...(key ? { upstreamKey: key } : {}),
      };
      const out = await initWorkspace(input);
      if (o.json) {
        printJson(out);
        return;
      }
      process.stdout.write(
        `Wrote ${out.config}\nMaster secret: ${out.masterSecretFile} (mode 600; back it up: without it no key works)\nDatabase: ${out.database}\n`,
      );
      if (out.upstream)
        process.stdout.write(`Upstream: Ghost accepted the credential (${out.upstream.kind}, role ${out.upstream.role}).\n`);
      if (!key)
        process.stdout.write('Next: ghostgate upstream set --key-file <file> (or set GHOSTGATE_UPSTREAM_KEY), then ghostgate serve\n');
    });

  program
    .command('serve')
    .description(
      'run the gateway (store.driver: sqlite, the default, keeps one file; postgres keeps several replicas on one database: run `ghostgate migrate` first)',
    )
    .option(
      '--workers <n|auto>',
      'gateway processes sharing the port and the store (node:cluster): a number, or auto for one per core; default listen.workers (1)',
    )
    .action(async (o: { workers?: string }) => {
      const { config } = loadConfig(globals().config);
      const asked = o.workers === undefined ? config.listen.workers : parseWorkers(o.workers);
      if (asked === undefined) throw new CliError('--workers must be a whole number from 1, or auto');
      const count = workerCount(asked);
      const log = pino({ level: config.log.level });
      if (cluster.isPrimary && count > 1) {
        const code = await superviseWorkers({
          count,
          log,
          ...(config.metrics.listen ? { metrics: config.metrics.listen } : {}),
        });
        process.exit(code);
      }
      const worker = cluster.isWorker ? process.env.GHOSTGATE_WORKER : undefined;
      const gw = await startGateway(config, worker ? log.child({ worker: Number(worker) }) : log, {
        metricsToPrimary: cluster.isWorker,
      }).catch((err: unknown) => {
        // CASE: a worker that cannot start lets go of its channel to the primary, which would keep it alive,
        // and exits with the error printed as `serve` alone prints it; the primary reports it (src/workers.ts).
        cluster.worker?.disconnect();
        throw err;
      });
      let stopping = false;
      const stop = () => {
        // Once: a worker gets the terminal's SIGINT and the primary's copy of it.
        if (stopping) return;
        stopping = true;
        void gw.close().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // CASE: the primary is gone (killed with SIGKILL, say), and the port with it. Node's cluster would end this
      // worker at once ("Workers will call process.exit(0) if the 'disconnect' event occurs … and
      // .exitedAfterDisconnect is not true", node:cluster's docs), cutting the requests in flight and the
      // audit's last batch: it drains them as on SIGTERM instead.
      cluster.worker?.once('disconnect', () => {
        cluster.worker!.exitedAfterDisconnect = true;
        stop();
      });
    });

  program
    .command('migrate-store')
    .description(
      'move a SQLite deployment (its store and audit files) into an empty PostgreSQL store: keys, ledger, daily counts, settings, webhooks, approvals and the audit trail, whose chains verify there as before (`audit verify`). Stop the gateways on the SQLite file first',
    )
    .requiredOption('--from <sqlite:FILE>', 'the SQLite store, e.g. sqlite:/data/ghostgate.db')
    .option('--audit <file>', 'its audit file (default: ghostgate-audit.db beside the store file)')
    .option('--to <url>', 'the PostgreSQL store, postgres://…; default GHOSTGATE_STORE_URL (keeps a password out of the process list)')
    .option('--json', 'print JSON')
    .action(async (o: MoveStoreOptions) => {
      const input = moveStoreInput(o);
      try {
        const r = await moveStore(input.from, input.to);
        const to = withoutPassword(input.to);
        if (o.json) {
          printJson({ from: input.from, to, ...r });
          return;
        }
        const moved = Object.entries(r.tables)
          .map(([t, n]) => `  ${t}: ${n}`)
          .join('\n');
        process.stdout.write(
          `Moved ${input.from.store} and ${input.from.audit} into ${to}:\n${moved}\n` +
            (r.unknownUses > 0 ? `${r.unknownUses} use(s) sent by a stopped gateway without an answer count as unknown uses.\n` : '') +
            'Check the audit trail there with `ghostgate audit verify` (store.driver: postgres), then start the replicas.\n',
        );
      } catch (e) {
        if (e instanceof MoveStoreError) throw new CliError(e.message);
        throw e;
      }
    });

  program
    .command('migrate')
    .description(
      "bring the store's schema to this ghostgate's version. PostgreSQL (store.driver: postgres): run it once per upgrade, before starting the new version; a gateway refuses a schema that is not current (STORE_MIGRATIONS_PENDING), and replicas running it at once migrate once. SQLite migrates its file whenever it is opened",
    )
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { config } = loadConfig(globals().config);
      const r = await migrateStore(config);
      const store = storeLabel(config.store);
      if (o.json) {
        printJson({ store, ...r });
        return;
      }
      process.stdout.write(
        r.from === r.to
          ? `The store ${store} is current (schema version ${r.to}).\n`
          : `Migrated the store ${store} from schema version ${r.from} to ${r.to}.\n`,
      );
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
        const r = await setUpstream({ config, store }, key);
        if (o.json) printJson(r);
        else if (r.pinnedByConfig)
          process.stdout.write(
            `Stored the upstream credential ${r.id} (sealed). The configuration pins an upstream key (upstream.key or GHOSTGATE_UPSTREAM_KEY), which gateways use instead.\n`,
          );
        else
          process.stdout.write(`Stored the upstream credential ${r.id} (sealed). Running gateways switch to it within ${r.reloadMs} ms.\n`);
      });
    });

  upstream
    .command('rotate')
    .description(
      'install a new upstream credential (e.g. after regenerating the integration key in Ghost): checked with Ghost first, then picked up by running gateways within seconds, with no change for any tool',
    )
    .requiredOption('--key-file <file>', 'file holding the new credential, or - for standard input')
    .option('--json', 'print JSON')
    .action(async (o: { keyFile: string; json?: boolean }) => {
      const key = readSecretInput(o.keyFile);
      await withStore(globals(), async (store, config) => {
        const r = await rotateUpstream({ config, store }, key);
        if (o.json) printJson(r);
        else
          process.stdout.write(
            `Installed the upstream credential ${r.id} (${r.kind}, role ${r.role}). Running gateways switch to it within ${r.reloadMs} ms.\n`,
          );
      });
    });
}

interface InitOptions {
  upstreamUrl: string;
  upstreamKind: string;
  upstreamKeyFile?: string;
  db: string;
  port: string;
  host: string;
  offline?: boolean;
  json?: boolean;
}

interface MoveStoreOptions {
  from: string;
  audit?: string;
  to?: string;
  json?: boolean;
}

/** The files to move from and the database to move to, checked before anything is opened. */
function moveStoreInput(o: MoveStoreOptions): { from: { store: string; audit: string }; to: string } {
  const m = /^sqlite:(.+)$/.exec(o.from);
  if (!m) throw new CliError('--from must be sqlite:FILE');
  const store = resolve(m[1]!);
  const audit = resolve(o.audit ?? join(dirname(store), 'ghostgate-audit.db'));
  for (const [what, f] of [
    ['store', store],
    ['audit', audit],
  ] as const)
    if (!existsSync(f)) throw new CliError(`the ${what} file ${f} does not exist`);
  const to = o.to ?? process.env.GHOSTGATE_STORE_URL;
  if (!to) throw new CliError('--to postgres://… (or GHOSTGATE_STORE_URL) is required');
  // The message never repeats the URL: it may hold a password.
  if (!isPostgresUrl(to)) throw new CliError('--to must be a postgres:// or postgresql:// URL with a host');
  return { from: { store, audit }, to };
}

import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { upstreamKey } from '../admin/context.js';
import { UpstreamCredential } from '../pipeline/forward/upstream.js';
import { loadMasterSecret } from '../secrets/master.js';
import type { Store } from '../store/store.js';
import { openDeliveryLog } from '../admin/context.js';
import type { DeliveryLog } from '../store/deliveries.js';
import { MigrateError, deliveryJson, findRelay, legacyWebhooks, migrateWebhook, relayJson } from '../webhooks/admin.js';
import { ghostWebhooks, type GhostWebhooks } from '../webhooks/ghost-client.js';
import { RelaySecrets } from '../webhooks/relay-secrets.js';
import { listWebhooks, removeWebhook, showWebhook } from '../admin/webhooks.js';
import { configFrom, withStore, type GlobalOpts } from './common.js';
import { cell, CliError, printJson, table } from './output.js';

/**
 * `ghostgate webhooks list|show|deliveries|audit|migrate|remove`: the webhooks
 * keys made through the relay, their delivery log (status, latency, attempt;
 * never a body), and the webhooks made before the relay.
 */
export async function ghostFor(config: Config, store: Store): Promise<GhostWebhooks> {
  const key = await upstreamKey(config, store, loadMasterSecret(config));
  const cred = new UpstreamCredential(key, { kind: config.upstream.kind, role: 'unknown' });
  return ghostWebhooks(
    config.upstream.url,
    config.ghostPath,
    () => `Ghost ${cred.token('/admin/', Date.now())}`,
    config.upstream.timeoutMs,
  );
}

async function withDeliveries<T>(g: GlobalOpts, fn: (log: DeliveryLog) => Promise<T>): Promise<T> {
  const log = openDeliveryLog(configFrom(g));
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}

const DELIVERY_HEADER = ['TIME', 'WEBHOOK', 'EVENT', 'ATTEMPT', 'OUTCOME', 'HTTP', 'LATENCY', 'ERROR', 'VIEW'];
const deliveryLine = (d: ReturnType<typeof deliveryJson>) => [
  cell(d.at),
  cell(d.webhook_id),
  cell(d.event),
  cell(d.attempt),
  cell(d.outcome),
  cell(d.status),
  d.latency_ms === null ? '-' : `${Math.round(Number(d.latency_ms))}ms`,
  cell(d.error),
  cell(d.view),
];

export function registerWebhooks(program: Command, globals: () => GlobalOpts): void {
  const wh = program
    .command('webhooks')
    .description('webhooks made through the gateway’s relay: list, show, deliveries; audit and migrate older ones');

  wh.command('list')
    .description('webhooks keys created through the relay (retired ones with --all)')
    .option('--key <id>', 'only this key’s')
    .option('--all', 'include retired webhooks')
    .option('--json', 'print JSON')
    .action(async (o: { key?: string; all?: boolean; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const out = await listWebhooks(store, { ...(o.key ? { keyId: o.key } : {}), all: o.all === true });
        if (opts.json) {
          printJson(out);
          return;
        }
        process.stdout.write(
          table(
            out.map((r) => [
              cell(r.id),
              String(r.key_name ?? r.key_id),
              String(r.event),
              String(r.target_url),
              String(r.status),
              r.signed ? 'yes' : 'no',
              String(r.created_at),
            ]),
            ['ID', 'KEY', 'EVENT', 'TARGET', 'STATUS', 'SIGNED', 'CREATED'],
          ),
        );
      });
    });

  wh.command('show <id>')
    .description('one relayed webhook (Ghost’s id or the relay id) and its last deliveries')
    .option('--limit <n>', 'deliveries to show', '20')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { limit: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const j = await withDeliveries(opts, (log) => showWebhook(store, log, id, Number(o.limit)));
        const deliveries = j.deliveries;
        if (opts.json) {
          printJson(j);
          return;
        }
        for (const [name, v] of Object.entries(j)) if (name !== 'deliveries') process.stdout.write(`${name.padEnd(15)} ${cell(v)}\n`);
        process.stdout.write(`\n${table(deliveries.map(deliveryLine), DELIVERY_HEADER)}`);
      });
    });

  wh.command('deliveries')
    .description('the delivery log, newest first: status, latency, attempt (never a body)')
    .option('--webhook <id>', 'one webhook (Ghost’s id or the relay id)')
    .option('--key <id>', 'one key’s webhooks')
    .option('--limit <n>', 'rows', '50')
    .option('--json', 'print JSON')
    .action(async (o: { webhook?: string; key?: string; limit: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const relay = o.webhook ? await findRelay(store, o.webhook) : undefined;
        if (o.webhook && !relay) throw new CliError(`no relayed webhook ${o.webhook}`);
        const rows = (
          await withDeliveries(opts, (log) =>
            log.query({ ...(relay ? { relayId: relay.id } : {}), ...(o.key ? { keyId: o.key } : {}), limit: Number(o.limit) }),
          )
        ).map(deliveryJson);
        if (opts.json) {
          printJson(rows);
          return;
        }
        process.stdout.write(table(rows.map(deliveryLine), DELIVERY_HEADER));
      });
    });

  wh.command('audit')
    .description('webhooks keys created before the relay: they deliver straight to the client, outside the key’s grant')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const legacy = await legacyWebhooks(store);
        if (opts.json) {
          printJson({ legacy });
          return;
        }
        if (legacy.length === 0) return void process.stdout.write('Every webhook made through the gateway is relayed.\n');
        process.stdout.write(`${legacy.length} webhook(s) made before the relay deliver outside their key's grant:\n\n`);
        process.stdout.write(
          table(
            legacy.map((l) => [l.id, `${l.key_name} (${l.key_id})`, l.key_status, l.key_status === 'active' ? l.migrate : l.remove]),
            ['ID', 'KEY', 'KEY STATUS', 'COMMAND'],
          ),
        );
      });
    });

  wh.command('migrate <id>')
    .description(
      'move a webhook made before the relay onto it: Ghost then calls the relay, which delivers to the same target, within its key’s grant',
    )
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store, config) => {
        let r;
        try {
          r = await migrateWebhook(
            store,
            await ghostFor(config, store),
            new RelaySecrets(loadMasterSecret(config)),
            config,
            id,
            Date.now(),
          );
        } catch (e) {
          if (e instanceof MigrateError) throw new CliError(e.message);
          throw e;
        }
        if (opts.json) {
          printJson(relayJson(r));
          return;
        }
        process.stdout.write(`Migrated ${id}: Ghost now calls the relay; deliveries go to ${r.targetUrl} within key ${r.keyId}'s grant.\n`);
      });
    });

  wh.command('remove <id>')
    .description('remove a webhook from Ghost (relayed or older), and stop its deliveries')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store, config) => {
        const { removed } = await removeWebhook(store, await ghostFor(config, store), id, Date.now());
        if (opts.json) {
          printJson({ id, removed });
          return;
        }
        process.stdout.write(
          removed
            ? `Removed ${id} from Ghost.\n`
            : `Retired ${id}; Ghost could not be reached, and will delete it when the relay answers its next call with 410.\n`,
        );
      });
    });
}

import type { Command } from 'commander';
import { describeEscalation, escalationOf, FULL_ACCESS_WORDS } from '../grants/escalation.js';
import type { Grant } from '../grants/grant.js';
import { describeGrant } from '../grants/parts.js';
import { PRESETS } from '../grants/presets.js';
import { loadMasterSecret } from '../secrets/master.js';
import { keyJson } from '../keys/key-json.js';
import { buildGrant as buildKeyGrant, createKey, listKeys, revokeKey, rotateKey, showKey, type CreateKeyInput } from '../admin/keys.js';
import { AdminError } from '../admin/errors.js';
import type { KeyLimits, KeyRecord } from '../store/store.js';
import { parseDuration, parseRate, parseWhen } from './time.js';
import { readUserFile, withStore, type GlobalOpts } from './common.js';
import { cell, CliError, fmtTime, printJson, table } from './output.js';
import { ghostFor } from './webhooks.js';

export { keyJson };

export function registerToken(program: Command, globals: () => GlobalOpts): void {
  const token = program.command('token').description('create, list, show, rotate and revoke ghostgate keys; presets');

  token
    .command('create')
    .description('create a key and print it once, in Ghost Admin API key format (id:secret)')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scope <scopes>', 'comma-separated scopes, e.g. posts:browse,posts:read (see `ghostgate catalog`); added to a preset')
    .option('--preset <name>', `start from a preset: ${Object.keys(PRESETS).join(', ')}`)
    .option('--grant <file>', 'a grant document (JSON, docs/grants.md); merged over the preset')
    .option('--expires <when>', 'expiry: a duration from now (30d, 24h, 1h) or an ISO 8601 time')
    .option('--not-before <when>', 'not valid before: a duration from now or an ISO 8601 time')
    .option('--max-uses <n>', 'uses allowed: requests that reach Ghost and succeed (1 = a one-time key)')
    .option('--ip <cidrs>', 'comma-separated CIDRs (IPv4, IPv6) the key may be used from')
    .option('--rate <limits>', 'rate limits, e.g. 10/s,300/m,burst=20')
    .option('--daily-quota <n>', 'requests per UTC day')
    .option('--parent <id>', 'make a child key: a subset of the parent grant, expiring no later, revoked with it')
    .option('--webhooks <when-expired>', 'the webhooks it creates when it expires: outlive (keep delivering, the default) or stop')
    .option(
      '--allow-escalation',
      `accept escalation scopes (identities, code on the site, secrets, bulk loss: ${FULL_ACCESS_WORDS}; docs/security.md)`,
    )
    .option('--json', 'print JSON')
    .action(async (o: CreateOptions) => {
      const opts = { ...globals(), ...o };
      const now = Date.now();
      const input = createInput(o, now);
      await withStore(opts, async (store, config) => {
        const { record, key } = await createKey({ config, store, master: loadMasterSecret(config) }, input, now);
        if (opts.json) printJson({ ...keyJson(record), key });
        else printCreated(record, key);
      });
    });

  token
    .command('rotate <id>')
    .description('give the key a new secret for the same grant; the old secret keeps working until the grace period ends')
    .option('--grace <duration>', 'how long the old secret keeps working (e.g. 24h, 0s)', '24h')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { grace: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const grace = parseDuration(o.grace);
      await withStore(opts, async (store, config) => {
        const { record: rec, key } = await rotateKey({ config, store, master: loadMasterSecret(config) }, id, grace, Date.now());
        if (opts.json) printJson({ ...keyJson(rec), key });
        else process.stdout.write(`Rotated ${id} (${rec.name}). The old secret works until ${fmtTime(rec.graceUntil)}.\n\n  ${key}\n\n`);
      });
    });

  token
    .command('presets')
    .description('list the grant presets')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        printJson(PRESETS);
        return;
      }
      process.stdout.write(
        table(
          Object.entries(PRESETS).map(([n, p]) => [
            n,
            p.escalation ? `${FULL_ACCESS_WORDS}: ${p.escalation.join(', ')}` : '-',
            p.description,
          ]),
          ['PRESET', 'ESCALATION', 'WHAT IT ALLOWS'],
        ),
      );
    });

  token
    .command('list')
    .description('list keys')
    .option('--status <status>', 'only active or revoked keys')
    .option('--search <text>', 'only keys whose name contains this (any case)')
    .option('--preset <name>', 'only keys whose grant starts from this preset')
    .option('--parent <id>', 'only the children of this key')
    .option('--json', 'print JSON')
    .action(async (o: { status?: string; search?: string; preset?: string; parent?: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      if (o.status !== undefined && o.status !== 'active' && o.status !== 'revoked') throw new CliError('--status: active or revoked');
      await withStore(opts, async (store) => {
        const keys = await listKeys(
          { store },
          {
            ...(o.status ? { status: o.status as 'active' | 'revoked' } : {}),
            ...(o.search ? { search: o.search } : {}),
            ...(o.preset ? { preset: o.preset } : {}),
            ...(o.parent ? { parentId: o.parent } : {}),
          },
        );
        if (opts.json) {
          printJson(keys.map(keyJson));
          return;
        }
        process.stdout.write(
          table(
            keys.map((k) => [
              k.id,
              k.name,
              k.status,
              String(k.grant.scopes.length),
              fmtTime(k.expiresAt),
              fmtTime(k.lastUsedAt),
              k.maxUses === null ? String(k.useCount) : `${k.useCount}/${k.maxUses}`,
              k.parentId ?? '-',
              escalationOf(k.grant).fullAccess ? FULL_ACCESS_WORDS : '-',
            ]),
            ['ID', 'NAME', 'STATUS', 'SCOPES', 'EXPIRES', 'LAST USED', 'USES', 'PARENT', 'ACCESS'],
          ),
        );
      });
    });

  token
    .command('show <id>')
    .description('show one key and its grant (never its secret)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const { record: k, uses, webhooks } = await showKey({ store }, id, Date.now());
        const j = { ...keyJson(k), uses };
        if (opts.json) {
          printJson({ ...j, webhooks });
          return;
        }
        for (const [name, v] of Object.entries(j))
          if (name !== 'grant' && name !== 'escalation') process.stdout.write(`${name.padEnd(13)} ${cell(v)}\n`);
        const e = escalationOf(k.grant);
        process.stdout.write(`escalation    ${describeEscalation(e, Infinity)}\n`);
        for (const n of e.narrowed) process.stdout.write(`              ${n.scope} (narrowed): ${n.bound}\n`);
        process.stdout.write(`rules         ${describeGrant(k.grant).join('\n              ')}\n`);
        process.stdout.write(`grant         ${JSON.stringify(k.grant, null, 2).replace(/\n/g, '\n              ')}\n`);
        process.stdout.write(
          `webhooks      ${webhooks.length === 0 ? '-' : webhooks.map((w) => `${cell(w.id ?? w.relay_id)} ${cell(w.event)} -> ${cell(w.target_url)} (${cell(w.status)})`).join('\n              ')}\n`,
        );
      });
    });

  token
    .command('revoke <id>')
    .description('revoke a key; the next request with it is refused')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store, config) => {
        // Their webhooks stop and are removed from Ghost (a running gateway's relay also answers Ghost 410).
        const ghost = await ghostFor(config, store).catch(() => undefined);
        const { record: after, revoked, webhooks: hooks } = await revokeKey({ store }, id, ghost, Date.now());
        if (opts.json)
          printJson({
            ...keyJson(after),
            changed: revoked.includes(id),
            revoked,
            webhooks_retired: hooks.retired,
            webhooks_not_removed_from_ghost: hooks.notRemoved,
          });
        else if (revoked.length === 0) process.stdout.write(`${id} was already revoked.\n`);
        else
          process.stdout.write(
            `Revoked ${id} (${after.name})${revoked.length > 1 ? ` and its ${revoked.length - 1} child key(s): ${revoked.filter((r) => r !== id).join(', ')}` : ''}.\n`,
          );
        if (!opts.json && hooks.retired.length > 0)
          process.stdout.write(
            `Retired its ${hooks.retired.length} webhook(s)${hooks.notRemoved.length > 0 ? `; not yet removed from Ghost (unreachable): ${hooks.notRemoved.join(', ')}` : ', removed from Ghost'}.\n`,
          );
      });
    });
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer`);
  return n;
}

/** --preset, --scope and --grant into one validated grant document (the keys service merges and validates). */
export function buildGrant(o: { scope?: string; preset?: string; grant?: string }): Grant {
  let doc: unknown;
  if (o.grant) {
    const text = readUserFile(o.grant, '--grant');
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new CliError(`--grant ${o.grant}: ${(e as Error).message}`);
    }
  }
  try {
    return buildKeyGrant({
      ...(o.preset !== undefined ? { preset: o.preset } : {}),
      ...(o.scope ? { scopes: [o.scope] } : {}),
      ...(doc !== undefined ? { grant: doc } : {}),
    });
  } catch (e) {
    if (e instanceof AdminError) throw new CliError(e.message);
    throw e;
  }
}

interface CreateOptions {
  name: string;
  scope?: string;
  preset?: string;
  grant?: string;
  expires?: string;
  notBefore?: string;
  maxUses?: string;
  ip?: string;
  rate?: string;
  dailyQuota?: string;
  parent?: string;
  webhooks?: string;
  allowEscalation?: boolean;
  json?: boolean;
}

/** `token create`'s options as the keys service's input (every value parsed, nothing written yet). */
function createInput(o: CreateOptions, now: number): CreateKeyInput {
  const limits: KeyLimits = {
    ...(o.ip
      ? {
          ipAllow: o.ip
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        }
      : {}),
    ...(o.rate ? { rate: parseRate(o.rate) } : {}),
    ...(o.dailyQuota ? { dailyQuota: positive(o.dailyQuota, '--daily-quota') } : {}),
    ...(o.webhooks ? { webhooks: o.webhooks as 'outlive' | 'stop' } : {}),
  };
  return {
    name: o.name,
    grant: buildGrant(o),
    expiresAt: o.expires ? parseWhen(o.expires, now) : null,
    notBefore: o.notBefore ? parseWhen(o.notBefore, now) : null,
    maxUses: o.maxUses ? positive(o.maxUses, '--max-uses') : null,
    limits,
    allowEscalation: o.allowEscalation === true,
    ...(o.parent ? { parentId: o.parent } : {}),
  };
}

function printCreated(rec: KeyRecord, key: string): void {
  const expiring = rec.expiresAt ? `, expiring ${fmtTime(rec.expiresAt)}` : '';
  const uses = rec.maxUses ? `, ${rec.maxUses} use(s)` : '';
  process.stdout.write(`Created key ${rec.id} (${rec.name}) with scopes ${rec.grant.scopes.join(', ')}${expiring}${uses}\n\n  ${key}\n\n`);
  const e = escalationOf(rec.grant);
  if (e.fullAccess) process.stdout.write(`This key is ${describeEscalation(e)}.\n`);
  process.stdout.write(
    'This is the only time the key is shown. Give it to the tool as its Ghost Admin API key, with this gateway as its Ghost URL.\n',
  );
}

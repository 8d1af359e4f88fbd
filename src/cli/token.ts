import type { Command } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { readFileSync } from 'node:fs';
import { parseGrant, parseScopeList, validateScopes, type Grant } from '../grants/grant.js';
import { PRESETS, withOverrides } from '../grants/presets.js';
import { loadMasterSecret } from '../secrets/master.js';
import { formatKey, newKeyId } from '../secrets/keys.js';
import type { KeyRecord } from '../store/store.js';
import { withStore, type GlobalOpts } from './common.js';
import { CliError, fmtTime, printJson, table } from './output.js';

export function keyJson(k: KeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    status: k.status,
    grant: k.grant,
    created_at: fmtTime(k.createdAt),
    revoked_at: k.revokedAt === null ? null : fmtTime(k.revokedAt),
    last_used_at: k.lastUsedAt === null ? null : fmtTime(k.lastUsedAt),
    use_count: k.useCount,
  };
}

export function registerToken(program: Command, globals: () => GlobalOpts): void {
  const token = program.command('token').description('create, list, show and revoke ghostgate keys');

  token
    .command('create')
    .description('create a key and print it once, in Ghost Admin API key format (id:secret)')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scope <scopes>', 'comma-separated scopes, e.g. posts:browse,posts:read (see `ghostgate catalog`); added to a preset')
    .option('--preset <name>', `start from a preset: ${Object.keys(PRESETS).join(', ')}`)
    .option('--grant <file>', 'a grant document (JSON, docs/grants.md); merged over the preset')
    .option('--json', 'print JSON')
    .action(async (o: { name: string; scope?: string; preset?: string; grant?: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const name = o.name.trim();
      if (name === '' || name.length > 191) throw new CliError('--name must be 1 to 191 characters');
      const grant = buildGrant(o);
      await withStore(opts, async (store, config) => {
        const master = loadMasterSecret(config);
        const id = newKeyId();
        const rec = await store.keys.create({ id, name, grant, createdAt: Date.now() });
        const key = formatKey(id, master.keySecret(id, rec.generation));
        if (opts.json) printJson({ ...keyJson(rec), key });
        else {
          process.stdout.write(`Created key ${id} (${name}) with scopes ${grant.scopes.join(', ')}\n\n  ${key}\n\n`);
          process.stdout.write('This is the only time the key is shown. Give it to the tool as its Ghost Admin API key, with this gateway as its Ghost URL.\n');
        }
      });
    });

  token
    .command('presets')
    .description('list the grant presets')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) return printJson(PRESETS);
      process.stdout.write(table(Object.entries(PRESETS).map(([n, p]) => [n, p.description]), ['PRESET', 'WHAT IT ALLOWS']));
    });

  token
    .command('list')
    .description('list keys')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const keys = await store.keys.list();
        if (opts.json) return printJson(keys.map(keyJson));
        process.stdout.write(
          table(
            keys.map((k) => [k.id, k.name, k.status, String(k.grant.scopes.length), fmtTime(k.lastUsedAt), String(k.useCount)]),
            ['ID', 'NAME', 'STATUS', 'SCOPES', 'LAST USED', 'USES'],
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
        const k = await store.keys.get(id);
        if (!k) throw new CliError(`no key ${id}`);
        if (opts.json) return printJson(keyJson(k));
        const j = keyJson(k);
        for (const [name, v] of Object.entries(j)) if (name !== 'grant') process.stdout.write(`${name.padEnd(13)} ${v ?? '-'}\n`);
        process.stdout.write(`grant         ${JSON.stringify(k.grant, null, 2).replace(/\n/g, '\n              ')}\n`);
      });
    });

  token
    .command('revoke <id>')
    .description('revoke a key; the next request with it is refused')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const k = await store.keys.get(id);
        if (!k) throw new CliError(`no key ${id}`);
        const changed = await store.keys.revoke(id, Date.now());
        const after = (await store.keys.get(id))!;
        if (opts.json) printJson({ ...keyJson(after), changed });
        else process.stdout.write(changed ? `Revoked ${id} (${k.name}).\n` : `${id} was already revoked.\n`);
      });
    });
}

/** --preset, --scope and --grant into one validated grant document. */
export function buildGrant(o: { scope?: string; preset?: string; grant?: string }): Grant {
  const extra = o.scope ? parseScopeList(o.scope) : [];
  let doc: Record<string, unknown> | undefined;
  if (o.grant) {
    try {
      doc = JSON.parse(readFileSync(o.grant, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`--grant ${o.grant}: ${(e as Error).message}`);
    }
  }
  let candidate: unknown;
  if (o.preset) {
    const p = PRESETS[o.preset];
    if (!p) throw new CliError(`unknown preset "${o.preset}"; presets: ${Object.keys(PRESETS).join(', ')}`);
    candidate = withOverrides(p.grant, extra, doc);
  } else if (doc) candidate = withOverrides({ version: 1, scopes: [] }, extra, doc);
  else candidate = { version: 1, scopes: extra };
  const parsed = parseGrant(candidate);
  if (!parsed.ok) throw new CliError(`invalid grant:\n  ${parsed.errors.join('\n  ')}`);
  if (parsed.grant.scopes.length === 0) throw new CliError('the key needs at least one scope (--scope, --preset or --grant)');
  const errors = validateScopes(parsed.grant.scopes, loadCatalog());
  if (errors.length > 0) throw new CliError(`invalid scopes:\n  ${errors.join('\n  ')}`);
  return parsed.grant;
}

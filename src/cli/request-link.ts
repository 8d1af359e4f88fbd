import type { Command } from 'commander';
import { requestLink } from '../admin/links.js';
import { createAccessRequest, REQUEST_LINK_TTL_MS } from '../admin/requests.js';
import { PRESETS } from '../grants/presets.js';
import { readUserFile, withStore, type GlobalOpts } from './common.js';
import { CliError, fmtTime, printJson } from './output.js';
import { parseDuration } from './time.js';

/** `ghostgate request-link`: a link where a tool or person asks for a key; an admin decides in the console. */
export function registerRequestLink(program: Command, globals: () => GlobalOpts): void {
  program
    .command('request-link')
    .description(
      'print an access request link: the requester opens it, an admin approves it in the console, the requester collects the key once',
    )
    .option('--preset <name>', `the grant asked for: ${Object.keys(PRESETS).join(', ')}`)
    .option('--grant <file>', 'the grant asked for, as a document (JSON, docs/grants.md)')
    .option('--name <name>', 'who or what the key is for (the key gets this name)', 'access request')
    .option('--expires <duration>', "the key's lifetime from its collection (e.g. 30d); none by default")
    .option('--link-expires <duration>', 'how long the link works', `${REQUEST_LINK_TTL_MS / 86_400_000}d`)
    .option('--json', 'print JSON')
    .action(async (o: { preset?: string; grant?: string; name: string; expires?: string; linkExpires: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      if ((o.preset === undefined) === (o.grant === undefined)) throw new CliError('give --preset or --grant (one of them)');
      let grant: unknown;
      if (o.grant) {
        try {
          grant = JSON.parse(readUserFile(o.grant, '--grant'));
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new CliError(`--grant ${o.grant}: ${(e as Error).message}`);
        }
      }
      const input = {
        name: o.name,
        ...(o.preset ? { preset: o.preset } : { grant }),
        ...(o.expires ? { keyLifetimeMs: parseDuration(o.expires) } : {}),
        linkTtlMs: parseDuration(o.linkExpires),
      };
      await withStore(opts, async (store, config) => {
        const { record, token } = await createAccessRequest({ store }, input, Date.now());
        const link = requestLink(config, token);
        if (opts.json) printJson({ id: record.id, name: record.name, expires_at: new Date(record.expiresAt).toISOString(), link });
        else
          process.stdout.write(`Access request ${record.id} (${record.name}), open until ${fmtTime(record.expiresAt)}:\n\n  ${link}\n\n`);
      });
    });
}

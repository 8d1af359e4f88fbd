import type { Command } from 'commander';
import { explainRequest } from '../admin/explain.js';
import { readUserFile, withStore, type GlobalOpts } from './common.js';
import { cell, CliError, printJson } from './output.js';

/**
 * `ghostgate explain`: prints what the explain service (src/admin/explain.ts)
 * answers: the decision the gateway would make for the request, its rule, the
 * key checks made and skipped, and what would allow it.
 */
export function registerExplain(program: Command, globals: () => GlobalOpts): void {
  program
    .command('explain <method> <path>')
    .description('explain the decision for a request by a key: the rule that decides it and what would allow it')
    .requiredOption('--key <id>', 'the key id')
    .option('--body <file>', 'the JSON body of the request')
    .option('--record <file>', "the record's current state (Ghost's JSON for it), for rules that depend on it")
    .option('--upstream-role <role>', "the upstream credential's role (default: Admin Integration for an integration key)")
    .option(
      '--upstream-user <id>',
      "a staff token upstream: its user's id (without it, every PUT and DELETE /users/:id/ counts as the gateway's own user)",
    )
    .option('--ip <address>', "the client address, for the key's IP allowlist (without it, that check is skipped and said so)")
    .option('--json', 'print JSON')
    .action(
      async (
        method: string,
        path: string,
        o: { key: string; body?: string; record?: string; upstreamRole?: string; upstreamUser?: string; ip?: string; json?: boolean },
      ) => {
        await withStore(globals(), async (store, config) => {
          const q = {
            keyId: o.key,
            method,
            path,
            ...(o.body ? { body: readJson(o.body) } : {}),
            ...(o.record ? { record: readJson(o.record) as Record<string, unknown> } : {}),
            ...(o.upstreamRole ? { upstreamRole: o.upstreamRole } : {}),
            ...(o.upstreamUser ? { upstreamUser: o.upstreamUser } : {}),
            ...(o.ip ? { ip: o.ip } : {}),
          };
          const out = await explainRequest({ config, store }, q, Date.now());
          print(out, o.json);
          if (out.decision === 'deny') process.exitCode = 1;
        });
      },
    );
}

function readJson(file: string): unknown {
  const text = readUserFile(file, '--body');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
}

function print(out: Record<string, unknown>, json: boolean | undefined): void {
  if (json) {
    printJson(out);
    return;
  }
  for (const [k, v] of Object.entries(out)) {
    if (v === undefined || v === null) continue;
    const text = Array.isArray(v) ? v.join('\n                 ') : cell(v);
    process.stdout.write(`${k.padEnd(16)} ${text}\n`);
  }
}

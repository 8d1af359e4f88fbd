import type { Command } from 'commander';
import { probe, type ProbeReport } from '../probe/probe.js';
import { readSecretInput } from './common.js';
import { CliError, printJson, table } from './output.js';

function render(r: ProbeReport): string {
  const who =
    r.credential.kind === 'staff'
      ? `a staff token of ${r.credential.user} (role ${r.credential.role})`
      : 'an integration key (or a ghostgate key)';
  const counts = (v: string) => r.results.filter((x) => x.verdict === v).length;
  let s = `Probe of ${r.url} with key ${r.keyId}: ${who}\n`;
  s += `${counts('allowed')} allowed, ${counts('refused')} refused, ${counts('inconclusive')} inconclusive, ${counts('error')} errors, ${counts('skipped')} skipped${r.writes ? '' : ' (reads only; --writes also tries writes on objects the probe creates)'}\n\n`;
  s += table(
    r.results.map((x) => [
      x.scope,
      `${x.method} ${x.route}`,
      x.status === null ? '-' : String(x.status),
      x.verdict.toUpperCase(),
      x.check ?? x.detail.slice(0, 70),
    ]),
    ['SCOPE', 'ROUTE', 'HTTP', 'RESULT', 'NOTE'],
  );
  if (r.findings.length) s += `\nFindings:\n${r.findings.map((f) => `  - ${f}`).join('\n')}\n`;
  if (r.cleanup.length) s += `\nCLEAN-UP NEEDED:\n${r.cleanup.map((f) => `  - ${f}`).join('\n')}\n`;
  return s;
}

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description(
      'show what a Ghost key (integration key, staff token or ghostgate key) can really do on a site, with real requests; reads only unless --writes',
    )
    .requiredOption('--url <url>', "the site's URL (or a ghostgate gateway's)")
    .option('--key <id:secret>', 'the key to probe (visible in your shell history; prefer --key-file)')
    .option('--key-file <file>', 'file holding the key, or - for standard input')
    .option(
      '--writes',
      'also try writes on objects the probe creates and removes (a draft post, a tag, a webhook to an unroutable address)',
    )
    .option('--json', 'print JSON')
    .action(async (o: { url: string; key?: string; keyFile?: string; writes?: boolean; json?: boolean }) => {
      const key = o.keyFile ? readSecretInput(o.keyFile) : o.key;
      if (!key) throw new CliError('give the key with --key-file (or --key)');
      const report = await probe({ url: o.url, key, writes: Boolean(o.writes), progress: (l) => process.stderr.write(`${l}\n`) });
      if (o.json) printJson(report);
      else process.stdout.write(render(report));
      if (report.cleanup.length) process.exitCode = 3;
    });
}

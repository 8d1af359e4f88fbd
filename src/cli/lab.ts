import type { Command } from 'commander';
import { labDown, labReset, labStatus, labUp, LabError, type LabState } from '../lab/lab.js';
import { CliError, printJson } from './output.js';

function summary(s: LabState): string {
  const lines = [
    `Ghost ${s.ghostVersion} at ${s.url} (pid ${s.pid})`,
    `  Admin API:            ${s.adminApiUrl}`,
    `  Ghost folder:         ${s.ghostDir}`,
    `  Site folder:          ${s.siteDir}`,
    `  Integration key:      ${s.integration.adminKey}   (${s.integration.name})`,
    `  Owner:                ${s.owner.email}  staff token ${s.owner.staffToken}`,
  ];
  for (const [role, u] of Object.entries(s.staff)) lines.push(`  ${(role + ':').padEnd(21)} ${u.email}  staff token ${u.staffToken}`);
  lines.push(
    `  Content:              ${s.content.posts.length} posts and pages, ${s.content.tags.length} tags, ${s.content.members.length} members, ${s.content.newsletters.length} newsletters`,
  );
  lines.push('These are lab credentials on a local test site; `--json` prints everything, passwords included.');
  return lines.join('\n') + '\n';
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LabError) throw new CliError(`${e.message}\nTo retry: ${e.hint}`);
    throw e;
  }
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('a real Ghost 6.65 on 127.0.0.1 with SQLite, for tests, the demo and benchmarks');
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  lab
    .command('up')
    .description('install (once, cached), start and provision the lab Ghost; prints what it made')
    .option('--json', 'print JSON (URL, keys, staff tokens, user ids, Ghost folder)')
    .action(async (o: { json?: boolean }) => {
      const s = await guard(() => labUp(progress));
      if (o.json) printJson(s);
      else process.stdout.write(summary(s));
    });

  lab
    .command('down')
    .description('stop the lab Ghost (the site is kept)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const r = await guard(() => labDown());
      if (o.json) printJson(r);
      else process.stdout.write(r.stopped ? 'Stopped the lab Ghost.\n' : 'The lab Ghost was not running.\n');
    });

  lab
    .command('reset')
    .description('stop, delete the site and start over from an empty database')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const s = await guard(() => labReset(progress));
      if (o.json) printJson(s);
      else process.stdout.write(summary(s));
    });

  lab
    .command('status')
    .description('is the lab installed and running')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const r = await labStatus();
      if (o.json) printJson({ installed: r.installed, running: r.running, home: r.home, state: r.state ?? null });
      else
        process.stdout.write(
          `lab folder ${r.home}: ${r.installed ? 'installed' : 'not installed'}, ${r.running ? `running at ${r.state?.url}` : 'not running'}\n`,
        );
    });
}

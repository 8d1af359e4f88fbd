import type { Command } from 'commander';
import { approvalChanges, decideApproval, listApprovals, showApproval, type FieldChange } from '../admin/approvals.js';
import { upstreamKey } from '../admin/context.js';
import type { Config } from '../config/config.js';
import { loadMasterSecret } from '../secrets/master.js';
import type { ApprovalRecord, Store } from '../store/store.js';
import { withStore, type GlobalOpts } from './common.js';
import { fmtTime, printJson, safeText, table } from './output.js';

/**
 * What a person reads before deciding: every line through safeText (the title and body are the
 * agent's text: a terminal escape could rewrite what is shown), a JSON body indented.
 */
interface Compared {
  changes?: FieldChange[];
  changesError?: string;
}

/** What a held edit would change, read from Ghost now; a failure to read is said, not fatal. */
async function compare(store: Store, config: Config, a: ApprovalRecord): Promise<Compared> {
  try {
    const changes = await approvalChanges(config, await upstreamKey(config, store, loadMasterSecret(config)), a);
    return changes === undefined ? {} : { changes };
  } catch (e) {
    return { changesError: (e as Error).message };
  }
}

const shortJson = (v: unknown): string => {
  const text = v === undefined ? '(not set)' : JSON.stringify(v);
  return text.length > 100 ? `${text.slice(0, 100)}… (${text.length} characters)` : text;
};

function showText(a: ApprovalRecord, c: Compared): string {
  const lines = [
    `approval ${a.id}  ${a.status}`,
    `key       ${a.keyId}`,
    `call      ${a.summary}`,
    `created   ${fmtTime(a.createdAt)}   expires ${fmtTime(a.expiresAt)}`,
  ];
  if (a.decidedAt !== null) lines.push(`decided   ${fmtTime(a.decidedAt)}`);
  if (a.usedAt !== null) lines.push(`used      ${fmtTime(a.usedAt)}`);
  if (a.call === null) lines.push('', '(the call was held before ghostgate kept it: only the line above is known)');
  else {
    lines.push('', `${a.call.method} ${a.call.pathAndQuery}`);
    if (a.call.body === null) lines.push('(no body)');
    else if (a.call.bodyEncoding === 'base64') lines.push(`body (base64, not UTF-8): ${a.call.body}`);
    else {
      let body = a.call.body;
      try {
        body = JSON.stringify(JSON.parse(body), null, 2);
      } catch {
        // not JSON: shown as it came
      }
      lines.push(...body.split('\n'));
    }
  }
  if (c.changes) {
    lines.push('', c.changes.length === 0 ? 'It changes nothing in Ghost’s record now.' : 'Against Ghost’s record now, it changes:');
    for (const ch of c.changes) lines.push(`  ${ch.field}: ${shortJson(ch.before)} -> ${shortJson(ch.after)}`);
  }
  if (c.changesError !== undefined) lines.push('', `(what it changes could not be read: ${c.changesError})`);
  return lines.map(safeText).join('\n') + '\n';
}

/** `ghostgate approvals list|show|approve|deny`: the calls a grant's `confirm` holds for a person (docs/grants.md). */
const json = (a: ApprovalRecord) => ({
  ...a,
  createdAt: new Date(a.createdAt).toISOString(),
  decidedAt: a.decidedAt === null ? null : new Date(a.decidedAt).toISOString(),
  usedAt: a.usedAt === null ? null : new Date(a.usedAt).toISOString(),
  expiresAt: new Date(a.expiresAt).toISOString(),
});

export function registerApprovals(program: Command, globals: () => GlobalOpts): void {
  const approvals = program
    .command('approvals')
    .description("calls a key's grant holds for a person's approval (confirm): list, show, approve or deny them");

  approvals
    .command('show <id>')
    .description(
      'one approval and the call it holds, exactly as it would be forwarded (method, path, query, body); for an edit, what it changes in Ghost’s record now',
    )
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const [a, c] = await withStore(opts, async (store, config) => {
        const found = await showApproval({ store }, id);
        return [found, await compare(store, config, found)] as const;
      });
      if (opts.json) printJson({ ...json(a), ...c });
      else process.stdout.write(showText(a, c));
    });

  approvals
    .command('list')
    .description('approvals, newest first')
    .option('--status <status>', 'only pending, approved, denied or used')
    .option('--json', 'print JSON')
    .action(async (o: { status?: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const rows = await withStore(opts, (store) => listApprovals({ store }, o.status));
      if (opts.json) printJson(rows.map(json));
      else
        process.stdout.write(
          table(
            rows.map((a) => [a.id, a.status, fmtTime(a.createdAt), fmtTime(a.expiresAt), a.summary]),
            ['ID', 'STATUS', 'CREATED', 'EXPIRES', 'CALL'],
          ),
        );
    });

  for (const [name, decision] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    approvals
      .command(`${name} <id>`)
      .description(
        decision === 'approved'
          ? 'approve a pending call: the same call by the same key is then forwarded once (within 24 h of the request)'
          : 'deny a pending call: the same call by the same key is refused from then on (APPROVAL_DENIED)',
      )
      .option('--json', 'print JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const opts = { ...globals(), ...o };
        const a = await withStore(opts, (store) => decideApproval({ store }, id, decision, Date.now()));
        if (opts.json) printJson(json(a));
        else process.stdout.write(safeText(`${a.id} ${a.status}: ${a.summary}`) + '\n');
      });
  }
}

import type { Command } from 'commander';
import { decideApproval, listApprovals } from '../admin/approvals.js';
import type { ApprovalRecord } from '../store/store.js';
import { withStore, type GlobalOpts } from './common.js';
import { fmtTime, printJson, table } from './output.js';

/** `ghostgate approvals list|approve|deny`: the calls a grant's `confirm` holds for a person (docs/grants.md). */
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
    .description("calls a key's grant holds for a person's approval (confirm): list, approve or deny them");

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
          : 'deny a pending call: it stays refused',
      )
      .option('--json', 'print JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const opts = { ...globals(), ...o };
        const a = await withStore(opts, (store) => decideApproval({ store }, id, decision, Date.now()));
        if (opts.json) printJson(json(a));
        else process.stdout.write(`${a.id} ${a.status}: ${a.summary}\n`);
      });
  }
}

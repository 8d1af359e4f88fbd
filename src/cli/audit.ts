import type { Command } from 'commander';
import { auditKey, openAudit } from '../admin/context.js';
import { acknowledgeAudit, advise, pruneAudit, queryAudit, verifyAudit } from '../admin/audit.js';
import { type AuditRow } from '../pipeline/audit/record.js';
import { loadMasterSecret } from '../secrets/master.js';
import type { AuditStore } from '../store/audit.js';
import type { Store } from '../store/store.js';
import { configFrom, withStore, type GlobalOpts } from './common.js';
import { CliError, fmtTime, printJson, table } from './output.js';
import { parseDuration } from './time.js';

/**
 * `ghostgate audit verify|tail|query|export|prune` and `ghostgate advise`.
 * Reading the trail needs only the audit file; verifying and pruning need the
 * master secret, which keys the hash chain.
 */
async function withAudit<T>(g: GlobalOpts, fn: (audit: AuditStore, key: () => Buffer) => Promise<T>): Promise<T> {
  const config = configFrom(g);
  const audit = await openAudit(config);
  try {
    return await fn(audit, () => auditKey(loadMasterSecret(config)));
  } finally {
    await audit.close();
  }
}

/** The audit file and the key store, without the master secret (reading only). */
async function withAuditAndStore<T>(g: GlobalOpts, fn: (audit: AuditStore, store: Store) => Promise<T>): Promise<T> {
  return withStore(g, async (store, config) => {
    const audit = await openAudit(config);
    try {
      return await fn(audit, store);
    } finally {
      await audit.close();
    }
  });
}

/** The audit file and the key store (which anchors it), for verify and acknowledge. */
async function withTrail<T>(g: GlobalOpts, fn: (audit: AuditStore, key: Buffer, store: Store) => Promise<T>): Promise<T> {
  return withStore(g, async (store, config) => {
    const key = auditKey(loadMasterSecret(config));
    const audit = await openAudit(config);
    try {
      return await fn(audit, key, store);
    } finally {
      await audit.close();
    }
  });
}

function line(r: AuditRow): string[] {
  return [
    String(r.seq),
    fmtTime(r.at),
    r.kind,
    r.decision.toUpperCase(),
    r.code ?? '-',
    r.keyName ?? r.keyId ?? '-',
    r.route,
    r.status === null ? '-' : String(r.status),
    r.latencyMs === null ? '-' : `${Math.round(r.latencyMs)}ms`,
  ];
}
const HEADER = ['SEQ', 'TIME', 'KIND', 'DECISION', 'CODE', 'KEY', 'ROUTE', 'HTTP', 'LATENCY'];

function rowJson(r: AuditRow): Record<string, unknown> {
  return { ...r, at: new Date(r.at).toISOString() };
}

function since(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Date.now() - parseDuration(text);
}

export function registerAudit(program: Command, globals: () => GlobalOpts): void {
  const audit = program.command('audit').description('the tamper-evident audit trail: one record per request, every decision');

  audit
    .command('verify')
    .description(
      "check every chain and the file against the key store's anchors: exits 1 if a record was edited, deleted or reordered, or the file is missing, replaced, truncated or older (AUDIT_DISCONTINUITY) and not acknowledged",
    )
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const r = await withTrail(globals(), (audit, key, store) => verifyAudit({ audit, key, store }));
      if (o.json) printJson(r);
      else {
        const acks = r.acknowledged.map((k) => `\n  acknowledged discontinuity (${fmtTime(k.at)}): ${k.reason}`).join('');
        if (r.ok)
          process.stdout.write(
            `OK: ${r.rows} records in ${r.chains.length} chain(s), unbroken and continuous with the key store's anchors.${acks}\n`,
          );
        else {
          if (r.problems.length > 0) process.stdout.write(`TAMPERED:\n  ${r.problems.join('\n  ')}\n`);
          if (r.discontinuities.length > 0) {
            process.stdout.write(
              `AUDIT_DISCONTINUITY:\n  ${r.discontinuities.map((d) => d.problem).join('\n  ')}\nAcknowledge it with: ghostgate audit acknowledge --reason "..."\n`,
            );
          }
        }
      }
      if (!r.ok) process.exitCode = 1;
    });

  audit
    .command('acknowledge')
    .description(
      'acknowledge an audit discontinuity (a missing, replaced, truncated or older audit file): writes a signed discontinuity record with the reason, after which the gateway serves again',
    )
    .requiredOption('--reason <text>', 'why the trail is discontinuous (e.g. "disk lost; restored from the backup of 1 May")')
    .option('--json', 'print JSON')
    .action(async (o: { reason: string; json?: boolean }) => {
      const r = await withTrail(globals(), (audit, key, store) => acknowledgeAudit({ audit, key, store }, o.reason, Date.now()));
      if (o.json) printJson({ acknowledged: r ?? null });
      else if (!r) process.stdout.write("Nothing to acknowledge: the audit file is continuous with the key store's anchors.\n");
      else
        process.stdout.write(
          `Acknowledged ${r.discontinuities.length} discontinuity(ies) with a signed record (chain ${r.chain}):\n  ${r.discontinuities.map((d) => d.problem).join('\n  ')}\n`,
        );
    });

  audit
    .command('query')
    .description('records matching a filter')
    .option('--key <id>', 'only this key')
    .option('--since <duration>', 'e.g. 1h, 7d')
    .option('--decision <decision>', 'allow, deny, error or unknown (a write sent to Ghost whose answer never came)')
    .option('--code <code>', 'a reason code, e.g. SCOPE_MISSING')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON')
    .action(async (o: { key?: string; since?: string; decision?: string; code?: string; limit: string; json?: boolean }) => {
      const filter = {
        limit: Number(o.limit),
        ...(o.key ? { keyId: o.key } : {}),
        ...(o.since ? { since: since(o.since)! } : {}),
        ...(o.decision ? { decision: o.decision } : {}),
        ...(o.code ? { code: o.code } : {}),
      };
      const rows = await withAudit(globals(), (a) => queryAudit(a, filter));
      if (o.json) printJson(rows.map(rowJson));
      else process.stdout.write(table(rows.map(line), HEADER));
    });

  audit
    .command('tail')
    .description('the latest records; --follow keeps printing new ones')
    .option('-n, --lines <n>', 'how many', '20')
    .option('-f, --follow', 'keep printing new records')
    .option('--json', 'one JSON object per line')
    .action(async (o: { lines: string; follow?: boolean; json?: boolean }) => {
      const config = configFrom(globals());
      const a = await openAudit(config);
      const print = (rows: AuditRow[]) => {
        for (const r of rows) process.stdout.write(o.json ? `${JSON.stringify(rowJson(r))}\n` : `${line(r).join('  ')}\n`);
      };
      // Positions follow the file's insertion order across every chain.
      const first = await a.tail(Number(o.lines));
      print(first);
      let last = first.at(-1)?.pos ?? (await a.tail(1))[0]?.pos ?? 0;
      if (!o.follow) return a.close();
      let stop = false as boolean; // set by the SIGINT handler
      process.once('SIGINT', () => (stop = true));
      while (!stop) {
        await new Promise((r) => setTimeout(r, 500));
        const rows = await a.query({ afterPos: last });
        print(rows);
        last = rows.at(-1)?.pos ?? last;
      }
      await a.close();
    });

  audit
    .command('export')
    .description('every record (with its hashes) for another system')
    .option('--format <format>', 'jsonl', 'jsonl')
    .option('--since <duration>', 'e.g. 30d')
    .action(async (o: { format: string; since?: string }) => {
      if (o.format !== 'jsonl') throw new CliError('--format: only jsonl');
      await withAudit(globals(), async (a) => {
        for await (const r of o.since ? await a.query({ since: since(o.since)! }) : a.rows())
          process.stdout.write(`${JSON.stringify(rowJson(r))}\n`);
      });
    });

  audit
    .command('prune')
    .description('delete records older than --before, keeping a signed checkpoint so the rest still verifies')
    .requiredOption('--before <duration>', 'age, e.g. 90d')
    .option('--json', 'print JSON')
    .action(async (o: { before: string; json?: boolean }) => {
      const cutoff = Date.now() - parseDuration(o.before);
      const r = await withAudit(globals(), (audit, key) => pruneAudit({ audit, key: key() }, cutoff, Date.now()));
      if (o.json) printJson(r);
      else
        process.stdout.write(
          `Pruned ${r.pruned} records${Object.keys(r.checkpoints).length ? `; each pruned chain now verifies from its signed checkpoint` : ''}.\n`,
        );
    });

  program
    .command('advise')
    .description(
      'least privilege from activity: the scopes a key holds but never used, and the narrowest grant that would have allowed all of its traffic',
    )
    .requiredOption('--key <id>', 'the key id')
    .option('--since <duration>', 'the period to learn from', '30d')
    .option('--json', 'print JSON')
    .action(async (o: { key: string; since: string; json?: boolean }) => {
      const out = await withAuditAndStore(globals(), (audit, store) => advise(store, audit, o.key, since(o.since)!));
      if (o.json) {
        printJson(out);
        return;
      }
      process.stdout.write(`Key ${out.key} (${out.name}): ${out.requests} requests since ${out.since}.\n`);
      process.stdout.write(`Used:    ${out.used.join(', ') || '(nothing)'}\n`);
      process.stdout.write(`Unused:  ${out.unused.join(', ') || '(none: every scope held was used)'}\n`);
      for (const w of out.narrowed_wildcards)
        process.stdout.write(`${w.held} covers ${w.covers} scopes; only ${w.used.join(', ')} were used.\n`);
      if (out.refused_for_missing_scope.length)
        process.stdout.write(
          `Refused for a missing scope: ${out.refused_for_missing_scope.join(', ')} (not added: grant them only if the tool needs them)\n`,
        );
      process.stdout.write(
        `\nProposed grant (the narrowest that would have allowed all of its traffic):\n${JSON.stringify(out.proposed_grant, null, 2)}\n`,
      );
    });
}

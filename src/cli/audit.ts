import type { Command } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { auditKey, openAudit } from '../main.js';
import { signHead } from '../pipeline/audit/audit-log.js';
import { signCheckpoint, verifyChain, type AuditRow } from '../pipeline/audit/record.js';
import { loadMasterSecret } from '../secrets/master.js';
import type { AuditQuery, AuditStore } from '../store/sqlite/sqlite-audit.js';
import { configFrom, withStore, type GlobalOpts } from './common.js';
import { CliError, fmtTime, printJson, table } from './output.js';
import { parseDuration } from './time.js';

/**
 * `ghostgate audit verify|tail|query|export|prune` and `ghostgate advise`.
 * Reading the trail needs only the audit file; verifying and pruning need the
 * master secret, which keys the hash chain.
 */
function withAudit<T>(g: GlobalOpts, fn: (audit: AuditStore, key: Buffer) => T): T {
  const config = configFrom(g);
  const audit = openAudit(config);
  try {
    return fn(audit, auditKey(loadMasterSecret(config)));
  } finally {
    audit.close();
  }
}

function line(r: AuditRow): string[] {
  return [String(r.seq), fmtTime(r.at), r.kind, r.decision.toUpperCase(), r.code ?? '-', r.keyName ?? r.keyId ?? '-', r.route, r.status === null ? '-' : String(r.status), r.latencyMs === null ? '-' : `${Math.round(r.latencyMs)}ms`];
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
    .description('check the hash chain: exits 1 if any record was edited, deleted or reordered')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const r = withAudit(globals(), (a, key) => {
        const v = verifyChain(key, a.rows(), a.checkpoint());
        const head = a.head();
        const problems = [...v.problems];
        if (head) {
          if (signHead(key, head.seq, head.hash) !== head.signature) problems.push('the signed head does not verify');
          else if (v.lastSeq !== null && (head.seq !== v.lastSeq)) problems.push(`the signed head names record ${head.seq} but the trail ends at ${v.lastSeq} (records removed from the end)`);
          else if (v.lastSeq === null && head.seq > (a.checkpoint()?.seq ?? 0)) problems.push('the trail is empty but the signed head names records');
        }
        return { ...v, ok: problems.length === 0, problems, checkpoint: a.checkpoint() ?? null };
      });
      if (o.json) printJson(r);
      else {
        process.stdout.write(r.ok ? `OK: ${r.rows} records (${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}) chain${r.checkpoint ? ` from the checkpoint at record ${r.checkpoint.seq}` : ''}, unbroken.\n` : `TAMPERED:\n  ${r.problems.join('\n  ')}\n`);
      }
      if (!r.ok) process.exitCode = 1;
    });

  audit
    .command('query')
    .description('records matching a filter')
    .option('--key <id>', 'only this key')
    .option('--since <duration>', 'e.g. 1h, 7d')
    .option('--decision <decision>', 'allow, deny or error')
    .option('--code <code>', 'a reason code, e.g. SCOPE_MISSING')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON')
    .action((o: { key?: string; since?: string; decision?: string; code?: string; limit: string; json?: boolean }) => {
      if (o.decision && !['allow', 'deny', 'error'].includes(o.decision)) throw new CliError('--decision is allow, deny or error');
      const q: AuditQuery = { limit: Number(o.limit) };
      const rows = withAudit(globals(), (a) =>
        a.query({ ...q, ...(o.key ? { keyId: o.key } : {}), ...(o.since ? { since: since(o.since)! } : {}), ...(o.decision ? { decision: o.decision as 'allow' } : {}), ...(o.code ? { code: o.code } : {}) }),
      );
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
      const a = openAudit(config);
      const print = (rows: AuditRow[]) => {
        for (const r of rows) process.stdout.write(o.json ? `${JSON.stringify(rowJson(r))}\n` : `${line(r).join('  ')}\n`);
      };
      const count = a.count();
      let last = 0;
      const first = a.query({ afterSeq: Math.max(0, (a.head()?.seq ?? count) - Number(o.lines)) });
      print(first);
      last = first.at(-1)?.seq ?? a.head()?.seq ?? 0;
      if (!o.follow) return a.close();
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          const rows = a.query({ afterSeq: last });
          print(rows);
          last = rows.at(-1)?.seq ?? last;
        }, 500);
        process.once('SIGINT', () => (clearInterval(t), a.close(), resolve()));
      });
    });

  audit
    .command('export')
    .description('every record (with its hashes) for another system')
    .option('--format <format>', 'jsonl', 'jsonl')
    .option('--since <duration>', 'e.g. 30d')
    .action((o: { format: string; since?: string }) => {
      if (o.format !== 'jsonl') throw new CliError('--format: only jsonl');
      withAudit(globals(), (a) => {
        for (const r of o.since ? a.query({ since: since(o.since)! }) : a.rows()) process.stdout.write(`${JSON.stringify(rowJson(r))}\n`);
      });
    });

  audit
    .command('prune')
    .description('delete records older than --before, keeping a signed checkpoint so the rest still verifies')
    .requiredOption('--before <duration>', 'age, e.g. 90d')
    .option('--json', 'print JSON')
    .action((o: { before: string; json?: boolean }) => {
      const cutoff = Date.now() - parseDuration(o.before);
      const r = withAudit(globals(), (a, key) => {
        const old = a.query({ until: cutoff });
        // Prune a prefix only: the newest old record that has no younger record before it.
        let lastSeq = (a.checkpoint()?.seq ?? 0);
        let lastHash = '';
        for (const row of old) {
          if (row.seq !== lastSeq + 1) break;
          lastSeq = row.seq;
          lastHash = row.hash;
        }
        if (lastHash === '') return { pruned: 0, checkpoint: a.checkpoint() ?? null };
        const checkpoint = signCheckpoint(key, lastSeq, lastHash, Date.now());
        return { pruned: a.prune(lastSeq, checkpoint), checkpoint };
      });
      if (o.json) printJson(r);
      else process.stdout.write(`Pruned ${r.pruned} records${r.checkpoint ? `; the trail now verifies from the checkpoint at record ${r.checkpoint.seq}` : ''}.\n`);
    });

  program
    .command('advise')
    .description("least privilege from activity: the scopes a key holds but never used, and the narrowest grant that would have allowed all of its traffic")
    .requiredOption('--key <id>', 'the key id')
    .option('--since <duration>', 'the period to learn from', '30d')
    .option('--json', 'print JSON')
    .action(async (o: { key: string; since: string; json?: boolean }) => {
      const out = await withStore(globals(), async (store) => {
        const key = await store.keys.get(o.key);
        if (!key) throw new CliError(`no key ${o.key}`);
        const rows = withAudit(globals(), (a) => a.query({ keyId: o.key, since: since(o.since)! }));
        const catalog = loadCatalog();
        const used = new Set<string>();
        const refused = new Set<string>();
        for (const r of rows) {
          if (!r.resource || !r.action) continue;
          const scope = `${r.resource}:${r.action}`;
          if (r.decision !== 'deny' && r.kind !== 'outcome') used.add(scope);
          if (r.code === 'SCOPE_MISSING') refused.add(scope);
        }
        const held = key.grant.scopes;
        const covers = (h: string, s: string) => h === '*' || h === s || (h.endsWith(':*') && s.startsWith(h.slice(0, -1)));
        const unused = held.filter((h) => h !== 'keys:mint' && ![...used].some((s) => covers(h, s)));
        const broad = held.filter((h) => (h === '*' || h.endsWith(':*')) && !unused.includes(h));
        const proposed = { ...key.grant, scopes: [...used].sort() };
        const requests = new Set(rows.map((r) => r.requestId)).size;
        return {
          key: key.id,
          name: key.name,
          since: new Date(Date.now() - parseDuration(o.since)).toISOString(),
          requests,
          used: [...used].sort(),
          unused,
          narrowed_wildcards: broad.map((h) => ({ held: h, used: [...used].filter((s) => covers(h, s)).sort(), covers: catalog.scopes.filter((s) => covers(h, s)).length })),
          refused_for_missing_scope: [...refused].sort(),
          proposed_grant: proposed,
        };
      });
      if (o.json) return printJson(out);
      process.stdout.write(`Key ${out.key} (${out.name}): ${out.requests} requests since ${out.since}.\n`);
      process.stdout.write(`Used:    ${out.used.join(', ') || '(nothing)'}\n`);
      process.stdout.write(`Unused:  ${out.unused.join(', ') || '(none: every scope held was used)'}\n`);
      for (const w of out.narrowed_wildcards) process.stdout.write(`${w.held} covers ${w.covers} scopes; only ${w.used.join(', ')} were used.\n`);
      if (out.refused_for_missing_scope.length) process.stdout.write(`Refused for a missing scope: ${out.refused_for_missing_scope.join(', ')} (not added: grant them only if the tool needs them)\n`);
      process.stdout.write(`\nProposed grant (the narrowest that would have allowed all of its traffic):\n${JSON.stringify(out.proposed_grant, null, 2)}\n`);
    });
}

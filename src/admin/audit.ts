import { loadCatalog } from '../catalog/catalog.js';
import { scopeCovers } from '../grants/grant.js';
import { signCheckpoint, AUDIT_DECISIONS, type AuditDecision, type AuditRow, type Checkpoint } from '../pipeline/audit/record.js';
import { acknowledgeDiscontinuity, verifyTrail } from '../pipeline/audit/trail.js';
import type { AuditQuery, AuditStore } from '../store/audit.js';
import type { Store } from '../store/store.js';
import { AdminError } from './errors.js';

/**
 * The audit operations, as services (the CLI's `audit …` and `advise` print
 * their results). Reading needs only the audit file; verifying, acknowledging
 * and pruning need the audit key (derived from the master secret), and the
 * key store, which anchors the file.
 */
export interface AuditContext {
  readonly audit: AuditStore;
  /** The key that chains and signs records (admin/context.ts auditKey). */
  readonly key: Buffer;
  readonly store: Store;
}

export const verifyAudit = (ctx: AuditContext) => verifyTrail(ctx.key, ctx.audit, ctx.store);

/** Writes a signed discontinuity record; undefined when the file is continuous (nothing to acknowledge). */
export async function acknowledgeAudit(ctx: AuditContext, reason: string, now: number) {
  if (reason.trim() === '') throw new AdminError('INVALID', 'the reason must say why the trail is discontinuous');
  return acknowledgeDiscontinuity(ctx.key, ctx.audit, ctx.store, reason.trim(), now);
}

export interface AuditFilter {
  readonly keyId?: string;
  readonly since?: number;
  readonly decision?: string;
  readonly code?: string;
  /** Routes containing this text, in any case. */
  readonly route?: string;
  readonly limit?: number;
  /** The newest `limit` records rather than the oldest (oldest first either way). */
  readonly newest?: boolean;
}

export async function queryAudit(audit: AuditStore, f: AuditFilter): Promise<AuditRow[]> {
  if (f.decision !== undefined && !(AUDIT_DECISIONS as readonly string[]).includes(f.decision))
    throw new AdminError('INVALID', `the decision is one of ${AUDIT_DECISIONS.join(', ')}`);
  if (f.limit !== undefined && (!Number.isInteger(f.limit) || f.limit < 1))
    throw new AdminError('INVALID', 'the limit must be a positive integer');
  const q: AuditQuery = {
    limit: f.limit ?? 1000,
    ...(f.keyId ? { keyId: f.keyId } : {}),
    ...(f.since !== undefined ? { since: f.since } : {}),
    ...(f.decision ? { decision: f.decision as AuditDecision } : {}),
    ...(f.code ? { code: f.code } : {}),
    ...(f.route ? { route: f.route } : {}),
    ...(f.newest ? { newest: true } : {}),
  };
  return audit.query(q);
}

/**
 * Deletes, in each chain, the prefix of records older than `cutoff` (never a
 * record with a younger one before it), keeping a signed checkpoint that
 * names the last one pruned, so the rest still verifies.
 */
export async function pruneAudit(
  ctx: Pick<AuditContext, 'audit' | 'key'>,
  cutoff: number,
  now: number,
): Promise<{ pruned: number; checkpoints: Record<string, Checkpoint> }> {
  let pruned = 0;
  const checkpoints: Record<string, Checkpoint> = {};
  for (const chain of await ctx.audit.chains()) {
    let lastSeq = (await ctx.audit.checkpoint(chain))?.seq ?? 0;
    let lastHash = '';
    for (const row of await ctx.audit.query({ chain, until: cutoff })) {
      if (row.seq !== lastSeq + 1) break;
      lastSeq = row.seq;
      lastHash = row.hash;
    }
    if (lastHash === '') continue;
    const checkpoint = signCheckpoint(ctx.key, lastSeq, lastHash, now, chain);
    pruned += await ctx.audit.prune(chain, lastSeq, checkpoint);
    checkpoints[chain] = checkpoint;
  }
  return { pruned, checkpoints };
}

/** Whether a held scope (`*`, `posts:*` or exact) covers a scope. */
const covers = (held: string, scope: string) => scopeCovers(new Set([held]), scope);

/**
 * Least privilege from activity: the scopes a key used since `since`, the ones
 * it holds but never used, its wildcards narrowed to what was used, and the
 * narrowest grant that would have allowed all of its traffic.
 */
export async function advise(store: Store, audit: AuditStore, keyId: string, since: number) {
  const key = await store.keys.get(keyId);
  if (!key) throw new AdminError('NOT_FOUND', `no key ${keyId}`);
  const rows = await audit.query({ keyId, since });
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
  const unused = held.filter((h) => h !== 'keys:mint' && ![...used].some((s) => covers(h, s)));
  const broad = held.filter((h) => (h === '*' || h.endsWith(':*')) && !unused.includes(h));
  return {
    key: key.id,
    name: key.name,
    since: new Date(since).toISOString(),
    requests: new Set(rows.map((r) => r.requestId)).size,
    used: [...used].sort(),
    unused,
    narrowed_wildcards: broad.map((h) => ({
      held: h,
      used: [...used].filter((s) => covers(h, s)).sort(),
      covers: catalog.scopes.filter((s) => covers(h, s)).length,
    })),
    refused_for_missing_scope: [...refused].sort(),
    proposed_grant: { ...key.grant, scopes: [...used].sort() },
  };
}

/** An audit record as the management API and the export show it: snake_case, times in ISO 8601, its detail parsed. */
export function auditRowJson(r: AuditRow) {
  let detail: unknown = null;
  if (r.detail !== undefined && r.detail !== null) {
    try {
      detail = JSON.parse(r.detail);
    } catch {
      detail = r.detail;
    }
  }
  return {
    chain: r.chain,
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    request_id: r.requestId,
    kind: r.kind,
    key_id: r.keyId,
    key_name: r.keyName,
    client_ip: r.clientIp,
    method: r.method,
    route: r.route,
    resource: r.resource,
    action: r.action,
    decision: r.decision,
    code: r.code,
    status: r.status,
    latency_ms: r.latencyMs,
    bytes_in: r.bytesIn,
    bytes_out: r.bytesOut,
    detail,
    hash: r.hash,
  };
}

const CSV_COLUMNS = [
  'chain',
  'seq',
  'at',
  'request_id',
  'kind',
  'key_id',
  'key_name',
  'client_ip',
  'method',
  'route',
  'resource',
  'action',
  'decision',
  'code',
  'status',
  'latency_ms',
  'bytes_in',
  'bytes_out',
  'detail',
  'hash',
] as const;

/**
 * RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; a leading =+-@ is
 * prefixed with ' (CSV injection). A semicolon or tab is quoted too: a spreadsheet in a locale that
 * splits on them would otherwise start a cell (`x;=1+1`) inside the field, past the prefix check.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",;\t\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The most records one export answers: a page, so that no caller holds the trail in memory at once. */
export const EXPORT_PAGE = 10_000;

/**
 * One page of the trail (or of the records since a time), oldest first, as JSON Lines or CSV, with their
 * hashes, for another system: at most `limit` records after position `afterPos`; `next` is the position
 * to ask after for the next page, or null when this page is the last.
 */
export async function exportAudit(
  audit: AuditStore,
  format: 'jsonl' | 'csv',
  opts: { since?: number; afterPos?: number; limit?: number } = {},
): Promise<{ text: string; next: number | null }> {
  const limit = Math.min(opts.limit ?? EXPORT_PAGE, EXPORT_PAGE);
  const lines: string[] = format === 'csv' ? [CSV_COLUMNS.join(',')] : [];
  const rows = await audit.query({
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.afterPos !== undefined ? { afterPos: opts.afterPos } : {}),
    limit,
  });
  for (const r of rows) {
    const j = auditRowJson(r);
    lines.push(format === 'csv' ? CSV_COLUMNS.map((c) => csvField(j[c])).join(',') : JSON.stringify(j));
  }
  const text = lines.length === 0 ? '' : `${lines.join(format === 'csv' ? '\r\n' : '\n')}${format === 'csv' ? '\r\n' : '\n'}`;
  return { text, next: rows.length === limit ? rows[rows.length - 1]!.pos : null };
}

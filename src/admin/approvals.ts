import type { Config } from '../config/config.js';
import type { ApprovalCall, ApprovalRecord, ApprovalStatus, Store } from '../store/store.js';
import { ghostGet } from './context.js';
import { AdminError } from './errors.js';

/**
 * Approvals of the calls a grant's `confirm` holds (src/grants/confirm.ts,
 * pipeline/approval.ts), as services: `ghostgate approvals …` calls them; the
 * management API and console will call the same. Approving lets the same call
 * by the same key through once; denying closes it (a retry opens a new one).
 */
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'used'];

export async function listApprovals(ctx: { readonly store: Store }, status: string | undefined): Promise<ApprovalRecord[]> {
  if (status !== undefined && !STATUSES.includes(status as ApprovalStatus)) {
    throw new AdminError('INVALID', `status must be one of ${STATUSES.join(', ')}`);
  }
  return ctx.store.approvals.list(status as ApprovalStatus | undefined);
}

/** One approval, with the held call (method, path, query, body) the person decides on. */
export async function showApproval(ctx: { readonly store: Store }, id: string): Promise<ApprovalRecord> {
  const a = await ctx.store.approvals.get(id);
  if (!a) throw new AdminError('NOT_FOUND', `no approval ${id}`);
  return a;
}

export async function decideApproval(
  ctx: { readonly store: Store },
  id: string,
  decision: 'approved' | 'denied',
  now: number,
): Promise<ApprovalRecord> {
  const approvals = ctx.store.approvals;
  const before = await approvals.get(id);
  if (!before) throw new AdminError('NOT_FOUND', `no approval ${id}`);
  if (!(await approvals.decide(id, decision, now))) {
    const why = before.status !== 'pending' ? `it is ${before.status}` : 'it expired';
    throw new AdminError('INVALID', `approval ${id} cannot be ${decision}: ${why}`);
  }
  return (await approvals.get(id))!;
}

/** A field a held edit sets to another value than the record Ghost has now. */
export interface FieldChange {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** The record a held edit (PUT of one record, JSON body) would change: its path below the Admin API, or undefined. */
export function editedRecordPath(call: ApprovalCall, ghostPath: string): string | undefined {
  if (call.method !== 'PUT' || call.body === null || call.bodyEncoding !== 'utf8') return undefined;
  // The Admin API with or without a version segment (`/ghost/api/v4/admin/`, which Ghost 6 still serves).
  const prefix = new RegExp(`^/${ghostPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/api/(?:v[0-9]+(?:\\.[0-9]+)?/)?admin/`);
  const path = call.pathAndQuery.split('?')[0]!;
  const below = prefix.exec(path);
  const m = /^(posts|pages|tags|members|users|newsletters|tiers|offers|labels|snippets)\/([0-9a-f]{24})\/$/.exec(
    below ? path.slice(below[0].length) : '',
  );
  if (!m) return undefined;
  // Posts and pages: their content is only in the answer when a format is asked for.
  return m[1] === 'posts' || m[1] === 'pages' ? `${m[0]}?formats=lexical%2Cmobiledoc` : m[0];
}

/**
 * The fields the held body sets (in Ghost's envelope, `{"posts":[{…}]}`) whose values differ from the
 * record Ghost answered now; undefined when the body or the answer is not one record of that resource.
 */
export function changedFields(call: ApprovalCall, current: unknown): FieldChange[] | undefined {
  const one = (doc: unknown): [string, Record<string, unknown>] | undefined => {
    if (typeof doc !== 'object' || doc === null) return undefined;
    const entries = Object.entries(doc as Record<string, unknown>).filter(([k]) => k !== 'meta');
    const [name, list] = entries[0] ?? [];
    if (entries.length !== 1 || !Array.isArray(list) || list.length !== 1) return undefined;
    const item: unknown = list[0];
    return typeof item === 'object' && item !== null && !Array.isArray(item) ? [name!, item as Record<string, unknown>] : undefined;
  };
  let body: unknown;
  try {
    body = JSON.parse(call.body ?? '');
  } catch {
    return undefined;
  }
  const sent = one(body);
  const now = one(current);
  if (!sent || !now || sent[0] !== now[0]) return undefined;
  return Object.entries(sent[1])
    .filter(([field, after]) => JSON.stringify(after) !== JSON.stringify(now[1][field]))
    .map(([field, after]) => ({ field, before: now[1][field], after }));
}

/** What a held edit would change in Ghost now, read with the upstream credential; undefined for a call that is no edit. */
export async function approvalChanges(config: Config, upstreamKey: string, a: ApprovalRecord): Promise<FieldChange[] | undefined> {
  const path = a.call === null ? undefined : editedRecordPath(a.call, config.ghostPath);
  if (path === undefined || a.call === null) return undefined;
  const res = await ghostGet(config, upstreamKey, path);
  if (!res.ok) throw new AdminError('INVALID', `Ghost answered ${res.status} reading the record the call would change`);
  const changes = changedFields(a.call, await res.json());
  if (!changes) throw new AdminError('INVALID', 'the call’s body and Ghost’s record are not one record of the same kind');
  return changes;
}

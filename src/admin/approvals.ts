import type { ApprovalRecord, ApprovalStatus, Store } from '../store/store.js';
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

/** One approval. */
export async function showApproval(ctx: { readonly store: Store }, id: string): Promise<ApprovalRecord> {
  const a = await ctx.store.approvals.get(id);
  if (!a) throw new AdminError('NOT_FOUND', `no approval ${id}`);
  return a;
}

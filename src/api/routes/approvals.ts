import { z } from 'zod';
import { decideApproval, listApprovals, showApproval } from '../../admin/approvals.js';
import type { ApprovalRecord } from '../../store/store.js';
import { route } from '../router.js';
import { ApprovalSchema } from '../schemas.js';

/** Approvals of the calls a grant's `confirm` holds (docs/grants.md): list, show, approve, deny. */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
// The fingerprint (a hash of the exact call) is the gateway's own: the summary says what the call is.
const approval = (a: ApprovalRecord) => ({
  id: a.id,
  key_id: a.keyId,
  summary: a.summary,
  call:
    a.call === null
      ? null
      : {
          method: a.call.method,
          path_and_query: a.call.pathAndQuery,
          body: a.call.body,
          body_encoding: a.call.bodyEncoding,
          ...(a.call.recordVersion !== undefined ? { record_version: a.call.recordVersion } : {}),
        },
  status: a.status,
  created_at: new Date(a.createdAt).toISOString(),
  decided_at: iso(a.decidedAt),
  used_at: iso(a.usedAt),
  expires_at: new Date(a.expiresAt).toISOString(),
});
const Params = z.object({ id: z.string().min(1).max(64) }).strict();
const One = z.object({ approvals: z.array(ApprovalSchema).length(1) }).strict();

export const approvalRoutes = [
  route({
    method: 'GET',
    path: '/approvals',
    action: 'approvals.browse',
    tag: 'approvals',
    summary: 'Approvals, newest first, optionally of one status',
    query: z.object({ status: z.enum(['pending', 'approved', 'denied', 'used']).optional() }).strict(),
    response: z.object({ approvals: z.array(ApprovalSchema) }).strict(),
    async handle(deps, { query }) {
      return { body: { approvals: (await listApprovals(deps, query.status)).map(approval) } };
    },
  }),
  route({
    method: 'GET',
    path: '/approvals/:id',
    action: 'approvals.read',
    tag: 'approvals',
    summary: 'One approval',
    params: Params,
    response: One,
    async handle(deps, { params }) {
      return { body: { approvals: [approval(await showApproval(deps, params.id))] } };
    },
  }),
  ...(['approve', 'deny'] as const).map((verb) =>
    route({
      method: 'POST',
      path: `/approvals/:id/${verb}`,
      action: `approvals.${verb}`,
      tag: 'approvals',
      summary:
        verb === 'approve'
          ? 'Approve a pending call: the same call by the same key is then forwarded once'
          : 'Deny a pending call: it stays refused, and so does the same call on the same record for a day',
      params: Params,
      response: One,
      async handle(deps, { params, now }) {
        const a = await decideApproval(deps, params.id, verb === 'approve' ? 'approved' : 'denied', now);
        return { body: { approvals: [approval(a)] }, target: a.id };
      },
    }),
  ),
];

import { randomUUID } from 'node:crypto';
import { AdminError } from '../../admin/errors.js';
import { CONSOLE_PATH, REQUEST_PATH } from '../../admin/links.js';
import { collectAccessRequest, decideAccessRequest, listAccessRequests, requestForToken } from '../../admin/requests.js';
import { describeEscalation, escalationOf } from '../../grants/escalation.js';
import type { Grant } from '../../grants/grant.js';
import { describeGrant } from '../../grants/parts.js';
import type { AccessRequestRecord } from '../../store/store.js';
import { intentFirst, outcomeOf, recordAction, type PageRequest, type SignedInRequest } from '../context.js';
import { fmtTime, h, type Html } from '../html.js';
import { redirect, sendHtml } from '../http.js';
import { bare, csrfField, page, postButton } from '../layout.js';
import { keyShownOnce } from './create.js';

/**
 * Access requests: the admin's list and decision (approve, possibly with
 * fewer scopes, or deny), and the requester's page on the link itself (what
 * is asked, in words; the key collected once after approval).
 */
const grantOf = (r: AccessRequestRecord) => r.spec.grant as Grant;
const lifetime = (r: AccessRequestRecord) =>
  typeof r.spec.keyLifetimeMs === 'number'
    ? `expires ${Math.round(r.spec.keyLifetimeMs / 86_400_000) || '<1'} day(s) after it is collected`
    : 'no expiry';

const effective = (r: AccessRequestRecord, now: number) =>
  (r.status === 'pending' || r.status === 'approved') && r.expiresAt <= now ? 'expired' : r.status;

export async function requestsPage(p: SignedInRequest, message?: Html): Promise<void> {
  const rows = await listAccessRequests(p.deps);
  const body = h`<h1>Access requests</h1><p class="hint">Made with <code>ghostgate request-link</code>. The requester collects the key on their link, once, after you approve.</p>${message ?? ''}
${
  rows.length === 0
    ? h`<p>No access requests.</p>`
    : h`<table><thead><tr><th scope="col">Requested</th><th scope="col">For</th><th scope="col">Asks for</th><th scope="col">Status</th><th scope="col">Link expires</th></tr></thead><tbody>${rows.map(
        (r) =>
          h`<tr><td>${fmtTime(r.createdAt)}</td><td><a href="${CONSOLE_PATH}/requests/${r.id}">${r.name}</a></td><td>${typeof r.spec.preset === 'string' ? `preset ${r.spec.preset}` : `${grantOf(r).scopes.length} scope(s)`}</td><td>${effective(r, p.now)}</td><td>${fmtTime(r.expiresAt)}</td></tr>`,
      )}</tbody></table>`
}`;
  sendHtml(p.res, 200, page('Access requests', 'requests', p.who, body));
}

export async function requestPage(p: SignedInRequest, id: string, message?: Html): Promise<void> {
  const r = await p.deps.store.admins.request(id);
  if (!r) {
    sendHtml(p.res, 404, page('No such request', 'requests', p.who, h`<h1>No such request</h1>`));
    return;
  }
  const g = grantOf(r);
  const status = effective(r, p.now);
  const body = h`<p><a href="${CONSOLE_PATH}/requests">← Access requests</a></p><h1>Access request: ${r.name}</h1>${message ?? ''}
<dl class="facts"><dt>Status</dt><dd>${status}</dd><dt>Requested</dt><dd>${fmtTime(r.createdAt)}</dd><dt>Link expires</dt><dd>${fmtTime(r.expiresAt)}</dd><dt>The key</dt><dd>${lifetime(r)}</dd>
${r.keyId ? h`<dt>Key made</dt><dd><a href="${CONSOLE_PATH}/keys/${r.keyId}">${r.keyId}</a></dd>` : ''}</dl>
<h2>What it asks for</h2>${escalationOf(g).fullAccess ? h`<p class="notice bad" role="alert">This grant would be ${describeEscalation(escalationOf(g))}: the key cannot be collected unless the scopes that make it so are unchecked.</p>` : ''}<ul>${describeGrant(g).map((l) => h`<li>${l}</li>`)}</ul><details><summary>Grant document</summary><pre>${JSON.stringify(g, null, 2)}</pre></details>
${
  status === 'pending'
    ? h`<h2>Decide</h2><form method="post" action="${CONSOLE_PATH}/requests/${r.id}/approve">${csrfField(p.who)}
<fieldset><legend>Scopes to grant (uncheck to narrow)</legend>${g.scopes.map((s) => h`<label class="inline"><input type="checkbox" name="scope" value="${s}" checked> ${s}</label>`)}</fieldset>
<div class="row"><button type="submit">Approve</button></div></form>${postButton(p.who, `${CONSOLE_PATH}/requests/${r.id}/deny`, 'Deny', 'quiet')}`
    : ''
}`;
  sendHtml(p.res, 200, page(`Access request ${r.name}`, 'requests', p.who, body));
}

export async function decideRequestPage(p: SignedInRequest, id: string, decision: 'approved' | 'denied'): Promise<void> {
  try {
    await decideAccessRequest(p.deps, id, decision, p.who.actor, p.now, decision === 'approved' ? p.form!.getAll('scope') : undefined);
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    return requestPage(p, id, h`<p class="notice bad" role="alert">${e.message}</p>`);
  }
  await recordAction(p, decision === 'approved' ? 'requests.approve' : 'requests.deny', id);
  redirect(p.res, `${CONSOLE_PATH}/requests/${id}`);
}

/** The requester's page: GET shows the request and its state; POST collects the key once it is approved. */
export async function requesterPage(p: PageRequest): Promise<void> {
  const token = (p.method === 'POST' ? p.form?.get('token') : p.url.searchParams.get('token')) ?? '';
  const r = await requestForToken(p.deps, token);
  if (!r) {
    sendHtml(p.res, 404, bare('No such request', h`<h1>No such access request</h1><p>Check the link you were given.</p>`));
    return;
  }
  if (p.method === 'POST') {
    // Collecting makes a key: its intent is durable first, so a key never exists without its record.
    const event = {
      requestId: randomUUID(),
      actor: { kind: 'account' as const, id: `request:${r.id}`, name: `requester of ${r.name}` },
      action: 'requests.collect',
      target: null,
      at: p.now,
      clientIp: p.ip,
    };
    if (!(await intentFirst(p, event))) return;
    try {
      const got = await collectAccessRequest(p.deps, token, p.now);
      await outcomeOf(p, { ...event, target: got.record.id });
      sendHtml(p.res, 201, bare('Your key', keyShownOnce(p, got.record, got.key, 'Your key for')));
      return;
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      await outcomeOf(p, { ...event, decision: 'deny', code: e.code === 'NOT_FOUND' ? 'ADMIN_NOT_FOUND' : 'ADMIN_INVALID' });
      sendHtml(
        p.res,
        409,
        bare('Not collected', h`<h1>The key cannot be collected</h1><p class="notice bad" role="alert">${e.message}</p>`),
      );
      return;
    }
  }
  const status = effective(r, p.now);
  const words: Record<string, Html> = {
    pending: h`<p class="notice" role="status">Waiting for an administrator of this site to approve it. Come back to this link later.</p>`,
    approved: h`<p class="notice" role="status">Approved. You can collect the key once; it is shown only then.</p><form method="post" action="${REQUEST_PATH}"><input type="hidden" name="token" value="${token}"><button type="submit">Collect the key</button></form>`,
    denied: h`<p class="notice bad" role="alert">An administrator denied this request.</p>`,
    collected: h`<p class="notice" role="status">The key was collected on ${fmtTime(r.collectedAt)}. It is not shown again.</p>`,
    expired: h`<p class="notice bad" role="alert">This request expired on ${fmtTime(r.expiresAt)}.</p>`,
  };
  sendHtml(
    p.res,
    200,
    bare(
      `Access request: ${r.name}`,
      h`<h1>Access request: ${r.name}</h1>${words[status] ?? ''}<h2>${status === 'approved' ? 'What the key may do' : 'What is asked for'}</h2><ul>${describeGrant(grantOf(r)).map((l) => h`<li>${l}</li>`)}</ul><p class="hint">The key: ${lifetime(r)}. This link works until ${fmtTime(r.expiresAt)}.</p>`,
    ),
  );
}

import { approvalChanges, decideApproval, listApprovals, type FieldChange } from '../../admin/approvals.js';
import { upstreamKey } from '../../admin/context.js';
import { safeText } from '../../admin/text.js';
import type { ApprovalRecord } from '../../store/store.js';
import { AdminError } from '../../admin/errors.js';
import { explainRequest } from '../../admin/explain.js';
import { CONSOLE_PATH } from '../../admin/links.js';
import { recordAction, type SignedInRequest } from '../context.js';
import { fmtTime, h, type Html } from '../html.js';
import { redirect, sendHtml } from '../http.js';
import { csrfField, page, postButton } from '../layout.js';

/**
 * The held call as it would be forwarded, and for an edit what it changes in Ghost's record now: what
 * `ghostgate approvals show` prints, beside the buttons, so nobody approves a one-line summary. Every
 * value through safeText (an agent's zero-width or bidirectional characters shown as escapes) and `h`.
 */
async function heldCall(p: SignedInRequest, a: ApprovalRecord): Promise<Html> {
  if (a.call === null) return h`<p class="hint">The call was held before the gateway kept it: only the line above is known.</p>`;
  let body = a.call.body ?? '(no body)';
  if (a.call.body !== null && a.call.bodyEncoding === 'utf8') {
    try {
      body = JSON.stringify(JSON.parse(a.call.body), null, 2);
    } catch {
      // not JSON: shown as it came
    }
  }
  let changes: FieldChange[] | undefined;
  let why: string | undefined;
  try {
    changes = await approvalChanges(p.deps.config, await upstreamKey(p.deps.config, p.deps.store, p.deps.master), a);
  } catch (e) {
    why = (e as Error).message;
  }
  const value = (v: unknown) => safeText(v === undefined ? '(not set)' : JSON.stringify(v).slice(0, 200));
  return h`<details open><summary>The call, as it would be forwarded</summary><pre class="mono">${safeText(`${a.call.method} ${a.call.pathAndQuery}`)}
${body.split('\n').map(safeText).join('\n')}</pre>${
    changes
      ? changes.length === 0
        ? h`<p>It changes nothing in Ghost’s record now.</p>`
        : h`<p>Against Ghost’s record now, it changes:</p><ul>${changes.map((c) => h`<li><code>${safeText(c.field)}</code>: ${value(c.before)} → ${value(c.after)}</li>`)}</ul>`
      : why !== undefined
        ? h`<p class="hint">What it changes could not be read: ${why}</p>`
        : ''
  }</details>`;
}

/** Calls a grant's `confirm` holds for a person (issue 17): approve lets the same call through once; deny closes it. */
export async function approvalsPage(p: SignedInRequest, message?: Html): Promise<void> {
  const status = p.url.searchParams.get('status') ?? 'pending';
  const rows = await listApprovals(p.deps, status === 'all' ? undefined : status).catch((e: unknown) => {
    if (e instanceof AdminError) return [];
    throw e;
  });
  const calls = new Map<string, Html>();
  for (const a of rows) if (a.status === 'pending') calls.set(a.id, await heldCall(p, a));
  const body = h`<h1>Approvals</h1><p class="hint">Calls a key’s grant holds until a person approves them. Approving lets that exact call by that key through once.</p>${message ?? ''}
<form method="get" action="${CONSOLE_PATH}/approvals" class="row"><label class="inline" for="status">Show</label><select id="status" name="status">${['pending', 'approved', 'denied', 'used', 'all'].map((s) => h`<option${s === status ? h` selected` : ''}>${s}</option>`)}</select><button class="quiet" type="submit">Show</button></form>
${
  rows.length === 0
    ? h`<p>No ${status === 'all' ? '' : status} approvals.</p>`
    : h`<table><thead><tr><th scope="col">Requested</th><th scope="col">Key</th><th scope="col">Call</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>${rows.map(
        (a) =>
          h`<tr><td>${fmtTime(a.createdAt)}</td><td><a href="${CONSOLE_PATH}/keys/${a.keyId}" class="mono">${a.keyId.slice(0, 8)}…</a></td><td>${safeText(a.summary)}${a.status === 'pending' ? calls.get(a.id) : ''}</td><td>${a.status}</td><td>${fmtTime(a.expiresAt)}</td><td>${
            a.status === 'pending'
              ? h`<div class="row">${postButton(p.who, `${CONSOLE_PATH}/approvals/${a.id}/approve`, 'Approve')}${postButton(p.who, `${CONSOLE_PATH}/approvals/${a.id}/deny`, 'Deny', 'quiet')}</div>`
              : ''
          }</td></tr>`,
      )}</tbody></table>`
}`;
  sendHtml(p.res, 200, page('Approvals', 'approvals', p.who, body));
}

export async function decideApprovalPage(p: SignedInRequest, id: string, decision: 'approved' | 'denied'): Promise<void> {
  try {
    await decideApproval(p.deps, id, decision, p.now);
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    return approvalsPage(p, h`<p class="notice bad" role="alert">${e.message}</p>`);
  }
  await recordAction(p, decision === 'approved' ? 'approvals.approve' : 'approvals.deny', id);
  redirect(p.res, `${CONSOLE_PATH}/approvals`);
}

/** "Try a request": the decision the gateway would make for a key, through the same explain service the CLI runs. */
export async function tryPage(p: SignedInRequest): Promise<void> {
  const f = p.method === 'POST' ? p.form! : p.url.searchParams;
  const keys = (await p.deps.store.keys.list()).filter((k) => k.status === 'active');
  const keyId = f.get('key') ?? '';
  const method = (f.get('method') ?? 'GET').toUpperCase();
  const path = f.get('path') ?? '/posts/';
  const bodyText = f.get('body') ?? '';
  let result: Html = h``;
  if (p.method === 'POST') {
    try {
      let body: unknown;
      if (bodyText.trim()) {
        try {
          body = JSON.parse(bodyText);
        } catch {
          throw new AdminError('INVALID', 'the body is not JSON');
        }
      }
      const out = await explainRequest(
        p.deps,
        { keyId, method, path, ...(body !== undefined ? { body } : {}), ...(f.get('ip') ? { ip: f.get('ip')! } : {}) },
        p.now,
      );
      const text = (v: unknown): string => (typeof v === 'string' ? v : '');
      const decision = text(out.decision);
      result = h`<h2>Decision</h2><p>${decision === 'allow' ? h`<span class="pill ok">allow</span>` : decision === 'deny' ? h`<span class="pill bad">deny</span>` : h`<span class="pill warn">${decision}</span>`} ${typeof out.code === 'string' ? h`<code>${out.code}</code>` : ''}</p>
${text(out.rule) || text(out.context) ? h`<p><strong>Rule:</strong> ${text(out.rule) || text(out.context)}</p>` : ''}${text(out.help) ? h`<p><strong>What would allow it:</strong> ${text(out.help)}</p>` : ''}
<details open><summary>Everything explain says</summary><pre>${JSON.stringify(out, null, 2)}</pre></details>`;
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      result = h`<p class="notice bad" role="alert">${e.message}</p>`;
    }
  }
  const body = h`<h1>Try a request</h1><p class="hint">What the gateway would answer for a key, and the rule that decides: the same decision function the gateway runs. Nothing is sent to Ghost.</p>
<form method="post" action="${CONSOLE_PATH}/try">${csrfField(p.who)}
<label for="t-key">Key</label><select id="t-key" name="key">${keys.map((k) => h`<option value="${k.id}"${k.id === keyId ? h` selected` : ''}>${k.name} (${k.id.slice(0, 8)}…)</option>`)}</select>
<div class="row"><div><label for="t-method">Method</label><select id="t-method" name="method">${['GET', 'POST', 'PUT', 'DELETE'].map((m) => h`<option${m === method ? h` selected` : ''}>${m}</option>`)}</select></div>
<div><label for="t-path">Path <span class="hint">(under /${p.deps.config.ghostPath}/api/admin)</span></label><input id="t-path" name="path" type="text" value="${path}" required></div></div>
<label for="t-body">Body <span class="hint">(JSON, optional)</span></label><textarea id="t-body" name="body">${bodyText}</textarea>
<label for="t-ip">Client address <span class="hint">(optional, for the IP allowlist)</span></label><input id="t-ip" name="ip" type="text" value="${f.get('ip') ?? ''}">
<p><button type="submit">Explain</button></p></form>${result}`;
  sendHtml(p.res, 200, page('Try a request', 'try', p.who, body));
}

import { isDeepStrictEqual } from 'node:util';
import { advise, queryAudit } from '../../admin/audit.js';
import { AdminError } from '../../admin/errors.js';
import { listKeys, revokeKey, rotateKey, showKey } from '../../admin/keys.js';
import { CONSOLE_PATH } from '../../admin/links.js';
import { describeEscalation, escalationOf } from '../../grants/escalation.js';
import type { Grant } from '../../grants/grant.js';
import { describeGrant } from '../../grants/parts.js';
import { PRESETS } from '../../grants/presets.js';
import type { KeyRecord } from '../../store/store.js';
import { dayChart, perDay } from '../chart.js';
import { recordAction, type SignedInRequest } from '../context.js';
import { fmtTime, h, type Html } from '../html.js';
import { redirect, sendHtml } from '../http.js';
import { page, postButton, sendFailure } from '../layout.js';
import { keyShownOnce } from './create.js';

/** The keys table, a key's page, and its rotate and revoke (each behind a confirmation). */
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export const presetOf = (g: Grant): string => Object.entries(PRESETS).find(([, p]) => isDeepStrictEqual(p.grant, g))?.[0] ?? 'custom';

const status = (k: KeyRecord, now: number): Html =>
  k.status === 'revoked'
    ? h`<span class="pill bad">revoked</span>`
    : k.expiresAt !== null && k.expiresAt <= now
      ? h`<span class="pill warn">expired</span>`
      : k.maxUses !== null && k.useCount >= k.maxUses
        ? h`<span class="pill warn">used up</span>`
        : h`<span class="pill ok">active</span>`;

export async function keysPage(p: SignedInRequest): Promise<void> {
  const q = (p.url.searchParams.get('q') ?? '').trim().toLowerCase();
  const keys = (await listKeys(p.deps)).reverse();
  const hooks = new Map<string, number>();
  for (const w of await p.deps.store.webhooks.list({ status: 'active' })) hooks.set(w.keyId, (hooks.get(w.keyId) ?? 0) + 1);
  const shown = q
    ? keys.filter((k) => `${k.name} ${k.id} ${presetOf(k.grant)} ${k.grant.scopes.join(' ')}`.toLowerCase().includes(q))
    : keys;
  const body = h`<div class="row"><h1>Keys</h1></div>
<form method="get" action="${CONSOLE_PATH}/keys" role="search" class="row"><label for="q" class="inline">Search</label><input id="q" name="q" type="search" value="${q}" placeholder="name, id, preset or scope"><button class="quiet" type="submit">Search</button><a class="btn" href="${CONSOLE_PATH}/keys/new">Create a key</a></form>
<p class="hint">${shown.length} of ${keys.length} key(s).</p>
<table><thead><tr><th scope="col">Name</th><th scope="col">Preset</th><th scope="col">Status</th><th scope="col">Last used</th><th scope="col">Uses</th><th scope="col">Expires</th><th scope="col">Webhooks owned</th></tr></thead><tbody>
${shown.map(
  (k) =>
    h`<tr><td><a href="${CONSOLE_PATH}/keys/${k.id}">${k.name}</a><br><span class="mono hint">${k.id}</span></td><td>${presetOf(k.grant)}</td><td>${status(k, p.now)}</td><td>${fmtTime(k.lastUsedAt)}</td><td>${k.maxUses === null ? k.useCount : `${k.useCount} of ${k.maxUses}`}</td><td>${fmtTime(k.expiresAt)}</td><td>${hooks.get(k.id) ?? 0}</td></tr>`,
)}
</tbody></table>`;
  sendHtml(p.res, 200, page('Keys', 'keys', p.who, body));
}

export async function keyPage(p: SignedInRequest, id: string): Promise<void> {
  let shown;
  try {
    shown = await showKey(p.deps, id, p.now);
  } catch (e) {
    if (e instanceof AdminError) {
      sendHtml(p.res, 404, page('No such key', 'keys', p.who, h`<h1>No such key</h1><p>${e.message}</p>`));
      return;
    }
    throw e;
  }
  const { record: k, uses, webhooks } = shown;
  const since = p.now - 13 * 86_400_000;
  const rows = p.deps.auditStore
    ? await queryAudit(p.deps.auditStore, { keyId: k.id, since: since - (since % 86_400_000), limit: 50_000, newest: true })
    : [];
  const last = rows
    .filter((r) => r.kind !== 'intent')
    .slice(-15)
    .reverse();
  const advice = p.deps.auditStore ? await advise(p.deps.store, p.deps.auditStore, k.id, p.now - 30 * 86_400_000) : undefined;
  const children = (await listKeys(p.deps)).filter((c) => c.parentId === k.id);
  const e = escalationOf(k.grant);
  const canNarrow =
    advice && advice.requests > 0 && (advice.unused.length > 0 || advice.narrowed_wildcards.length > 0) && advice.used.length > 0;
  const body = h`<p><a href="${CONSOLE_PATH}/keys">← Keys</a></p><h1>${k.name}</h1>
<dl class="facts"><dt>Key id</dt><dd class="mono">${k.id}</dd><dt>Status</dt><dd>${status(k, p.now)}</dd><dt>Preset</dt><dd>${presetOf(k.grant)}</dd>
<dt>Created</dt><dd>${fmtTime(k.createdAt)}</dd><dt>Expires</dt><dd>${fmtTime(k.expiresAt)}</dd><dt>Last used</dt><dd>${fmtTime(k.lastUsedAt)}</dd>
<dt>Uses</dt><dd>${uses.spent}${k.maxUses !== null ? ` of ${k.maxUses}` : ''}${uses.unknown ? `, ${uses.unknown} unknown` : ''}</dd>
<dt>Limits</dt><dd>${[k.limits.ipAllow ? `from ${k.limits.ipAllow.join(', ')}` : '', k.limits.rate ? `rate ${JSON.stringify(k.limits.rate)}` : '', k.limits.dailyQuota ? `${k.limits.dailyQuota} a day` : ''].filter(Boolean).join('; ') || 'none'}</dd>
${k.parentId ? h`<dt>Parent</dt><dd><a href="${CONSOLE_PATH}/keys/${k.parentId}">${k.parentId}</a></dd>` : ''}</dl>
<h2>What it may do</h2>${e.fullAccess ? h`<p class="notice bad">This key is ${describeEscalation(e)}.</p>` : ''}
<ul>${describeGrant(k.grant).map((line) => h`<li>${line}</li>`)}</ul>
<details><summary>Grant document</summary><pre>${JSON.stringify(k.grant, null, 2)}</pre></details>
<h2>Requests, last 14 days</h2>${p.deps.auditStore ? dayChart(perDay(rows, p.now, 14)) : h`<p class="hint">The audit trail is off.</p>`}
<h2>Last requests</h2>${
    last.length === 0
      ? h`<p class="hint">None yet.</p>`
      : h`<table><thead><tr><th scope="col">Time</th><th scope="col">Route</th><th scope="col">Decision</th><th scope="col">Code</th><th scope="col">Ghost</th></tr></thead><tbody>${last.map(
          (r) =>
            h`<tr><td>${fmtTime(r.at)}</td><td class="mono">${r.route}</td><td>${r.decision === 'deny' ? h`<span class="pill bad">deny</span>` : h`<span class="pill ok">${r.decision}</span>`}</td><td class="mono">${r.code ?? ''}</td><td>${r.status ?? ''}</td></tr>`,
        )}</tbody></table><p><a href="${CONSOLE_PATH}/audit?key=${k.id}">All of its audit records</a></p>`
  }
<h2>What advise suggests</h2>${
    !advice
      ? h`<p class="hint">The audit trail is off.</p>`
      : h`<p>In the last 30 days: ${advice.requests} request(s); used ${advice.used.join(', ') || 'nothing'}.${advice.unused.length ? h` Never used: <strong>${advice.unused.join(', ')}</strong>.` : ''}${advice.refused_for_missing_scope.length ? h` Refused for a missing scope: ${advice.refused_for_missing_scope.join(', ')}.` : ''}</p>
${canNarrow && k.status === 'active' ? h`<p><a class="btn quiet" href="${CONSOLE_PATH}/keys/new?from=${k.id}">Narrow it: a new key with only ${advice.used.join(', ')}</a> <span class="hint">(then revoke this one)</span></p>` : ''}`
  }
<h2>Child keys</h2>${children.length === 0 ? h`<p class="hint">None.</p>` : h`<ul>${children.map((c) => h`<li><a href="${CONSOLE_PATH}/keys/${c.id}">${c.name}</a> ${status(c, p.now)}</li>`)}</ul>`}
<h2>Webhooks</h2>${webhooks.length === 0 ? h`<p class="hint">None made through this key.</p>` : h`<ul>${webhooks.map((w) => h`<li><span class="mono">${str(w.event)}</span> → ${str(w.target_url)} (${str(w.status)})</li>`)}</ul>`}
${k.status === 'active' ? h`<h2>Rotate or revoke</h2><div class="row"><a class="btn quiet" href="${CONSOLE_PATH}/keys/${k.id}/rotate">Rotate…</a><a class="btn danger" href="${CONSOLE_PATH}/keys/${k.id}/revoke">Revoke…</a></div>` : ''}`;
  sendHtml(p.res, 200, page(k.name, 'keys', p.who, body));
}

/** GET: the confirmation; POST: revoke (with children and their webhooks). */
export async function revokePage(p: SignedInRequest, id: string): Promise<void> {
  const k = await p.deps.store.keys.get(id);
  if (!k) {
    sendFailure(p.res, 404, p.who, 'keys', 'No such key', '');
    return;
  }
  if (p.method === 'GET') {
    const children = (await listKeys(p.deps)).filter((c) => c.parentId === id && c.status === 'active');
    sendHtml(
      p.res,
      200,
      page(
        `Revoke ${k.name}`,
        'keys',
        p.who,
        h`<h1>Revoke “${k.name}”?</h1><p>The next request with this key is refused${children.length ? h`, and so are its ${children.length} child key(s)` : ''}. Its webhooks stop and are removed from Ghost. This cannot be undone.</p>
<div class="row">${postButton(p.who, `${CONSOLE_PATH}/keys/${id}/revoke`, 'Revoke this key', 'danger')}<a class="btn quiet" href="${CONSOLE_PATH}/keys/${id}">Cancel</a></div>`,
      ),
    );
    return;
  }
  const r = await revokeKey(p.deps, id, p.deps.ghost, p.now);
  for (const rid of r.revoked) await recordAction(p, 'keys.revoke', rid);
  redirect(p.res, `${CONSOLE_PATH}/keys/${id}`);
}

/** GET: the confirmation with the grace period; POST: a new secret, shown once. */
export async function rotatePage(p: SignedInRequest, id: string): Promise<void> {
  const k = await p.deps.store.keys.get(id);
  if (!k) {
    sendFailure(p.res, 404, p.who, 'keys', 'No such key', '');
    return;
  }
  if (p.method === 'GET') {
    sendHtml(
      p.res,
      200,
      page(
        `Rotate ${k.name}`,
        'keys',
        p.who,
        h`<h1>Rotate “${k.name}”?</h1><p>The key gets a new secret with the same grant; the old secret keeps working for the grace period.</p>
${postButton(p.who, `${CONSOLE_PATH}/keys/${id}/rotate`, 'Rotate', '', h`<label for="grace" class="inline">Grace period</label><select id="grace" name="grace"><option value="0">none</option><option value="3600000">1 hour</option><option value="86400000" selected>24 hours</option><option value="604800000">7 days</option></select>`)}<p><a href="${CONSOLE_PATH}/keys/${id}">Cancel</a></p>`,
      ),
    );
    return;
  }
  const grace = Number(p.form!.get('grace') ?? 'x');
  try {
    const { record, key } = await rotateKey(p.deps, id, grace, p.now);
    await recordAction(p, 'keys.rotate', id);
    sendHtml(p.res, 200, page(`Rotated ${record.name}`, 'keys', p.who, keyShownOnce(p, record, key, 'Rotated')));
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    sendHtml(p.res, 400, page('Not rotated', 'keys', p.who, h`<h1>Not rotated</h1><p class="notice bad" role="alert">${e.message}</p>`));
  }
}

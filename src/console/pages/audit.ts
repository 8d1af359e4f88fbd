import { queryAudit, verifyAudit } from '../../admin/audit.js';
import { auditKey } from '../../admin/context.js';
import { AdminError } from '../../admin/errors.js';
import { CONSOLE_PATH } from '../../admin/links.js';
import { AUDIT_DECISIONS, type AuditRow } from '../../store/audit.js';
import { recordAction, type SignedInRequest } from '../context.js';
import { fmtTime, h } from '../html.js';
import { sendDownload, sendHtml } from '../http.js';
import { page } from '../layout.js';

/** The audit trail: a filterable table, the chain's verify status, and an export of what the filter selects. */
const SINCE: readonly [string, string, number][] = [
  ['1h', 'last hour', 3_600_000],
  ['24h', 'last 24 hours', 86_400_000],
  ['7d', 'last 7 days', 7 * 86_400_000],
  ['30d', 'last 30 days', 30 * 86_400_000],
  ['all', 'all time', 0],
];

const actorOf = (r: AuditRow): string => {
  if (!r.detail) return '';
  try {
    const d = JSON.parse(r.detail) as { via?: string; actor?: { name?: string } };
    return d.via === 'admin' ? (d.actor?.name ?? '') : (d.via ?? '');
  } catch {
    return '';
  }
};

function filterOf(p: SignedInRequest) {
  const q = p.url.searchParams;
  const since = SINCE.find(([v]) => v === (q.get('since') ?? '24h')) ?? SINCE[1]!;
  return {
    key: q.get('key') ?? '',
    decision: q.get('decision') ?? '',
    code: q.get('code') ?? '',
    route: q.get('route') ?? '',
    since,
  };
}

async function rowsFor(p: SignedInRequest) {
  const f = filterOf(p);
  const rows = await queryAudit(p.deps.auditStore!, {
    ...(f.key ? { keyId: f.key } : {}),
    ...(f.decision ? { decision: f.decision } : {}),
    ...(f.code ? { code: f.code } : {}),
    ...(f.since[2] ? { since: p.now - f.since[2] } : {}),
    ...(f.route ? { route: f.route } : {}),
    // The newest records that match: a flood of refusals cannot push the latest actions off the page.
    newest: true,
    limit: 5000,
  });
  return { f, rows: rows.reverse() };
}

export async function auditPage(p: SignedInRequest): Promise<void> {
  if (!p.deps.auditStore) {
    sendHtml(p.res, 200, page('Audit', 'audit', p.who, h`<h1>Audit</h1><p>The audit trail is off in this configuration.</p>`));
    return;
  }
  let data;
  try {
    data = await rowsFor(p);
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    sendHtml(p.res, 400, page('Audit', 'audit', p.who, h`<h1>Audit</h1><p class="notice bad" role="alert">${e.message}</p>`));
    return;
  }
  const { f, rows } = data;
  const v = await verifyAudit({ audit: p.deps.auditStore, key: auditKey(p.deps.master), store: p.deps.store });
  const qs = p.url.search;
  const body = h`<h1>Audit</h1>
<p>${v.ok ? h`<span class="pill ok">chain verified</span> ${v.rows} record(s); no record edited, deleted or reordered.` : h`<span class="pill bad">verification failed</span> ${v.problems.slice(0, 3).join('; ')}`}</p>
<form method="get" action="${CONSOLE_PATH}/audit" class="row" role="search">
<label class="inline" for="f-key">Key id</label><input id="f-key" name="key" type="text" value="${f.key}" size="26">
<label class="inline" for="f-route">Route</label><input id="f-route" name="route" type="text" value="${f.route}">
<label class="inline" for="f-decision">Decision</label><select id="f-decision" name="decision"><option value="">any</option>${AUDIT_DECISIONS.map((d) => h`<option${d === f.decision ? h` selected` : ''}>${d}</option>`)}</select>
<label class="inline" for="f-code">Code</label><input id="f-code" name="code" type="text" value="${f.code}" size="18">
<label class="inline" for="f-since">Time</label><select id="f-since" name="since">${SINCE.map(([val, label]) => h`<option value="${val}"${val === f.since[0] ? h` selected` : ''}>${label}</option>`)}</select>
<button class="quiet" type="submit">Filter</button><a class="btn quiet" href="${CONSOLE_PATH}/audit/export${qs}">Export (JSON lines)</a></form>
<p class="hint">${rows.length} record(s), newest first${rows.length >= 5000 ? ' (the newest 5000 that match; the export holds the same; `ghostgate audit export` holds all)' : ''}.</p>
<table><thead><tr><th scope="col">Time</th><th scope="col">Key</th><th scope="col">Route</th><th scope="col">Decision</th><th scope="col">Code</th><th scope="col">Ghost</th><th scope="col">By</th></tr></thead><tbody>
${rows
  .slice(0, 500)
  .map(
    (r) =>
      h`<tr><td>${fmtTime(r.at)}</td><td>${r.keyId ? h`<a href="${CONSOLE_PATH}/keys/${r.keyId}">${r.keyName ?? r.keyId}</a>` : ''}</td><td class="mono">${r.route}${r.kind === 'intent' ? h` <span class="pill">intent</span>` : ''}</td><td>${r.decision === 'deny' ? h`<span class="pill bad">deny</span>` : h`<span class="pill ok">${r.decision}</span>`}</td><td class="mono">${r.code ?? ''}</td><td>${r.status ?? ''}</td><td>${actorOf(r)}</td></tr>`,
  )}</tbody></table>`;
  sendHtml(p.res, 200, page('Audit', 'audit', p.who, body));
}

export async function auditExport(p: SignedInRequest): Promise<void> {
  if (!p.deps.auditStore) {
    sendHtml(p.res, 404, page('Audit', 'audit', p.who, h`<h1>The audit trail is off</h1>`));
    return;
  }
  const { rows } = await rowsFor(p);
  await recordAction(p, 'audit.export', null);
  sendDownload(p.res, 'ghostgate-audit.jsonl', 'application/x-ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

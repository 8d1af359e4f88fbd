import type { AuditRow } from '../store/audit.js';
import { h, type Html } from './html.js';

/**
 * Requests and refusals per UTC day as a server-rendered SVG bar chart (no
 * chart library, no script): an intent is not counted (its outcome is).
 */
export interface DayCount {
  readonly day: string;
  readonly requests: number;
  readonly refusals: number;
}

export function perDay(rows: readonly AuditRow[], now: number, days: number): DayCount[] {
  const out: DayCount[] = [];
  const index = new Map<string, { requests: number; refusals: number }>();
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(now - i * 86_400_000).toISOString().slice(0, 10);
    const c = { requests: 0, refusals: 0 };
    index.set(day, c);
    out.push({ day, ...c });
  }
  for (const r of rows) {
    if (r.kind === 'intent') continue;
    const c = index.get(new Date(r.at).toISOString().slice(0, 10));
    if (!c) continue;
    if (r.decision === 'deny') c.refusals++;
    else c.requests++;
  }
  return out.map((d) => ({ day: d.day, ...index.get(d.day)! }));
}

export function dayChart(data: readonly DayCount[]): Html {
  const W = 720;
  const H = 180;
  const pad = { l: 36, b: 28, t: 12 };
  const max = Math.max(1, ...data.map((d) => Math.max(d.requests, d.refusals)));
  const slot = (W - pad.l) / Math.max(1, data.length);
  const bar = Math.max(2, slot / 2 - 3);
  const y = (v: number) => H - pad.b - (v / max) * (H - pad.b - pad.t);
  const total = data.reduce((a, d) => [a[0]! + d.requests, a[1]! + d.refusals], [0, 0]);
  return h`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc" width="100%">
<title id="chart-title">Requests and refusals per day</title><desc id="chart-desc">${data.length} days: ${total[0]} requests allowed, ${total[1]} refused.</desc>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W}" y2="${H - pad.b}" stroke="#c9d0d6"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" text-anchor="end">${max}</text><text x="${pad.l - 6}" y="${H - pad.b}" text-anchor="end">0</text>
${data.map((d, i) => {
  const x = pad.l + i * slot + 2;
  return h`<rect x="${x}" y="${y(d.requests)}" width="${bar}" height="${H - pad.b - y(d.requests)}" fill="#15171a"><title>${d.day}: ${d.requests} requests</title></rect><rect x="${x + bar + 2}" y="${y(d.refusals)}" width="${bar}" height="${H - pad.b - y(d.refusals)}" fill="#b42318"><title>${d.day}: ${d.refusals} refusals</title></rect>${i % Math.ceil(data.length / 7) === 0 ? h`<text x="${x}" y="${H - 8}">${d.day.slice(5)}</text>` : ''}`;
})}
</svg><figcaption class="hint">Dark: requests allowed (or failed at Ghost); red: refused. Per UTC day, from the audit trail.</figcaption></figure>`;
}

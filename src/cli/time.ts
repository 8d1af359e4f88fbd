import { CliError } from './output.js';

/** `30d`, `24h`, `15m`, `90s`, `2w` -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new CliError(`"${text}" is not a duration like 30d, 24h, 15m, 90s or 2w`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** A point in time: a duration from now (`30d`) or an ISO 8601 time. */
export function parseWhen(text: string, now: number): number {
  if (/^\d+(s|m|h|d|w)$/.test(text.trim())) return now + parseDuration(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new CliError(`"${text}" is neither a duration (30d) nor an ISO 8601 time`);
  // Date.parse rolls a day the month does not have over into the next month (2027-02-30 is 2 March): refused.
  const ymd = /^\s*(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (ymd && new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]))).getUTCDate() !== Number(ymd[3]))
    throw new CliError(`"${text}" names a day its month does not have`);
  return t;
}

/** `10/s,100/m,burst=20` -> rate limits. */
export function parseRate(text: string): { perSecond?: number; perMinute?: number; burst?: number } {
  const out: { perSecond?: number; perMinute?: number; burst?: number } = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)\/(s|m)$/.exec(part) ?? /^(burst)=(\d+)$/.exec(part);
    if (!m) throw new CliError(`"${part}" is not N/s, N/m or burst=N`);
    if (m[1] === 'burst') out.burst = Number(m[2]);
    else if (m[2] === 's') out.perSecond = Number(m[1]);
    else out.perMinute = Number(m[1]);
  }
  return out;
}

/** A `since` of the query (QuerySince: `30d`, `24h`, `15m`, `45s` back from now, or an ISO time) in milliseconds. */
export function sinceMs(text: string, now: number): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) return Date.parse(text);
  return now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

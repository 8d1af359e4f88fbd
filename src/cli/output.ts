import { safeText } from '../admin/text.js';
import { isoSeconds } from '../keys/key-json.js';

/** Small output helpers shared by the commands: a plain table, JSON, errors. */
export { safeText };

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function table(cells: readonly (readonly string[])[], header: readonly string[]): string {
  const rows = cells.map((r) => r.map(safeText));
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** One value as a table cell or a `name value` line: '-' for nothing, JSON for lists and objects. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return '-'; // a function or symbol
}

export function fmtTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : isoSeconds(ms);
}

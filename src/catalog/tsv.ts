/** Rows of a catalog data file: tab-separated, `#` comments and blank lines skipped, the first row a header. */
export function tsvRows(tsv: string): { cells: string[]; line: number }[] {
  const out: { cells: string[]; line: number }[] = [];
  let header = false;
  tsv.split('\n').forEach((text, i) => {
    if (text.trim() === '' || text.startsWith('#')) return;
    if (!header) {
      header = true;
      return;
    }
    out.push({ cells: text.split('\t'), line: i + 1 });
  });
  return out;
}

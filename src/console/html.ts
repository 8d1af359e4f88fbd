import { safeText } from '../admin/text.js';

/**
 * HTML built by a tagged template that escapes every value it is given unless
 * it is already Html: pages are assembled from strings without a template
 * engine, and nothing a user or Ghost wrote reaches the page unescaped.
 * Characters that print as nothing or reorder text (zero-width, bidirectional
 * controls: admin/text.ts) are shown as escapes, so a key named
 * `zapier\u200b-prod` cannot pass for `zapier-prod`; line breaks and tabs stay.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

const render = (v: Value): string => {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return (v as readonly Value[]).map(render).join('');
  return esc(String(v).replace(/[^\n\t]+/g, safeText));
};

export function h(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

export const raw = (s: string): Html => new Html(s);

export const fmtTime = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

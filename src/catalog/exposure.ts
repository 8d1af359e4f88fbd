import type { RouteEntry } from './catalog.js';
import { tsvRows } from './tsv.js';

/**
 * What a route returns or changes beyond its own resource, as data
 * (src/catalog/data/ghost-6.65-exposure.tsv, read from Ghost's controllers,
 * serializers and models). The rule (authorize.ts exposureStep): posts,
 * pages and members data need the key's read scope of that resource, and a
 * key limited on that resource may use the route only when it names one
 * record the gateway can check.
 */
export type PostType = 'posts' | 'pages';
export type ExposedType = 'posts' | 'pages' | 'members';
const TYPES: readonly ExposedType[] = ['posts', 'pages', 'members'];

export type Via = { kind: 'always' } | { kind: 'record'; param: string } | { kind: 'include'; values: readonly string[] };

export interface ExposureRow {
  readonly exposes: readonly ExposedType[];
  readonly via: Via;
  readonly note: string;
}

export function parseExposure(tsv: string, routes: readonly RouteEntry[]): Map<RouteEntry, ExposureRow[]> {
  const byKey = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  const out = new Map<RouteEntry, ExposureRow[]>();
  for (const { cells, line } of tsvRows(tsv)) {
    const [method, path, exposes, via, note] = cells;
    const where = `exposure line ${line}`;
    // Fail closed: a row naming a route the catalog lacks, or an unknown type, stops the start-up.
    // Paths as the catalog keeps them: without a trailing slash.
    const route = byKey.get(`${method} ${(path ?? '').replace(/\/$/, '')}`);
    if (!route) throw new Error(`${where}: ${method} ${path} is not in the catalog`);
    const types = (exposes ?? '').split(',');
    if (types.some((t) => !TYPES.includes(t as ExposedType)))
      throw new Error(`${where}: exposes "${exposes}" is not a list of ${TYPES.join(', ')}`);
    let v: Via;
    if (via === 'always') v = { kind: 'always' };
    else if (via?.startsWith('record:') && route.segments.includes(`:${via.slice(7)}`)) v = { kind: 'record', param: via.slice(7) };
    else if (via?.startsWith('include:')) v = { kind: 'include', values: via.slice(8).split('|') };
    else throw new Error(`${where}: via "${via}" is not always, record:<a path parameter> or include:<values>`);
    const rows = out.get(route) ?? [];
    rows.push({ exposes: types as ExposedType[], via: v, note: note ?? '' });
    out.set(route, rows);
  }
  return out;
}

const NONE: readonly ExposedType[] = [];

/** The types a row exposes for this request (`include` decides for include rows; Ghost lower-cases include values). */
export function exposedTypes(row: ExposureRow, include: string | undefined): readonly ExposedType[] {
  if (row.via.kind !== 'include') return row.exposes;
  const asked = (include ?? '').split(',').map((s) => s.trim().toLowerCase());
  return row.via.values.some((v) => asked.includes(v)) ? row.exposes : NONE;
}

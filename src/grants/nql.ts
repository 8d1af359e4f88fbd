import nqlLang from '@tryghost/nql-lang';
import nql from '@tryghost/nql';

/**
 * Filters in Ghost's NQL, handled as syntax trees, never as strings glued
 * together. A key's constraint is ANDed to the client's filter as trees:
 *   parse(client) -> A;  {$and: [A, C]} -> serialise -> parse again == {$and: [A, C]}?
 * The last step proves that what Ghost will parse is exactly the AND that was
 * checked; any filter the serialiser cannot reproduce is refused.
 */
export type NqlNode = Record<string, unknown>;

export class FilterError extends Error {
  override name = 'FilterError';
}

export function parseFilter(filter: string): NqlNode {
  try {
    return nqlLang.parse(filter) as NqlNode;
  } catch (e) {
    throw new FilterError(`the filter does not parse as NQL: ${(e as Error).message.split('\n')[0]}`);
  }
}

const OPS: Record<string, string> = { $ne: '-', $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

function literal(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') {
    // NQL unescapes only \' inside quotes; a backslash has no faithful spelling.
    if (v.includes('\\')) throw new FilterError('backslashes in filter values are not supported');
    return `'${v.replace(/'/g, "\\'")}'`;
  }
  throw new FilterError(`unsupported filter value ${JSON.stringify(v)}`);
}

function regexLiteral(re: RegExp): string {
  if (!(re instanceof RegExp) || re.flags !== 'i') throw new FilterError('unsupported regular expression in filter');
  let src = re.source;
  let op = '~';
  if (src.startsWith('^')) {
    op = '~^';
    src = src.slice(1);
  } else if (src.endsWith('$') && !src.endsWith('\\$')) {
    op = '~$';
    src = src.slice(0, -1);
  }
  return `${op}${literal(src.replace(/\\(.)/g, '$1'))}`;
}

export function serializeFilter(node: NqlNode): string {
  const keys = Object.keys(node);
  if (keys.length !== 1) throw new FilterError('unsupported filter shape');
  const key = keys[0]!;
  const value = node[key];
  if (key === '$and' || key === '$or') {
    if (!Array.isArray(value) || value.length === 0) throw new FilterError('unsupported filter shape');
    return value.map((child: NqlNode) => (isCompound(child) ? `(${serializeFilter(child)})` : serializeFilter(child))).join(key === '$and' ? '+' : ',');
  }
  if (key.startsWith('$') || !/^[a-zA-Z_][a-zA-Z0-9_.]*$/.test(key)) throw new FilterError(`unsupported filter field ${key}`);
  if (value === null || typeof value !== 'object') return `${key}:${literal(value)}`;
  const ops = Object.keys(value as object);
  if (ops.length !== 1) throw new FilterError('unsupported filter shape');
  const op = ops[0]!;
  const arg = (value as Record<string, unknown>)[op];
  if (op in OPS) return `${key}:${OPS[op]}${literal(arg)}`;
  if (op === '$in' || op === '$nin') {
    if (!Array.isArray(arg) || arg.length === 0) throw new FilterError('unsupported filter list');
    return `${key}:${op === '$nin' ? '-' : ''}[${arg.map(literal).join(',')}]`;
  }
  if (op === '$regex') return `${key}:${regexLiteral(arg as RegExp)}`;
  throw new FilterError(`unsupported filter operator ${op}`);
}

function isCompound(n: NqlNode): boolean {
  return '$and' in n || '$or' in n;
}

export function sameFilter(a: unknown, b: unknown): boolean {
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameFilter(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => sameFilter((a as NqlNode)[k], (b as NqlNode)[k]));
  }
  return a === b;
}

// Same client filter and same constraint give the same forwarded filter: remember the proof
// (NQL parsing is the costly part, measured in docs/benchmarks.md). Refusals are not cached.
const proven = new Map<string, string>();

/** The filter to forward: the client's filter (if any) AND the constraint, proven to round-trip. */
export function constrainFilter(clientFilter: string | undefined, constraint: NqlNode): string {
  const key = `${clientFilter ?? ''}\u0000${JSON.stringify(constraint)}`;
  const hit = proven.get(key);
  if (hit !== undefined) return hit;
  const text = proveFilter(clientFilter, constraint);
  if (proven.size >= 2000) proven.clear();
  proven.set(key, text);
  return text;
}

function proveFilter(clientFilter: string | undefined, constraint: NqlNode): string {
  const combined = clientFilter === undefined || clientFilter.trim() === '' ? constraint : { $and: [parseFilter(clientFilter), constraint] };
  const text = serializeFilter(combined);
  if (!sameFilter(parseFilter(text), combined)) throw new FilterError('the filter cannot be combined with this key’s constraint faithfully');
  return text;
}

/** In-memory evaluation with Ghost's own matcher (used by tests and the safety net's reference). */
export function matchesFilter(filter: string, record: object, expansions?: { key: string; replacement: string }[]): boolean {
  return nql(filter, expansions ? { expansions } : {}).queryJSON(record) as boolean;
}

import type { Grant } from './grant.js';

/**
 * Response redaction: named fields removed from every object of a type,
 * wherever it appears (a user is also a post's `authors[]` and
 * `primary_author`; a member is also a comment's `member`).
 */
const TYPE_OF_KEY: Record<string, string> = {
  users: 'users',
  user: 'users',
  authors: 'users',
  primary_author: 'users',
  members: 'members',
  member: 'members',
  posts: 'posts',
  post: 'posts',
  pages: 'pages',
  page: 'pages',
  tags: 'tags',
  primary_tag: 'tags',
  newsletters: 'newsletters',
  settings: 'settings',
};

export type Redactions = ReadonlyMap<string, ReadonlySet<string>>;

export function redactionsOf(grant: Grant): Redactions | undefined {
  const r = grant.redact;
  if (!r || Object.keys(r).length === 0) return undefined;
  return new Map(Object.entries(r).map(([type, fields]) => [type, new Set(fields)]));
}

/** Removes redacted fields in place; returns how many values were removed. */
export function redact(value: unknown, rules: Redactions, type?: string): number {
  let removed = 0;
  if (Array.isArray(value)) {
    for (const v of value) removed += redact(v, rules, type);
    return removed;
  }
  if (!value || typeof value !== 'object') return 0;
  const obj = value as Record<string, unknown>;
  const fields = type ? rules.get(type) : undefined;
  if (type === 'settings' && fields) {
    // Settings are {key, value} rows: redact by key.
    if (typeof obj.key === 'string' && fields.has(obj.key)) {
      obj.value = null;
      removed++;
    }
  } else if (fields) {
    for (const f of fields) {
      if (f in obj) {
        delete obj[f];
        removed++;
      }
    }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object') removed += redact(v, rules, TYPE_OF_KEY[k]);
  }
  return removed;
}

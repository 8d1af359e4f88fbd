import type { RouteEntry } from '../catalog/catalog.js';
import type { Constraint } from './constraints.js';
import type { FieldRule } from './grant.js';

/**
 * Body checks for add, edit and bulk routes: field rules (may not set or
 * change a field, field allowlist, the statuses a key may set) and record
 * constraints on the record as it will be after the write.
 * Everything here is pure: the current record, when needed, is handed in.
 */
type Json = Record<string, unknown>;
export type BodyVerdict = { ok: true } | { ok: false; code: 'FIELD_REFUSED' | 'BODY_OUTSIDE_GRANT' | 'BODY_INVALID'; field?: string; why: string };

/** Ghost's own slugify for tag names is richer; this covers names a constraint can name (ASCII). */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Slugs of a body's tags/authors/labels list; `undefined` entries are items the gateway cannot identify. */
function refSlugs(list: unknown, current: unknown): (string | undefined)[] | 'invalid' {
  if (!Array.isArray(list)) return 'invalid';
  const cur = Array.isArray(current) ? (current as Json[]) : [];
  return list.map((item) => {
    if (typeof item === 'string') return slugify(item);
    if (!item || typeof item !== 'object') return undefined;
    const o = item as Json;
    if (typeof o.slug === 'string') return o.slug;
    if (typeof o.id === 'string') {
      const known = cur.find((c) => c.id === o.id);
      return known && typeof known.slug === 'string' ? known.slug : undefined;
    }
    if (typeof o.name === 'string') return slugify(o.name);
    return undefined;
  });
}

function sameValue(field: string, a: unknown, b: unknown): boolean {
  if (field === 'tags' || field === 'authors' || field === 'labels' || field === 'newsletters' || field === 'tiers') {
    const sa = refSlugs(a, b);
    const sb = refSlugs(b, b);
    if (sa === 'invalid' || sb === 'invalid' || sa.includes(undefined)) return false;
    return sa.length === sb.length && sa.every((s) => sb.includes(s));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

const ALWAYS_ALLOWED = new Set(['id', 'updated_at']);

export function checkFields(rule: FieldRule | undefined, body: Json, current: Json | undefined): BodyVerdict {
  if (!rule) return { ok: true };
  for (const field of Object.keys(body)) {
    if (rule.allow && !ALWAYS_ALLOWED.has(field) && !rule.allow.includes(field)) {
      return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may only send the fields ${rule.allow.join(', ')}` };
    }
    if (rule.deny?.includes(field) && (current === undefined || !sameValue(field, body[field], current[field]))) {
      return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may not ${current === undefined ? 'set' : 'change'} ${field}` };
    }
  }
  if (rule.status) {
    const next = 'status' in body ? body.status : current === undefined ? 'draft' : current.status;
    const unchanged = current !== undefined && next === current.status;
    if (!unchanged && !rule.status.includes(next as never)) {
      return { ok: false, code: 'FIELD_REFUSED', field: 'status', why: `this key may only set status ${rule.status.join(' or ')}, not ${String(next)}` };
    }
  }
  return { ok: true };
}

/** Would the record, after this write, still be inside the constraint? */
export function checkBodyConstraint(c: Constraint | undefined, body: Json, current: Json | undefined, isAdd: boolean): BodyVerdict {
  if (!c) return { ok: true };
  const outside = (why: string, field: string): BodyVerdict => ({ ok: false, code: 'BODY_OUTSIDE_GRANT', field, why });
  const listRule = (field: 'tags' | 'authors' | 'labels', allowed: readonly string[] | undefined): BodyVerdict => {
    if (!allowed) return { ok: true };
    if (!(field in body)) return isAdd ? outside(`a new record must carry ${field} ${allowed.join(' or ')}`, field) : { ok: true };
    const slugs = refSlugs(body[field], current?.[field]);
    if (slugs === 'invalid') return { ok: false, code: 'BODY_INVALID', field, why: `${field} must be a list` };
    if (!slugs.some((s) => s !== undefined && allowed.includes(s))) return outside(`the record must keep ${field} ${allowed.join(' or ')}`, field);
    return { ok: true };
  };
  const valueRule = (field: 'status' | 'visibility', allowed: readonly string[] | undefined, dflt: string): BodyVerdict => {
    if (!allowed) return { ok: true };
    const next = field in body ? body[field] : current !== undefined ? current[field] : dflt;
    return allowed.includes(String(next)) ? { ok: true } : outside(`${field} must stay ${allowed.join(' or ')}`, field);
  };
  if (c.kind === 'post') {
    for (const v of [listRule('tags', c.c.tags), listRule('authors', c.c.authors), valueRule('status', c.c.status, 'draft'), valueRule('visibility', c.c.visibility, 'public')]) {
      if (!v.ok) return v;
    }
    return { ok: true };
  }
  return listRule('labels', c.c.labels);
}

/**
 * Ghost's bulk edit actions and the field each changes
 * (ghost/core/core/server/services/posts/posts-service.js bulkEdit;
 * members-api/repositories/member-repository.js bulkEdit). Any other action is refused.
 */
const BULK_ACTION_FIELD: Record<string, string> = {
  feature: 'featured',
  unfeature: 'featured',
  access: 'visibility',
  addTag: 'tags',
  unpublish: 'status',
  unschedule: 'status',
  addLabel: 'labels',
  removeLabel: 'labels',
  unsubscribe: 'newsletters',
};

export function checkBulkEdit(rule: FieldRule | undefined, c: Constraint | undefined, body: Json): BodyVerdict {
  const bulk = body.bulk as Json | undefined;
  const action = bulk && typeof bulk.action === 'string' ? bulk.action : undefined;
  if (!action) return { ok: false, code: 'BODY_INVALID', why: 'a bulk edit needs {"bulk": {"action": ...}}' };
  const field = BULK_ACTION_FIELD[action];
  if (!field) return { ok: false, code: 'FIELD_REFUSED', field: action, why: `the bulk action ${action} is not known to the gateway` };
  if (rule?.deny?.includes(field)) return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may not change ${field} (bulk ${action})` };
  if (rule?.allow && !rule.allow.includes(field)) return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may only change ${rule.allow.join(', ')}` };
  if (field === 'status' && rule?.status && !rule.status.includes('draft')) return { ok: false, code: 'FIELD_REFUSED', field, why: 'this key may not change status' };
  if (c?.kind === 'post' && ((action === 'access' && c.c.visibility) || ((action === 'unpublish' || action === 'unschedule') && c.c.status && !c.c.status.includes('draft')))) {
    return { ok: false, code: 'BODY_OUTSIDE_GRANT', field, why: `bulk ${action} could move records outside the key's constraint` };
  }
  if (c?.kind === 'member' && action === 'removeLabel' && c.c.labels) return { ok: false, code: 'BODY_OUTSIDE_GRANT', field, why: `bulk ${action} could move members outside the key's constraint` };
  return { ok: true };
}

/** Query parameters a field rule denies (e.g. `newsletter`, `email_segment`: they make Ghost send email). */
export function checkQueryFields(rule: FieldRule | undefined, query: ReadonlyMap<string, string>): BodyVerdict {
  for (const k of query.keys()) {
    if (rule?.deny?.includes(k)) return { ok: false, code: 'FIELD_REFUSED', field: k, why: `this key may not use the ${k} parameter` };
  }
  return { ok: true };
}

export function isWriteWithBody(route: RouteEntry): boolean {
  return (route.method === 'POST' || route.method === 'PUT') && !route.flags.has('upload');
}

import type { RouteEntry } from '../catalog/catalog.js';
import { anchorIds, anchorSlug } from './anchors.js';
import type { Constraint } from './constraints.js';
import { isSubset, type Anchor, type FieldRule, type Grant, type GrantPart } from './grant.js';

/**
 * Body checks for add, edit and bulk routes: field rules (may not set or
 * change a field, field allowlist, the statuses a key may set) and record
 * constraints on the record as it will be after the write.
 * Everything here is pure: the current record, when needed, is handed in.
 */
type Json = Record<string, unknown>;
export type BodyVerdict =
  | { ok: true }
  | { ok: false; code: 'FIELD_REFUSED' | 'BODY_OUTSIDE_GRANT' | 'BODY_INVALID' | 'SCOPE_MISSING'; field?: string; why: string };

/**
 * What a body's relation references resolve to in Ghost (src/grants/relations.ts), per field:
 * the ids of the existing records, and whether Ghost would also create or change related records.
 */
export type RelationFacts = ReadonlyMap<string, { readonly ids: readonly string[]; readonly changes: boolean }>;

const RELATION_FIELDS = new Set(['tags', 'authors', 'labels']);
const idsOf = (list: readonly unknown[]): string[] =>
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an object id becomes a text no anchor matches
  list.map((x) => (x && typeof x === 'object' ? String((x as Json).id ?? '') : ''));

/** Would writing `value` to `field` leave the record's current value as it is? */
function sameValue(field: string, value: unknown, current: unknown, relations: RelationFacts): boolean {
  if (RELATION_FIELDS.has(field)) {
    // Judged by what Ghost resolves the references to, never by the slugs or names sent.
    const r = relations.get(field);
    // A record that does not show the list (the pipeline reads it with them) cannot show it unchanged.
    if (!r || r.changes || !Array.isArray(current)) return false;
    const now = new Set(idsOf(current));
    const next = new Set(r.ids);
    return now.size === next.size && [...next].every((id) => now.has(id));
  }
  return JSON.stringify(value) === JSON.stringify(current);
}

const ALWAYS_ALLOWED = new Set(['id', 'updated_at']);

/**
 * Field rules. `relations` is 'pending' while the body's references are still being looked up in Ghost:
 * a denied relation field is then judged only when it cannot be unchanged (on add), the rest later.
 */
export function checkFields(
  rule: FieldRule | undefined,
  body: Json,
  current: Json | undefined,
  relations: RelationFacts | 'pending' = new Map(),
): BodyVerdict {
  if (!rule) return { ok: true };
  for (const field of Object.keys(body)) {
    if (rule.allow && !ALWAYS_ALLOWED.has(field) && !rule.allow.includes(field)) {
      return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may only send the fields ${rule.allow.join(', ')}` };
    }
    if (relations === 'pending' && current !== undefined && RELATION_FIELDS.has(field)) continue;
    if (
      rule.deny?.includes(field) &&
      (current === undefined || !sameValue(field, body[field], current[field], relations === 'pending' ? new Map() : relations))
    ) {
      return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may not ${current === undefined ? 'set' : 'change'} ${field}` };
    }
  }
  if (rule.status) {
    const next = 'status' in body ? body.status : current === undefined ? 'draft' : current.status;
    const unchanged = current !== undefined && next === current.status;
    if (!unchanged && !rule.status.includes(next as never)) {
      return {
        ok: false,
        code: 'FIELD_REFUSED',
        field: 'status',
        why: `this key may only set status ${rule.status.join(' or ')}, not ${String(next)}`,
      };
    }
  }
  return { ok: true };
}

/**
 * Would the record, after this write, still be inside the constraint? Relation anchors are checked
 * against the records the body's references resolve to (`relations`, by id).
 */
export function checkBodyConstraint(
  c: Constraint | undefined,
  body: Json,
  current: Json | undefined,
  isAdd: boolean,
  relations: RelationFacts | 'pending' = new Map(),
): BodyVerdict {
  if (!c) return { ok: true };
  const outside = (why: string, field: string): BodyVerdict => ({ ok: false, code: 'BODY_OUTSIDE_GRANT', field, why });
  const listRule = (field: 'tags' | 'authors' | 'labels', anchors: readonly Anchor[] | undefined): BodyVerdict => {
    if (!anchors) return { ok: true };
    const names = anchors.map(anchorSlug).join(' or ');
    if (!(field in body)) return isAdd ? outside(`a new record must carry ${field} ${names}`, field) : { ok: true };
    if (relations === 'pending') return { ok: true }; // judged once the references are resolved
    const resolved = relations.get(field);
    // Fail closed: a relation the gateway has not resolved cannot show that the record stays inside.
    if (!resolved) return { ok: false, code: 'BODY_INVALID', field, why: `${field} could not be resolved` };
    const ids = anchorIds(anchors);
    if (!resolved.ids.some((id) => ids.includes(id))) return outside(`the record must keep ${field} ${names}`, field);
    return { ok: true };
  };
  const valueRule = (field: 'status' | 'visibility', allowed: readonly string[] | undefined, dflt: string): BodyVerdict => {
    if (!allowed) return { ok: true };
    const next = field in body ? body[field] : current !== undefined ? current[field] : dflt;
    return allowed.includes(String(next)) ? { ok: true } : outside(`${field} must stay ${allowed.join(' or ')}`, field);
  };
  if (c.kind === 'post') {
    for (const v of [
      listRule('tags', c.c.tags),
      listRule('authors', c.c.authors),
      valueRule('status', c.c.status, 'draft'),
      valueRule('visibility', c.c.visibility, 'public'),
    ]) {
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
  // Own keys only: `constructor`, `toString` or `__proto__` is no action of Ghost's (the table is a plain object).
  const field = Object.hasOwn(BULK_ACTION_FIELD, action) ? BULK_ACTION_FIELD[action] : undefined;
  if (!field) return { ok: false, code: 'FIELD_REFUSED', field: action, why: `the bulk action ${action} is not known to the gateway` };
  if (rule?.deny?.includes(field))
    return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may not change ${field} (bulk ${action})` };
  if (rule?.allow && !rule.allow.includes(field))
    return { ok: false, code: 'FIELD_REFUSED', field, why: `this key may only change ${rule.allow.join(', ')}` };
  if (field === 'status' && rule?.status && !rule.status.includes('draft'))
    return { ok: false, code: 'FIELD_REFUSED', field, why: 'this key may not change status' };
  if (
    c?.kind === 'post' &&
    ((action === 'access' && c.c.visibility) ||
      ((action === 'unpublish' || action === 'unschedule') && c.c.status && !c.c.status.includes('draft')))
  ) {
    return { ok: false, code: 'BODY_OUTSIDE_GRANT', field, why: `bulk ${action} could move records outside the key's constraint` };
  }
  if (c?.kind === 'member' && action === 'removeLabel' && c.c.labels)
    return { ok: false, code: 'BODY_OUTSIDE_GRANT', field, why: `bulk ${action} could move members outside the key's constraint` };
  return { ok: true };
}

/**
 * Bulk `addTag` (PUT /posts/bulk/, PUT /pages/bulk/) read as
 * ghost/core/core/server/services/posts/posts-service.js #bulkAddTags reads it:
 * an entry of `meta.tags` with an `id` is attached as it is (its other fields
 * ignored); one without an id is looked up by the slug generated from
 * `slug || name` and, when no tag has that slug, inserted with every field
 * sent (`Tag.add(tag)`: description, code injection, visibility, ...). So an
 * entry without an id is judged as a tag creation with those fields: it needs
 * `tags:add`, and the `fields.tags` rules hold for each field it sets. (Whether
 * it would match an existing tag is not asked: send `{"id": ...}` to attach one.)
 */
export function checkBulkAddTags(body: Json, canAddTags: boolean, tagRule: FieldRule | undefined): BodyVerdict {
  const meta = (body.bulk as Json | undefined)?.meta as Json | undefined;
  const tags = meta?.tags;
  if (!Array.isArray(tags) || tags.length === 0)
    return { ok: false, code: 'BODY_INVALID', field: 'tags', why: 'bulk addTag needs {"meta": {"tags": [ ... ]}}' };
  for (const [i, t] of tags.entries()) {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      return { ok: false, code: 'BODY_INVALID', field: 'tags', why: `meta.tags[${i}] is not an object` };
    const tag = t as Json;
    if (tag.id !== undefined && tag.id !== null && tag.id !== '') {
      if (typeof tag.id !== 'string' || !/^[0-9a-f]{24}$/.test(tag.id))
        return { ok: false, code: 'BODY_INVALID', field: 'tags', why: `meta.tags[${i}].id is not a tag id` };
      continue;
    }
    // No id: Ghost may create the tag with every field sent.
    if (typeof tag.name !== 'string' || tag.name.trim() === '')
      return { ok: false, code: 'BODY_INVALID', field: 'tags', why: `meta.tags[${i}] has neither an id nor a name` };
    if (!canAddTags)
      return {
        ok: false,
        code: 'SCOPE_MISSING',
        field: 'tags',
        why: `meta.tags[${i}] has no id, so Ghost would create the tag when none has its slug; that needs the scope tags:add (send {"id": ...} to attach an existing tag)`,
      };
    for (const f of Object.keys(tag).filter((k) => k !== 'id')) {
      if (tagRule?.deny?.includes(f) || (tagRule?.allow && !tagRule.allow.includes(f))) {
        return {
          ok: false,
          code: 'FIELD_REFUSED',
          field: f,
          why: `meta.tags[${i}] would create a tag with ${f}, which this key may not set on tags`,
        };
      }
    }
  }
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

/** Field rules: a child keeps every denied field, and its allowlists and statuses are no wider. */
export const fieldsPart: GrantPart<'fields'> = {
  part: 'fields',
  subset: (child, parent) => {
    const problems: string[] = [];
    for (const [resource, pr] of Object.entries(parent.fields ?? {})) {
      const cr = child.fields?.[resource as keyof NonNullable<Grant['fields']>];
      if (pr.deny && !pr.deny.every((f) => cr?.deny?.includes(f)))
        problems.push(`fields.${resource}.deny must keep the parent's denied fields`);
      if (pr.allow && !isSubset(cr?.allow, pr.allow)) problems.push(`fields.${resource}.allow must be a subset of the parent's`);
      if (pr.status && !isSubset(cr?.status, pr.status)) problems.push(`fields.${resource}.status must be a subset of the parent's`);
    }
    return problems;
  },
  inherit: (child, parent) => (!child.fields && parent.fields ? structuredClone(parent.fields) : undefined),
  describe: (g) =>
    Object.entries(g.fields ?? {}).map(
      ([resource, r]) =>
        `${resource}: ${[r.deny ? `may not set ${r.deny.join(', ')}` : '', r.allow ? `may only set ${r.allow.join(', ')}` : '', r.status ? `may set status only to ${r.status.join(' or ')}` : ''].filter(Boolean).join('; ')}`,
    ),
};

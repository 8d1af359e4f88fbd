import type { RelationFacts } from '../../../grants/fields.js';
import { RELATIONS, lookupKey, readRelation, resolveReferences, type Lookup, type RelatedResource } from '../../../grants/relations.js';
import type { Decision } from '../decision.js';
import { bodyItem, deny, type AuthorizeContext, type AuthorizeStep } from '../step.js';

/** Scopes that cover what Ghost does to related records when it resolves a reference. */
const SIDE_EFFECT = { creates: 'add', modifies: 'edit' } as const;

/**
 * Reads the relation lists of an add/edit body as Ghost will, asks for the lookups that resolve them,
 * and refuses references that could be read two ways or that would write to related records the key
 * may not write (a tag renamed or created through a post needs tags:edit or tags:add).
 * Returns the resolved ids per field for the rules, or a decision.
 */
function readRelations({
  grant,
  g,
  route,
  request,
  need,
  reservedSlugs,
}: AuthorizeContext): { facts: RelationFacts | 'pending'; missing: Lookup[] } | Decision | undefined {
  const rels = RELATIONS[route.resource];
  if (!rels || !(route.action === 'add' || route.action === 'edit') || route.flags.has('bulk')) return undefined;
  const ruled = (field: string) => {
    const rule = g.fields?.[route.resource as keyof NonNullable<typeof g.fields>];
    const c = g.constraints?.[route.resource as 'posts'] as Record<string, unknown> | undefined;
    return Boolean(rule?.deny?.includes(field) || rule?.allow || c?.[field] !== undefined);
  };
  // No write to the related records needs judging: authors are never written to; tags and labels are, so a key
  // needs their add and edit scopes, and no field rule on them, to skip reading the references.
  const sideEffectFree = (target: RelatedResource) =>
    target === 'users' ||
    (grant.holds(`${target}:add`, target) && grant.holds(`${target}:edit`, target) && g.fields?.[target as 'tags'] === undefined);
  const relevant = rels.filter((r) => ruled(r.field) || !sideEffectFree(r.target));
  if (relevant.length === 0) return undefined;
  if (request.body === undefined) {
    need.body = true;
    return { facts: 'pending', missing: [] };
  }
  const item = bodyItem(request.body, route.resource);
  if (!item)
    return deny(
      'BODY_INVALID',
      `The body must be {"${route.resource}": [ { ... } ]}.`,
      `${route.method} ${route.path}: the gateway reads this body's references as Ghost will.`,
    );
  const out = new Map<string, { ids: string[]; changes: boolean }>();
  const missing: Lookup[] = [];
  for (const { field, target } of relevant) {
    if (!(field in item)) continue;
    const reading = readRelation(field, item[field], reservedSlugs);
    if (!reading.ok)
      return deny(
        'REFERENCE_AMBIGUOUS',
        `Refused (${field}): ${reading.why}.`,
        `${route.method} ${route.path}: ${reading.why}.`,
        `Send ${field} as references Ghost resolves to one existing record: {"id": ...}${field === 'authors' ? ', {"slug": ...} or {"email": ...}' : ' or {"slug": ...}'}.`,
      );
    const unanswered = reading.lookups.filter((l) => !request.lookups?.has(lookupKey(l)));
    if (unanswered.length > 0) {
      missing.push(...unanswered);
      continue;
    }
    const resolved = resolveReferences(field, reading.refs, request.lookups ?? new Map());
    const ids: string[] = [];
    let changes = false;
    for (const r of resolved) {
      if (r.kind === 'ambiguous')
        return deny(
          'REFERENCE_AMBIGUOUS',
          `Refused (${field}): ${r.why}.`,
          `${route.method} ${route.path}: ${r.why}.`,
          `Send ${field} by id.`,
        );
      if (r.kind === 'creates' || r.kind === 'modifies') {
        // A write to a related record through a reference is judged as a write to it: its scope, then its field rules.
        const scope = `${target}:${SIDE_EFFECT[r.kind]}`;
        const what =
          r.kind === 'creates' ? `create a ${target.slice(0, -1)}` : `change ${target.slice(0, -1)} ${r.id} (${r.fields.join(', ')})`;
        if (!grant.holds(scope, target)) {
          return deny(
            'SCOPE_MISSING',
            `Missing scope ${scope}: this ${field} reference would ${what} in Ghost.`,
            `${route.method} ${route.path}: Ghost writes to the ${target} a reference names.`,
            `Grant ${scope}, or reference existing ${target} by id or slug alone.`,
          );
        }
        const targetRule = g.fields?.[target as 'tags'];
        const refused = r.fields.find(
          (f) => targetRule?.deny?.includes(f) || (targetRule?.allow !== undefined && !targetRule.allow.includes(f)),
        );
        if (refused !== undefined) {
          return deny(
            'FIELD_REFUSED',
            `Refused (${refused}): this ${field} reference would ${what}, and this key may not set ${target} ${refused}.`,
            `${route.method} ${route.path}: a write to ${target} through a reference follows the key's ${target} field rules.`,
            `Reference existing ${target} by id or slug alone.`,
          );
        }
        changes = true;
      }
      if (r.kind !== 'creates') ids.push(r.id);
    }
    out.set(field, { ids, changes });
  }
  return missing.length > 0 ? { facts: 'pending', missing } : { facts: out, missing: [] };
}

/**
 * A write body's relation references (tags, authors, labels) are resolved as Ghost resolves them, and a
 * write to a related record through a reference is judged as a write to it (scopes, then field rules).
 */
export const relationStep: AuthorizeStep = {
  name: 'relations',
  kind: 'fields',
  decide: (ctx) => {
    const rel = readRelations(ctx);
    if (!rel) return undefined;
    if ('allow' in rel) return rel;
    ctx.relations = rel.facts;
    ctx.lookups = rel.missing;
    return undefined;
  },
};

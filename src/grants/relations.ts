import { serializeFilter, FilterError } from './nql.js';

/**
 * Relation references in write bodies, read as Ghost reads them.
 *
 * A post's `tags` and `authors` and a member's `labels` are lists of
 * references that Ghost resolves to records, and sometimes writes to:
 *
 * - post/page `tags` (ghost/core/core/server/api/endpoints/utils/serializers/input/posts.js
 *   turns a string into `{name}` and keeps only `id`, `name`, `slug` (utils/clean.js);
 *   ghost/core/core/server/models/post.js onSaving normalises the slug of a tag sent
 *   without an id and drops a later tag whose name equals an earlier one's, case-insensitively;
 *   then bookshelf-relations 2.8.0 lib/detector.js saveTargets: a tag with an id is fetched by id
 *   and the other fields sent are written onto it (an unknown id inserts a new tag); a tag
 *   without an id is fetched by all the fields sent together, and inserted when none matches);
 * - post/page `authors` (ghost/core/core/server/models/relations/authors.js matchAuthors: by id,
 *   else slug, else email; an unknown author silently becomes the Owner; nothing is written to users);
 * - member `labels` (ghost/core/core/server/models/member.js onSaving: a string is `{name}`,
 *   names are trimmed, nameless labels dropped, later duplicates by lower-cased name dropped, then
 *   each is matched against every existing label by lower-cased name and takes that label's id
 *   and name; what remains goes through bookshelf-relations as for tags).
 *
 * The gateway reproduces that reading: it asks Ghost, with the same comparison Ghost's own write
 * will use, which record each reference resolves to, whether Ghost would write to it or create a
 * record, and refuses what could be read two ways (several matches, an author that would become
 * the Owner, a tag slug Ghost would rewrite). Record constraints and field rules then judge the
 * records the references resolve to, by id.
 */
export type RelationField = 'tags' | 'authors' | 'labels';
export type RelatedResource = 'tags' | 'users' | 'labels';
type Json = Record<string, unknown>;

/** The relation lists Ghost reads in the add/edit bodies of each resource. */
export const RELATIONS: Readonly<Record<string, readonly { field: RelationField; target: RelatedResource }[]>> = {
  posts: [
    { field: 'tags', target: 'tags' },
    { field: 'authors', target: 'users' },
  ],
  pages: [
    { field: 'tags', target: 'tags' },
    { field: 'authors', target: 'users' },
  ],
  members: [{ field: 'labels', target: 'labels' }],
};

/** A question to Ghost: the records of `resource` matching `filter` (at most two are needed to tell one from many). */
export interface Lookup {
  readonly resource: RelatedResource;
  /** An NQL filter built from the reference, with Ghost's own serialiser; '' with `all`. */
  readonly filter: string;
  /** Every record (labels are matched in memory by lower-cased name, as Ghost does). */
  readonly all?: true;
}
export const lookupKey = (l: Lookup): string => `${l.resource}?${l.all ? '*' : l.filter}`;

/** One reference, as Ghost will read it, before asking Ghost. */
export interface Reference {
  /** Position in the body's list (for messages). */
  readonly index: number;
  /** How Ghost finds the record; undefined for member labels (matched in memory, see resolveLabels). */
  readonly lookup?: Lookup;
  /** Fields Ghost writes onto the record it finds (tags by id: name, slug). */
  readonly sets: Readonly<Record<string, string>>;
  /** Ghost inserts a record when nothing matches (otherwise the write fails or falls back). */
  readonly createsWhenMissing: boolean;
  /** The fields such an insert sets (judged by the related resource's field rules). */
  readonly createFields?: readonly string[];
  /** An author Ghost cannot find becomes the Owner. */
  readonly ownerWhenMissing?: true;
  /** Member labels: the trimmed name Ghost matches on, and the id sent (used only when no name matches). */
  readonly labelName?: string;
  readonly sentId?: string;
}

export type Reading = { ok: true; refs: Reference[]; lookups: Lookup[] } | { ok: false; why: string };

/** The slugs Ghost rewrites: ghost/core/core/shared/config/overrides.json `slugs.protected`, and Tag.protectedSlugs ('new'). */
const PROTECTED_TAG_SLUGS = new Set(['ghost', 'rss', 'amp', 'new']);
/** A slug that Ghost's slugify (@tryghost/string, via @tryghost/security string.safe) returns unchanged. */
const CANONICAL_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const GHOST_ID = /^[0-9a-f]{24}$/;

function filterOf(node: Record<string, unknown>): string {
  return serializeFilter(Object.keys(node).length === 1 ? node : { $and: Object.entries(node).map(([k, v]) => ({ [k]: v })) });
}

/**
 * The tag slug a Ghost under a sub-directory also rewrites: the last segment of its path (generate-slug.js takes
 * url-utils' getProtectedSlugs(), which adds `getSubdir().split('/').pop()`). `basePath` is the upstream URL's
 * path without trailing slashes (Forwarder.basePath), what config-url-helpers' getSubdir() gives for that URL.
 */
export function subdirectorySlugs(basePath: string): string[] {
  const last = basePath.split('/').pop();
  return last ? [last] : [];
}

/**
 * Reads a relation list from a body. `reservedSlugs` are extra slugs Ghost
 * rewrites on this site (the last segment of a sub-directory install).
 */
export function readRelation(field: RelationField, list: unknown, reservedSlugs: readonly string[] = []): Reading {
  if (!Array.isArray(list)) return { ok: false, why: `${field} must be a list` };
  try {
    if (field === 'tags') return readTags(list, reservedSlugs);
    if (field === 'authors') return readAuthors(list);
    return readLabels(list);
  } catch (e) {
    if (e instanceof FilterError) return { ok: false, why: `a reference in ${field} cannot be looked up faithfully (${e.message})` };
    throw e;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A relation list item as Ghost's input serialisers read it: a string stands for one field (a tag's or a
 * label's name, an author's email), an object is itself; anything else (a number, null, a list) is
 * undefined, refused by the caller. One guard for the three lists.
 */
function itemOf(item: unknown, stringIs: 'name' | 'email'): Json | undefined {
  if (typeof item === 'string') return { [stringIs]: item };
  return item && typeof item === 'object' && !Array.isArray(item) ? (item as Json) : undefined;
}

function readTags(list: unknown[], reservedSlugs: readonly string[]): Reading {
  const refs: Reference[] = [];
  const keptNames: string[] = [];
  for (const [index, item] of list.entries()) {
    // posts.js input serializer: a string is a tag name; an object keeps only id, name and slug.
    const o = itemOf(item, 'name');
    if (o === undefined) return { ok: false, why: `tags[${index}] is neither a tag object nor a name` };
    for (const k of ['id', 'name', 'slug'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'string') return { ok: false, why: `tags[${index}].${k} must be a string` };
    }
    const id = str(o.id);
    const name = str(o.name);
    const slug = str(o.slug);
    // CASE: {} (or only other fields): Ghost's JSON schema requires one of id, name or slug.
    if (!id && !name && !slug) return { ok: false, why: `tags[${index}] names no tag (send id, slug or name)` };
    // post.js onSaving: a later tag whose name equals a kept one's (toLocaleLowerCase) is dropped.
    if (name && keptNames.some((n) => n.toLocaleLowerCase() === name.toLocaleLowerCase())) continue;
    if (name) keptNames.push(name);
    if (id) {
      if (!GHOST_ID.test(id)) return { ok: false, why: `tags[${index}].id is not a Ghost id` };
      const sets: Record<string, string> = {};
      if (name !== undefined) sets.name = name;
      if (slug !== undefined) sets.slug = slug;
      // An unknown id with a name inserts a new tag (detector.js: Target.forge() then the fields).
      refs.push({
        index,
        lookup: { resource: 'tags', filter: filterOf({ id }) },
        sets,
        createsWhenMissing: name !== undefined,
        createFields: Object.keys(sets),
      });
      continue;
    }
    if (slug !== undefined && (!CANONICAL_SLUG.test(slug) || PROTECTED_TAG_SLUGS.has(slug) || reservedSlugs.includes(slug))) {
      // post.js onSaving rewrites it (generate-slug.js: slugify, protected slugs): two readings.
      return {
        ok: false,
        why: `tags[${index}].slug "${slug.slice(0, 60)}" is not a slug Ghost keeps as sent: send the tag's id or its exact slug`,
      };
    }
    const where: Record<string, unknown> = {};
    if (name !== undefined) where.name = name;
    if (slug !== undefined) where.slug = slug;
    refs.push({
      index,
      lookup: { resource: 'tags', filter: filterOf(where) },
      sets: {},
      createsWhenMissing: name !== undefined,
      createFields: Object.keys(where),
    });
  }
  return { ok: true, refs, lookups: dedupe(refs) };
}

function readAuthors(list: unknown[]): Reading {
  const refs: Reference[] = [];
  for (const [index, item] of list.entries()) {
    // posts.js input serializer: a string is an author's email.
    const o = itemOf(item, 'email');
    if (o === undefined) return { ok: false, why: `authors[${index}] is neither an author object nor an email` };
    // authors.js matchAuthors: the first of id, slug, email that is truthy decides; the rest is ignored.
    const by = (['id', 'slug', 'email'] as const).find((k) => o[k]);
    if (!by) return { ok: false, why: `authors[${index}] names no author (send id, slug or email)` };
    const value = o[by];
    if (typeof value !== 'string') return { ok: false, why: `authors[${index}].${by} must be a string` };
    refs.push({
      index,
      lookup: { resource: 'users', filter: filterOf({ [by]: value }) },
      sets: {},
      createsWhenMissing: false,
      ownerWhenMissing: true,
    });
  }
  return { ok: true, refs, lookups: dedupe(refs) };
}

function readLabels(list: unknown[]): Reading {
  const refs: Reference[] = [];
  const seen = new Set<string>();
  for (const [index, item] of list.entries()) {
    // members.js input serializer: a string is a label name.
    const o = itemOf(item, 'name');
    if (o === undefined) return { ok: false, why: `labels[${index}] is neither a label object nor a name` };
    for (const k of ['id', 'name', 'slug'] as const) {
      if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string')
        return { ok: false, why: `labels[${index}].${k} must be a string` };
    }
    // member.js onSaving: names trimmed; nameless labels dropped; later duplicates (lower-cased) dropped.
    const name = str(o.name)?.trim();
    if (!name) continue;
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    const sets: Record<string, string> = {};
    if (typeof o.slug === 'string') sets.slug = o.slug;
    const id = str(o.id);
    if (id !== undefined && !GHOST_ID.test(id)) return { ok: false, why: `labels[${index}].id is not a Ghost id` };
    refs.push({
      index,
      sets,
      createsWhenMissing: true,
      createFields: ['name', ...Object.keys(sets)],
      labelName: name,
      ...(id ? { sentId: id } : {}),
    });
  }
  // Ghost compares every existing label by lower-cased name in memory: the gateway needs them all.
  const lookups: Lookup[] = refs.length > 0 ? [{ resource: 'labels', filter: '', all: true }] : [];
  for (const r of refs) if (r.sentId) lookups.push({ resource: 'labels', filter: filterOf({ id: r.sentId }) });
  return { ok: true, refs, lookups: dedupeLookups(lookups) };
}

function dedupe(refs: readonly Reference[]): Lookup[] {
  return dedupeLookups(refs.flatMap((r) => (r.lookup ? [r.lookup] : [])));
}
function dedupeLookups(ls: readonly Lookup[]): Lookup[] {
  const m = new Map<string, Lookup>();
  for (const l of ls) m.set(lookupKey(l), l);
  return [...m.values()];
}

/** What Ghost will do with one reference, once the lookups are answered. */
export type Resolution =
  | { kind: 'existing'; id: string }
  /** Ghost writes the sent fields onto this existing record (a tag renamed through a post). */
  | { kind: 'modifies'; id: string; fields: string[] }
  /** Ghost inserts a new record, setting these fields. */
  | { kind: 'creates'; fields: readonly string[] }
  /** Ghost's reading differs from what was sent, or depends on which of several records it meets first. */
  | { kind: 'ambiguous'; why: string };

/** Answers to lookups: the records Ghost returned for each lookup key. */
export type LookupAnswers = ReadonlyMap<string, readonly Json[]>;

export function resolveReferences(field: RelationField, refs: readonly Reference[], answers: LookupAnswers): Resolution[] {
  if (field === 'labels') return resolveLabels(refs, answers);
  return refs.map((r) => {
    const found = answers.get(lookupKey(r.lookup!)) ?? [];
    if (found.length > 1) return { kind: 'ambiguous', why: `${field}[${r.index}] matches several records` };
    const rec = found[0];
    if (!rec) {
      if (r.ownerWhenMissing)
        return { kind: 'ambiguous', why: `authors[${r.index}] matches no staff user (Ghost would make the Owner the author)` };
      return r.createsWhenMissing
        ? { kind: 'creates', fields: r.createFields ?? [] }
        : { kind: 'ambiguous', why: `${field}[${r.index}] matches no existing record` };
    }
    const changed = Object.entries(r.sets)
      .filter(([k, v]) => rec[k] !== v)
      .map(([k]) => k);
    return changed.length > 0 ? { kind: 'modifies', id: String(rec.id), fields: changed } : { kind: 'existing', id: String(rec.id) };
  });
}

function resolveLabels(refs: readonly Reference[], answers: LookupAnswers): Resolution[] {
  const all = answers.get(lookupKey({ resource: 'labels', filter: '', all: true })) ?? [];
  const byName = new Map<string, Json>();
  // member.js onSaving: Map by lower-cased name, the last label of a name wins.
  for (const l of all) if (typeof l.name === 'string' && l.name) byName.set(l.name.toLowerCase(), l);
  return refs.map((r) => {
    const match = byName.get(r.labelName!.toLowerCase());
    if (match) {
      // The label takes the match's id and name; a slug sent is written onto it.
      const changed = Object.entries(r.sets)
        .filter(([k, v]) => match[k] !== v)
        .map(([k]) => k);
      return changed.length > 0 ? { kind: 'modifies', id: String(match.id), fields: changed } : { kind: 'existing', id: String(match.id) };
    }
    if (r.sentId) {
      const byId = (answers.get(lookupKey({ resource: 'labels', filter: filterOf({ id: r.sentId }) })) ?? [])[0];
      // An existing label fetched by id gets the sent name (and slug): a rename through a member.
      if (byId) return { kind: 'modifies', id: String(byId.id), fields: ['name', ...Object.keys(r.sets)] };
    }
    return { kind: 'creates', fields: r.createFields ?? [] };
  });
}

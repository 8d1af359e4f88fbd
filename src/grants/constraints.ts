import type { RouteEntry } from '../catalog/catalog.js';
import { anchorIds, anchorSlug, isPinned } from './anchors.js';
import { isSubset, type Anchor, type Grant, type GrantPart, type MemberConstraint, type PostConstraint } from './grant.js';
import type { NqlNode } from './nql.js';

/**
 * Record constraints: which records of posts, pages and members a key may
 * touch, as an NQL filter for browse and bulk routes, and as a check on a
 * record's JSON for by-id routes and the response safety net.
 */
export type ConstrainedResource = 'posts' | 'pages' | 'members';
export const CONSTRAINED: readonly ConstrainedResource[] = ['posts', 'pages', 'members'];
const SINGULAR: Record<ConstrainedResource, string> = { posts: 'post', pages: 'post', members: 'member' };
/**
 * Includes a record fetch needs so that every rule can be checked: tags and authors for post
 * constraints; the post's email record and newsletter for "never send email"
 * (ghost/core/core/server/services/posts/post-email-handler.js decides on them); labels for members.
 */
export function recordInclude(grant: Grant, resource: string): string {
  if (resource === 'members') return 'labels';
  if (resource === 'posts' && grantSendsNoEmail(grant)) return 'tags,authors,email,newsletter';
  if (resource === 'posts' || resource === 'pages') return 'tags,authors';
  return '';
}

/** "Never send email": the grant says so, or (older grants) a field rule denies how Ghost is told to send. */
export function grantSendsNoEmail(grant: Grant): boolean {
  if (grant.sendEmail === false) return true;
  return ['posts', 'pages', 'members'].some((r) =>
    grant.fields?.[r as 'posts']?.deny?.some((f) => f === 'newsletter' || f === 'email_segment' || f === 'send_email'),
  );
}

export type Constraint = { kind: 'post'; c: PostConstraint } | { kind: 'member'; c: MemberConstraint };

export function constraintFor(grant: Grant, resource: string): Constraint | undefined {
  const cs = grant.constraints;
  if (!cs) return undefined;
  // A constraint object that restricts nothing ({} or createdByKey: false) is no constraint.
  if (resource === 'posts' || resource === 'pages') {
    const c = cs[resource];
    if (c && (c.tags || c.authors || c.status || c.visibility || c.createdByKey === true)) return { kind: 'post', c };
  }
  if (resource === 'members' && cs.members && (cs.members.labels || cs.members.status)) return { kind: 'member', c: cs.members };
  return undefined;
}

export function needsOwnedIds(c: Constraint): boolean {
  return c.kind === 'post' && c.c.createdByKey === true;
}

/**
 * The constraint as an NQL tree. `ownedIds` are the ids this key created (for createdByKey).
 * Anchors are matched by id (`tags.id`, `authors.id`, `labels.id`: the many-to-many relations
 * of ghost/core/core/server/models/post.js and member.js filterRelations), never by slug.
 */
export function constraintFilter(c: Constraint, ownedIds: readonly string[]): NqlNode {
  const and: NqlNode[] = [];
  if (c.kind === 'post') {
    if (c.c.tags) and.push({ 'tags.id': { $in: anchorIds(c.c.tags) } });
    if (c.c.authors) and.push({ 'authors.id': { $in: anchorIds(c.c.authors) } });
    if (c.c.status) and.push({ status: { $in: [...c.c.status] } });
    if (c.c.visibility) and.push({ visibility: { $in: [...c.c.visibility] } });
    // CASE: no record created yet: an id no record has (Ghost ids are 24 hex).
    if (c.c.createdByKey) and.push({ id: { $in: ownedIds.length > 0 ? [...ownedIds] : ['000000000000000000000000'] } });
  } else {
    if (c.c.labels) and.push({ 'labels.id': { $in: anchorIds(c.c.labels) } });
    if (c.c.status) and.push({ status: { $in: [...c.c.status] } });
  }
  return and.length === 1 ? and[0]! : { $and: and };
}

type Json = Record<string, unknown>;
const idsOf = (list: unknown): string[] | undefined =>
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an object id becomes a text no anchor matches
  Array.isArray(list) ? list.map((x) => (x && typeof x === 'object' ? String((x as Json).id ?? '') : '')).filter(Boolean) : undefined;
/** True when one of `have` is one of the anchors. */
const meets = (have: readonly string[], anchors: readonly Anchor[]): boolean => {
  const ids = anchorIds(anchors);
  return have.some((id) => ids.includes(id));
};
const names = (anchors: readonly Anchor[]): string => anchors.map(anchorSlug).join(' or ');

/**
 * Checks a record (Ghost's JSON) against the constraint. Returns the first
 * rule it breaks, or undefined. A field the record does not carry (not
 * included, `fields=` narrowed) is not held against it unless `strict`.
 */
export function recordBreaks(c: Constraint, record: Json, owned: (id: string) => boolean, strict: boolean): string | undefined {
  const miss = (what: string) => (strict ? `the record's ${what} is unknown` : undefined);
  if (c.kind === 'post') {
    if (c.c.tags) {
      const tags = idsOf(record.tags);
      if (!tags) {
        const m = miss('tags');
        if (m) return m;
      } else if (!meets(tags, c.c.tags)) return `it is not tagged ${names(c.c.tags)}`;
    }
    if (c.c.authors) {
      const authors = idsOf(record.authors);
      if (!authors) {
        const m = miss('authors');
        if (m) return m;
      } else if (!meets(authors, c.c.authors)) return `it is not by ${names(c.c.authors)}`;
    }
    if (c.c.status && (record.status !== undefined || strict) && !c.c.status.includes(record.status as never))
      return `its status is not ${c.c.status.join(' or ')}`;
    if (c.c.visibility && (record.visibility !== undefined || strict) && !c.c.visibility.includes(record.visibility as never))
      return `its visibility is not ${c.c.visibility.join(' or ')}`;
    if (c.c.createdByKey && (record.id !== undefined || strict) && !owned(String(record.id))) return 'it was not created by this key';
  } else {
    if (c.c.labels) {
      const labels = idsOf(record.labels);
      if (!labels) {
        const m = miss('labels');
        if (m) return m;
      } else if (!meets(labels, c.c.labels)) return `it is not labelled ${names(c.c.labels)}`;
    }
    if (c.c.status && (record.status !== undefined || strict) && !c.c.status.includes(record.status as never))
      return `its status is not ${c.c.status.join(' or ')}`;
  }
  return undefined;
}

/** A human description of the constraint, for messages and `explain`. */
export function describeConstraint(resource: string, c: Constraint): string {
  const parts: string[] = [];
  if (c.kind === 'post') {
    if (c.c.tags) parts.push(`tagged ${names(c.c.tags)}`);
    if (c.c.authors) parts.push(`by ${names(c.c.authors)}`);
    if (c.c.status) parts.push(`with status ${c.c.status.join(' or ')}`);
    if (c.c.visibility) parts.push(`with visibility ${c.c.visibility.join(' or ')}`);
    if (c.c.createdByKey) parts.push('created by this key');
  } else {
    if (c.c.labels) parts.push(`labelled ${names(c.c.labels)}`);
    if (c.c.status) parts.push(`with status ${c.c.status.join(' or ')}`);
  }
  return `${resource} ${parts.join(', ')}`;
}

/**
 * How a constrained resource's constraint reaches a route:
 *  - filter:  browse-like and bulk routes of the resource get the constraint ANDed to `filter`
 *  - record:  routes naming one record (`/:id`, `/slug/:slug`, `/<resource>/:id/...`) fetch it first
 *  - body:    add routes check the new record's body
 *  - refuse:  routes that expose the resource in ways the gateway cannot filter
 */
export type ConstraintMode =
  | { mode: 'none' }
  | { mode: 'filter' }
  | { mode: 'record'; param: string; bySlug: boolean }
  | { mode: 'body' }
  | { mode: 'refuse'; why: string };

export function constraintMode(route: RouteEntry, resource: ConstrainedResource): ConstraintMode {
  const segs = route.segments;
  const own = route.resource === resource;
  if (own) {
    if (segs.length >= 2 && segs[1] === 'slug' && segs[2] === ':slug') return { mode: 'record', param: 'slug', bySlug: true };
    if (segs[1] === ':id') return { mode: 'record', param: 'id', bySlug: false };
    if (route.method === 'POST' && segs.length === 1) return { mode: 'body' };
    if ((route.method === 'GET' && segs.length === 1) || route.flags.has('bulk')) return { mode: 'filter' };
    return { mode: 'refuse', why: `${route.method} ${route.path} cannot be limited to the key's ${resource}` };
  }
  const i = segs.indexOf(resource);
  if (i !== -1 && segs[i + 1] === ':id') return { mode: 'record', param: 'id', bySlug: false };
  if (CONSTRAINED.includes(route.resource as ConstrainedResource)) return { mode: 'none' };
  if (route.permission.kind === 'check' && route.permission.object === SINGULAR[resource]) {
    return { mode: 'refuse', why: `${route.method} ${route.path} exposes ${resource} the gateway cannot filter` };
  }
  return { mode: 'none' };
}

/** Anchors are the same record when their ids are equal; two unpinned anchors, when their slugs are. */
const sameAnchor = (a: Anchor, b: Anchor) =>
  isPinned(a) && isPinned(b) ? a.id === b.id : !isPinned(a) && !isPinned(b) && anchorSlug(a) === anchorSlug(b);
const anchorSubset = (a: readonly Anchor[] | undefined, b: readonly Anchor[]) =>
  a !== undefined && a.every((x) => b.some((y) => sameAnchor(x, y)));
const ANCHOR_KEYS = new Set(['tags', 'authors', 'labels']);

/** Record constraints: a child keeps every constraint of its parent, at least as tight; webhooks stay its own. */
export const constraintsPart: GrantPart<'constraints'> = {
  part: 'constraints',
  subset: (child, parent) => {
    const problems: string[] = [];
    for (const resource of ['posts', 'pages', 'members'] as const) {
      const pc = constraintFor(parent, resource);
      if (!pc) continue;
      const cc = constraintFor(child, resource);
      if (!cc || cc.kind !== pc.kind) {
        problems.push(`the parent is limited to ${resource} by a constraint the child must keep`);
        continue;
      }
      const p = pc.c as Record<string, unknown>;
      const c = cc.c as Record<string, unknown>;
      for (const k of ['tags', 'authors', 'status', 'visibility', 'labels']) {
        if (p[k] === undefined) continue;
        const ok = ANCHOR_KEYS.has(k)
          ? anchorSubset(c[k] as Anchor[] | undefined, p[k] as Anchor[])
          : isSubset(c[k] as string[] | undefined, p[k] as string[]);
        if (!ok) problems.push(`constraints.${resource}.${k} must be a subset of the parent's`);
      }
      if (p.createdByKey === true && c.createdByKey !== true) problems.push(`constraints.${resource}.createdByKey must stay true`);
    }
    if (parent.constraints?.webhooks?.createdByKey !== false && child.constraints?.webhooks?.createdByKey === false) {
      problems.push('constraints.webhooks.createdByKey must stay true');
    }
    return problems;
  },
  inherit: (child, parent) => (!child.constraints && parent.constraints ? structuredClone(parent.constraints) : undefined),
  describe: (g) => [
    ...(['posts', 'pages', 'members'] as const).flatMap((r) => {
      const c = constraintFor(g, r);
      return c ? [`only ${describeConstraint(r, c)}`] : [];
    }),
    g.constraints?.webhooks?.createdByKey === false ? 'webhooks: any, not only its own' : 'webhooks: only those it created',
  ],
};

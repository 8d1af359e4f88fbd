import type { Anchor, Grant } from './grant.js';

/**
 * Constraint anchors: the tags, authors and labels a record constraint names.
 *
 * People write them as slugs, but a slug is editable in Ghost (tags:edit,
 * users:edit, labels:edit): a key that may rename `internal` to `partner`
 * would otherwise move its own boundary. So every anchor is pinned to the
 * record's immutable id when the key is created, shown as both, and enforced
 * by id only. A grant that still holds a bare slug (written by an older
 * release, or straight into the store) is pinned on its first use.
 */
export type AnchorKind = 'tags' | 'users' | 'labels';

/** Where anchors live in a grant, and which Ghost resource each names. */
export const ANCHOR_SLOTS = [
  { resource: 'posts', field: 'tags', kind: 'tags' },
  { resource: 'posts', field: 'authors', kind: 'users' },
  { resource: 'pages', field: 'tags', kind: 'tags' },
  { resource: 'pages', field: 'authors', kind: 'users' },
  { resource: 'members', field: 'labels', kind: 'labels' },
] as const;

export interface PinnedAnchor {
  readonly id: string;
  readonly slug: string;
}

export const isPinned = (a: Anchor): a is PinnedAnchor => typeof a === 'object';
export const anchorSlug = (a: Anchor): string => (typeof a === 'string' ? a : a.slug);

/** The ids of a constraint list; throws when one is not pinned (callers pin first: fail closed). */
export function anchorIds(list: readonly Anchor[]): string[] {
  return list.map((a) => {
    if (!isPinned(a)) throw new Error(`constraint anchor "${a}" is not pinned to an id`);
    return a.id;
  });
}

function slotList(grant: Grant, slot: (typeof ANCHOR_SLOTS)[number]): readonly Anchor[] | undefined {
  const c = grant.constraints?.[slot.resource] as Record<string, readonly Anchor[] | undefined> | undefined;
  return c?.[slot.field];
}

/** Anchors still written as bare slugs, one entry per kind and slug. */
export function unpinnedAnchors(grant: Grant): { kind: AnchorKind; slug: string }[] {
  const seen = new Set<string>();
  const out: { kind: AnchorKind; slug: string }[] = [];
  for (const slot of ANCHOR_SLOTS) {
    for (const a of slotList(grant, slot) ?? []) {
      if (isPinned(a) || seen.has(`${slot.kind}:${a}`)) continue;
      seen.add(`${slot.kind}:${a}`);
      out.push({ kind: slot.kind, slug: a });
    }
  }
  return out;
}

/**
 * Looks an anchor up in Ghost: the record's id for a slug, or undefined when
 * no such record exists. Slugs are looked up by Ghost's own by-slug routes.
 */
export type AnchorLookup = (kind: AnchorKind, slug: string) => Promise<string | undefined>;

export class AnchorError extends Error {
  override name = 'AnchorError';
}

/**
 * Pins every bare-slug anchor of a grant to its record's id. `known` are
 * anchors already pinned elsewhere (a child key reuses its parent's pins for
 * the same slugs, so a rename since the parent was made cannot widen the child).
 */
export async function pinAnchors(
  grant: Grant,
  lookup: AnchorLookup,
  known: readonly { kind: AnchorKind; anchor: PinnedAnchor }[] = [],
): Promise<Grant> {
  const missing = unpinnedAnchors(grant);
  if (missing.length === 0) return grant;
  const ids = new Map<string, string>();
  for (const { kind, slug } of missing) {
    const k = known.find((x) => x.kind === kind && x.anchor.slug === slug);
    const id = k ? k.anchor.id : await lookup(kind, slug);
    if (!id)
      throw new AnchorError(
        `no ${kind === 'users' ? 'staff user' : kind.slice(0, -1)} with the slug "${slug}" in Ghost: a constraint must name an existing record`,
      );
    ids.set(`${kind}:${slug}`, id);
  }
  const out = structuredClone(grant);
  for (const slot of ANCHOR_SLOTS) {
    const c = out.constraints?.[slot.resource] as Record<string, Anchor[] | undefined> | undefined;
    const list = c?.[slot.field];
    if (!c || !list) continue;
    c[slot.field] = list.map((a) => (isPinned(a) ? a : { id: ids.get(`${slot.kind}:${a}`)!, slug: a }));
  }
  return out;
}

/** Every pinned anchor of a grant, by kind (for a child key's pins). */
export function pinnedAnchors(grant: Grant): { kind: AnchorKind; anchor: PinnedAnchor }[] {
  const out: { kind: AnchorKind; anchor: PinnedAnchor }[] = [];
  for (const slot of ANCHOR_SLOTS) for (const a of slotList(grant, slot) ?? []) if (isPinned(a)) out.push({ kind: slot.kind, anchor: a });
  return out;
}

/** Ghost's by-slug read route for an anchor kind (relative to the Admin API root). */
export function anchorPath(kind: AnchorKind, slug: string): string {
  return `${kind}/slug/${encodeURIComponent(slug)}/?fields=id,slug`;
}

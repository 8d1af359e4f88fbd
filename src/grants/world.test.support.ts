import { authorize, type AuthorizeInput, type Decision } from '../pipeline/authorize/authorize.js';
import type { Anchor } from './grant.js';
import { matchesFilter } from './nql.js';
import { lookupKey, type Lookup } from './relations.js';

/**
 * A small Ghost world for grant tests: tags, staff users and labels with ids, and an authorize() that
 * answers relation lookups the way the pipeline does, with Ghost's own NQL matcher over these records
 * (so a test exercises the real lookup path, not a stub of it).
 */
type Json = Record<string, unknown>;
const id = (n: number) => n.toString(16).padStart(24, '0');
export const TAGS: Readonly<Record<string, Json>> = {
  partner: { id: id(0xa1), slug: 'partner', name: 'Partner' },
  news: { id: id(0xa2), slug: 'news', name: 'News' },
  internal: { id: id(0xa3), slug: 'internal', name: 'Internal' },
};
export const USERS: Readonly<Record<string, Json>> = {
  olive: { id: id(0xb1), slug: 'olive', email: 'olive@example.com' },
  ed: { id: id(0xb2), slug: 'ed', email: 'ed@example.com' },
};
export const LABELS: Readonly<Record<string, Json>> = {
  vip: { id: id(0xc1), slug: 'vip', name: 'VIP' },
  partner: { id: id(0xc2), slug: 'partner', name: 'partner' },
};
const WORLD: Readonly<Record<string, readonly Json[]>> = {
  tags: Object.values(TAGS),
  users: Object.values(USERS),
  labels: Object.values(LABELS),
};

/** A constraint anchor pinned to this world's record. */
export function pinned(kind: 'tags' | 'users' | 'labels', slug: string): Anchor {
  const rec = (kind === 'tags' ? TAGS : kind === 'users' ? USERS : LABELS)[slug];
  if (!rec) throw new Error(`no ${kind} ${slug} in the test world`);
  return { id: String(rec.id), slug };
}
/** A record's relation list as Ghost answers it: objects with ids. */
export const tagRefs = (slugs: readonly string[]) => slugs.map((s) => ({ ...TAGS[s]! }));

export function answer(lookups: readonly Lookup[]): Map<string, Json[]> {
  return new Map(
    lookups.map((l) => [
      lookupKey(l),
      (WORLD[l.resource] ?? []).filter((r) => l.all || matchesFilter(l.filter, r)).slice(0, l.all ? undefined : 2),
    ]),
  );
}

/** authorize(), with relation lookups answered from the world (other needs are returned as they are). */
export function decide(input: AuthorizeInput): Decision {
  let d = authorize(input);
  for (let i = 0; i < 3 && d.allow === 'need' && d.need.lookups && !d.need.body && !d.need.record && !d.need.ownedIds; i++) {
    const lookups = new Map([...(input.request.lookups ?? []), ...answer(d.need.lookups)]);
    input = { ...input, request: { ...input.request, lookups } };
    d = authorize(input);
  }
  return d;
}

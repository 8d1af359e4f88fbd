import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCatalog, type RouteEntry } from '../catalog/catalog.js';
import type { RequestFacts } from '../pipeline/authorize/authorize.js';
import { TAGS as WORLD_TAGS, decide, pinned, tagRefs } from './world.test.support.js';
import { compileGrant, GrantSchema, type Grant } from './grant.js';

/**
 * An independent reference model of the grant semantics, written from
 * docs/grants.md without reusing any of the gateway's grant code, and a
 * property: whatever authorize() allows, the reference permits. (The gateway
 * may refuse more — routes it cannot limit — never less.)
 */
type Rec = { id: string; status: string; visibility: string; tags: { id: string }[]; authors: { id: string }[] };
/** Constraint anchors name records by id (docs/grants.md). */
const anchorIdsOf = (list: readonly (string | { id: string })[]) => list.map((a) => (typeof a === 'string' ? a : a.id));
const idSet = (v: unknown) => new Set(Array.isArray(v) ? v.map((x) => String((x as { id?: unknown }).id)) : []);
const sameIds = (a: unknown, b: unknown) => {
  const x = idSet(a);
  const y = idSet(b);
  return x.size === y.size && [...x].every((i) => y.has(i));
};

function referencePermits(
  g: Grant,
  r: RouteEntry,
  f: { query: Map<string, string>; id: string; record: Rec | null; body: Partial<Rec> & Record<string, unknown>; owned: Set<string> },
): boolean {
  // 1. Scopes: exact, resource:*, or *.
  if (!(g.scopes.includes('*') || g.scopes.includes(r.scope) || g.scopes.includes(`${r.resource}:*`))) return false;
  if (r.resource !== 'posts') return true;
  const c = g.constraints?.posts ?? {};
  const rule = g.fields?.posts ?? {};
  // Denied query parameters.
  for (const k of f.query.keys()) if (rule.deny?.includes(k)) return false;
  // The record clauses, and ownership, as docs/grants.md states them.
  const clauses = (p: { status?: unknown; visibility?: unknown; tags?: { id: string }[]; authors?: { id: string }[] }) =>
    (!c.tags || (p.tags ?? []).some((t) => anchorIdsOf(c.tags!).includes(t.id))) &&
    (!c.authors || (p.authors ?? []).some((a) => anchorIdsOf(c.authors!).includes(a.id))) &&
    (!c.status || c.status.includes(p.status as never)) &&
    (!c.visibility || c.visibility.includes(p.visibility as never));
  const owns = (id: string | undefined) => !c.createdByKey || (id !== undefined && f.owned.has(id));
  const constrained = Boolean(c.tags || c.authors || c.status || c.visibility || c.createdByKey);
  const byId = r.segments[1] === ':id';
  if (byId && constrained && (f.record === null || !clauses(f.record) || !owns(f.record.id))) return false;
  const writes = r.action === 'add' || r.action === 'edit';
  if (writes && !r.flags.has('bulk')) {
    const before = r.action === 'edit' ? (f.record ?? undefined) : undefined;
    for (const [k, v] of Object.entries(f.body)) {
      if (rule.allow && !['id', 'updated_at'].includes(k) && !rule.allow.includes(k)) return false;
      const was = before === undefined ? undefined : (before as Record<string, unknown>)[k];
      // Relations are the same when they name the same records.
      const unchanged =
        before !== undefined && (k === 'tags' || k === 'authors' ? sameIds(was, v) : JSON.stringify(was) === JSON.stringify(v));
      if (rule.deny?.includes(k) && !unchanged) return false;
    }
    const next = { status: 'draft', visibility: 'public', ...(before ?? {}), ...f.body } as Rec;
    if (rule.status && !(before && next.status === before.status) && !rule.status.includes(next.status as never)) return false;
    if (r.action === 'add') {
      if (!clauses({ ...next, tags: f.body.tags ?? [], authors: f.body.authors ?? [] })) return false;
    } else if (!clauses(next)) {
      return false; // an edit must leave the record inside
    }
  }
  return true;
}

const catalog = loadCatalog();
const ROUTES = catalog.routes.filter(
  (r) => r.resource === 'posts' && ['browse', 'read', 'add', 'edit', 'destroy', 'copy'].includes(r.action),
);
const TAGS = ['partner', 'news'];
const STATUSES = ['draft', 'published', 'scheduled'] as const;
const IDS = ['a'.repeat(24), 'b'.repeat(24)];
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const grant = fc
  .record({
    scopes: fc.subarray([...new Set(ROUTES.map((r) => r.scope)), 'posts:*', '*']),
    tags: opt(fc.subarray(TAGS, { minLength: 1 })),
    status: opt(fc.subarray([...STATUSES], { minLength: 1 })),
    visibility: opt(fc.subarray(['public', 'paid'], { minLength: 1 })),
    byKey: fc.boolean(),
    deny: opt(fc.subarray(['authors', 'tags', 'visibility', 'newsletter', 'title'], { minLength: 1 })),
    statusRule: opt(fc.subarray([...STATUSES], { minLength: 1 })),
  })
  .map((x) =>
    GrantSchema.parse({
      version: 1,
      scopes: x.scopes,
      constraints: {
        posts: {
          ...(x.tags ? { tags: x.tags.map((t) => pinned('tags', t)) } : {}),
          ...(x.status ? { status: x.status } : {}),
          ...(x.visibility ? { visibility: x.visibility } : {}),
          ...(x.byKey ? { createdByKey: true } : {}),
        },
      },
      // No field rule at all unless one is drawn: constraint-only grants must be generated too.
      ...(x.deny || x.statusRule
        ? { fields: { posts: { ...(x.deny ? { deny: x.deny } : {}), ...(x.statusRule ? { status: x.statusRule } : {}) } } }
        : {}),
    }),
  );
const rec = fc.record(
  {
    id: fc.constantFrom(...IDS),
    status: fc.constantFrom(...STATUSES),
    visibility: fc.constantFrom('public', 'paid'),
    tags: fc.subarray(TAGS).map(tagRefs),
    authors: fc.constant([{ id: 'b1'.padStart(24, '0'), slug: 'olive' }]),
  },
  { noNullPrototype: true },
);
const body = fc.record(
  {
    title: fc.constant('t'),
    status: fc.constantFrom(...STATUSES),
    visibility: fc.constantFrom('public', 'paid'),
    tags: fc.subarray(TAGS).map((t) => t.map((slug) => ({ id: String(WORLD_TAGS[slug]!.id) }))),
  },
  { requiredKeys: ['title'], noNullPrototype: true },
);

test('property: authorize() never allows what the independent reference model forbids', () => {
  let allowed = 0;
  fc.assert(
    fc.property(grant, fc.constantFrom(...ROUTES), opt(rec), body, fc.subarray(IDS), fc.boolean(), (g, r, record, b, owned, newsletter) => {
      const query = new Map<string, string>(newsletter ? [['newsletter', 'weekly']] : []);
      const facts: RequestFacts = {
        query,
        params: { id: IDS[0]! },
        body: { posts: [b] },
        record: record ?? null,
        ownedIds: new Set(owned),
      };
      const d = decide({ grant: compileGrant(g), route: r, upstream: { ok: true }, request: facts });
      assert.notEqual(d.allow, 'need');
      if (d.allow === true) {
        allowed++;
        assert.ok(
          referencePermits(g, r, {
            query,
            id: IDS[0]!,
            record: (record as Rec | undefined) ?? null,
            body: b,
            owned: new Set(owned),
          }),
          `${r.method} ${r.path} allowed by the gateway, forbidden by the reference: ${JSON.stringify({ g, record, b, owned, newsletter })}`,
        );
      }
    }),
    { numRuns: 5000 },
  );
  assert.ok(allowed > 300, `only ${allowed} allowed decisions were compared`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCatalog } from '../catalog/catalog.js';
import type { RequestFacts } from '../pipeline/authorize/authorize.js';
import { anchorSlug } from './anchors.js';
import { decide, pinned, tagRefs } from './world.test.support.js';
import { compileGrant, GrantSchema, type Grant } from './grant.js';
import { constrainFilter, matchesFilter, parseFilter, serializeFilter, type NqlNode } from './nql.js';

const catalog = loadCatalog();
const ROUTES = catalog.routes.filter(
  (r) => ['posts', 'pages', 'members', 'webhooks', 'tags'].includes(r.resource) && !r.flags.has('public'),
);
const SCOPES = [...new Set(ROUTES.map((r) => r.scope))];
const TAGS = ['partner', 'news', 'internal'];
const STATUSES = ['draft', 'published', 'scheduled'] as const;
const IDS = ['a'.repeat(24), 'b'.repeat(24), 'c'.repeat(24)];

const subset = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const VISIBILITY = ['public', 'members', 'paid'] as const;
const postConstraint = fc.record(
  {
    tags: subset(TAGS).map((ts) => ts.map((t) => pinned('tags', t))),
    status: subset(STATUSES),
    visibility: subset(VISIBILITY),
    createdByKey: fc.boolean(),
  },
  { requiredKeys: [] },
);
const REDACTABLE = ['email', 'name', 'bio', 'note'];
const redaction = fc.record({ users: subset(REDACTABLE), members: subset(REDACTABLE) }, { requiredKeys: [] });
const fieldRule = fc.record(
  { deny: subset(['authors', 'tags', 'visibility', 'newsletter', 'status']), status: subset(STATUSES) },
  { requiredKeys: [] },
);

const wideGrant: fc.Arbitrary<Grant> = fc
  .record({
    scopes: fc.subarray(SCOPES),
    constraints: fc.option(fc.record({ posts: postConstraint }, { requiredKeys: [] }), { nil: undefined }),
    fields: fc.option(fc.record({ posts: fieldRule }, { requiredKeys: [] }), { nil: undefined }),
    redact: fc.option(redaction, { nil: undefined }),
  })
  .map((g) => GrantSchema.parse(JSON.parse(JSON.stringify({ version: 1, ...g }))));

/** A narrowing of a grant: fewer scopes, more or tighter constraints, more denied fields, more redactions. */
function narrowed(wide: Grant): fc.Arbitrary<Grant> {
  return fc
    .record({
      drop: fc.subarray(wide.scopes),
      tags: fc.option(subset(TAGS)),
      status: fc.option(subset(STATUSES)),
      visibility: fc.option(subset(VISIBILITY)),
      byKey: fc.boolean(),
      deny: fc.subarray(['authors', 'tags', 'visibility', 'slug']),
      redact: fc.option(redaction, { nil: undefined }),
    })
    .map(({ drop, tags, status, visibility, byKey, deny, redact }) => {
      const g = structuredClone(wide);
      g.scopes = g.scopes.filter((s) => !drop.includes(s));
      const pc = { ...(g.constraints?.posts ?? {}) };
      if (tags) pc.tags = pc.tags ? pc.tags.filter((t) => tags.includes(anchorSlug(t))) : tags.map((t) => pinned('tags', t));
      if (status) pc.status = pc.status ? pc.status.filter((s) => (status as readonly string[]).includes(s)) : status;
      if (visibility)
        pc.visibility = pc.visibility ? pc.visibility.filter((v) => (visibility as readonly string[]).includes(v)) : visibility;
      if (byKey) pc.createdByKey = true;
      // An emptied list means "nothing"; keep it non-empty with a value no record has.
      if (pc.tags && pc.tags.length === 0) pc.tags = [{ id: 'f'.repeat(24), slug: 'nothing-has-this-tag' }];
      if (pc.status && pc.status.length === 0) pc.status = ['sent'];
      if (pc.visibility && pc.visibility.length === 0) pc.visibility = ['tiers'];
      if (Object.keys(pc).length > 0) g.constraints = { ...(g.constraints ?? {}), posts: pc };
      // A field rule only when one is drawn: constraint-only grants stay constraint-only.
      if (deny.length)
        g.fields = {
          ...(g.fields ?? {}),
          posts: { ...(g.fields?.posts ?? {}), deny: [...new Set([...(g.fields?.posts?.deny ?? []), ...deny])] },
        };
      for (const [type, fields] of Object.entries(redact ?? {})) {
        const t = type as 'users' | 'members';
        g.redact = { ...(g.redact ?? {}), [t]: [...new Set([...(g.redact?.[t] ?? []), ...fields])] };
      }
      return GrantSchema.parse(g);
    });
}

const post = fc.record({
  id: fc.constantFrom(...IDS),
  status: fc.constantFrom(...STATUSES),
  visibility: fc.constantFrom(...VISIBILITY),
  tags: fc.subarray(TAGS).map(tagRefs),
  authors: fc.constant([{ id: 'b1'.padStart(24, '0'), slug: 'olive' }]),
});
const facts: fc.Arbitrary<{ routeIndex: number; facts: RequestFacts }> = fc
  .record({
    routeIndex: fc.nat({ max: ROUTES.length - 1 }),
    record: fc.option(post, { nil: null }),
    body: post.map(({ id: _id, ...rest }) => rest),
    owned: fc.subarray(IDS),
    filter: fc.option(fc.constantFrom('status:draft', 'tag:-partner', 'tag:news,featured:true'), { nil: undefined }),
    newsletter: fc.boolean(),
    // The relay row a webhook edit or delete names (src/webhooks/rule.ts RelayFact).
    webhook: fc.constantFrom(
      null,
      { event: 'site.changed', createdByKey: true },
      { event: 'post.published', createdByKey: true },
      { event: 'member.added', createdByKey: false },
    ),
  })
  .map(({ routeIndex, record, body, owned, filter, newsletter, webhook }) => {
    const r = ROUTES[routeIndex]!;
    const query = new Map<string, string>();
    if (filter) query.set('filter', filter);
    if (newsletter) query.set('newsletter', 'default');
    const bulkBody = { bulk: { action: 'featured' } };
    return {
      routeIndex,
      facts: {
        query,
        params: { id: IDS[0]!, slug: 'a-post' },
        body: r.flags.has('bulk') ? bulkBody : { [r.resource]: [body] },
        record,
        ownedIds: new Set(owned),
        webhook,
      },
    };
  });

test('property: a narrower grant never allows what a wider one refuses', () => {
  fc.assert(
    fc.property(
      wideGrant.chain((w) => fc.tuple(fc.constant(w), narrowed(w))),
      facts,
      ([wide, narrow], { routeIndex, facts: f }) => {
        const route = ROUTES[routeIndex]!;
        const w = decide({ grant: compileGrant(wide), route, upstream: { ok: true }, request: f });
        const n = decide({ grant: compileGrant(narrow), route, upstream: { ok: true }, request: f });
        assert.notEqual(w.allow, 'need');
        assert.notEqual(n.allow, 'need');
        if (n.allow === true) assert.equal(w.allow, true, `narrow allowed ${route.method} ${route.path} but wide refused`);
        // And what the wider grant hides, the narrower hides too.
        if (n.allow === true && w.allow === true) {
          for (const [type, fields] of w.effects.redact?.fields ?? [])
            for (const f of fields) assert.ok(n.effects.redact?.fields.get(type)?.has(f), `narrow shows ${type}.${f}`);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

// NQL: random filter trees over the fields a constraint uses.
const leaf: fc.Arbitrary<NqlNode> = fc.oneof(
  fc.record({ f: fc.constantFrom('tag', 'status'), v: fc.constantFrom(...TAGS, ...STATUSES) }).map(({ f, v }) => ({ [f]: v })),
  fc.record({ f: fc.constantFrom('tag', 'status'), v: fc.constantFrom(...TAGS, ...STATUSES) }).map(({ f, v }) => ({ [f]: { $ne: v } })),
  fc
    .record({ f: fc.constantFrom('tag', 'status', 'id'), vs: fc.subarray([...TAGS, ...STATUSES, ...IDS], { minLength: 1 }) })
    .map(({ f, vs }) => ({ [f]: { $in: vs } })),
  fc
    .record({ f: fc.constantFrom('tag', 'status'), vs: fc.subarray([...TAGS, ...STATUSES], { minLength: 1 }) })
    .map(({ f, vs }) => ({ [f]: { $nin: vs } })),
  fc.boolean().map((b) => ({ featured: b })),
);
const tree: fc.Arbitrary<NqlNode> = fc.letrec<{ node: NqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .record({ op: fc.constantFrom('$and', '$or'), xs: fc.array(tie('node'), { minLength: 2, maxLength: 3 }) })
      .map(({ op, xs }) => ({ [op]: xs })),
  ),
})).node;
const record = fc.record(
  { id: fc.constantFrom(...IDS), status: fc.constantFrom(...STATUSES), featured: fc.boolean(), tag: fc.subarray(TAGS) },
  { noNullPrototype: true },
);

test('property: generated NQL filters never escape the injected constraint', () => {
  const constraints = ['tag:[partner]', 'tag:[partner]+status:[draft]', `id:['${IDS[0]}','${IDS[1]}']`].map(parseFilter);
  fc.assert(
    fc.property(tree, fc.constantFrom(...constraints), fc.array(record, { minLength: 5, maxLength: 20 }), (client, constraint, records) => {
      const clientText = serializeFilter(client);
      const forwarded = constrainFilter(clientText, [constraint]);
      const constraintText = serializeFilter(constraint);
      for (const rec of records) {
        if (matchesFilter(forwarded, rec)) assert.ok(matchesFilter(constraintText, rec), `${forwarded} let through ${JSON.stringify(rec)}`);
        // And the AND is exact: nothing the client and the constraint both allow is lost.
        assert.equal(matchesFilter(forwarded, rec), matchesFilter(clientText, rec) && matchesFilter(constraintText, rec));
      }
    }),
    { numRuns: 500 },
  );
});

test('hostile filter strings are either refused or kept inside the constraint', () => {
  const constraint = parseFilter('tag:[partner]');
  const hostile = [
    'tag:partner,tag:-partner',
    'tag:-partner',
    ')',
    'tag:partner)+(id:-x',
    "tag:'partner'",
    '(tag:news',
    "id:-'000000000000000000000000'",
    'status:[draft,published,scheduled]',
  ];
  for (const h of hostile) {
    let forwarded: string;
    try {
      forwarded = constrainFilter(h, [constraint]);
    } catch {
      continue; // refused: does not parse
    }
    assert.ok(forwarded.endsWith("+tag:['partner']"), forwarded);
    assert.equal(matchesFilter(forwarded, { tag: ['news'] }), false, h);
  }
});

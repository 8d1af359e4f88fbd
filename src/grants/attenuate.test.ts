import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCatalog } from '../catalog/catalog.js';
import type { RequestFacts } from '../pipeline/authorize/authorize.js';
import { anchorSlug } from './anchors.js';
import { LABELS, decide, pinned, tagRefs } from './world.test.support.js';
import { SUBSET_CHECKED, inheritRules, subGrantProblems } from './attenuate.js';
import { compileGrant, GrantSchema, type Grant } from './grant.js';

const g = (doc: Record<string, unknown>) => GrantSchema.parse({ version: 1, ...doc });

test('a child may narrow scopes, tighten constraints, deny more and redact more', () => {
  const parent = g({
    scopes: ['posts:*', 'tags:browse'],
    constraints: { posts: { tags: ['partner', 'news'] } },
    fields: { posts: { deny: ['authors'] } },
    redact: { users: ['email'] },
  });
  assert.deepEqual(
    subGrantProblems(
      g({
        scopes: ['posts:browse'],
        constraints: { posts: { tags: ['partner'], status: ['draft'] } },
        fields: { posts: { deny: ['authors', 'slug'] } },
        redact: { users: ['email', 'name'] },
      }),
      parent,
    ),
    [],
  );
});

test('a child may not widen: every way is named', () => {
  const parent = g({
    scopes: ['posts:browse'],
    constraints: { posts: { tags: ['partner'], createdByKey: true } },
    fields: { posts: { deny: ['authors'], status: ['draft'] } },
    redact: { users: ['email'] },
  });
  const problems = subGrantProblems(
    g({
      scopes: ['posts:browse', 'posts:edit', '*'],
      constraints: { posts: { tags: ['partner', 'news'] }, webhooks: { createdByKey: false } },
      fields: { posts: {} },
    }),
    parent,
  );
  for (const p of [
    'scope posts:edit',
    'scope *',
    'tags must be a subset',
    'createdByKey must stay true',
    'deny must keep',
    'status must be a subset',
    'redact.users',
    'webhooks.createdByKey',
  ]) {
    assert.ok(
      problems.some((x) => x.includes(p)),
      `${p} in ${problems.join('; ')}`,
    );
  }
});

test('a child may not drop "never send email" nor reveal settings secrets its parent may not see (review finding)', () => {
  const parent = g({ scopes: ['members:add', 'settings:browse', 'keys:mint'], sendEmail: false });
  const problems = subGrantProblems(g({ scopes: ['members:add', 'settings:browse'], sendEmail: true, revealSettingSecrets: true }), parent);
  assert.ok(
    problems.some((p) => p.startsWith('sendEmail')),
    problems.join('; '),
  );
  assert.ok(
    problems.some((p) => p.startsWith('revealSettingSecrets')),
    problems.join('; '),
  );
  const inherited = inheritRules(g({ scopes: ['members:add'] }), parent);
  assert.equal(inherited.sendEmail, false, 'a child that says nothing inherits it');
  assert.deepEqual(subGrantProblems(inherited, parent), []);
  const legacy = g({ scopes: ['posts:edit'], fields: { posts: { deny: ['newsletter'] } } });
  // An older grant says "no email" by denying the newsletter field: a child dropping it is refused on both counts.
  const dropped = subGrantProblems(g({ scopes: ['posts:edit'], sendEmail: true }), legacy);
  assert.ok(dropped.some((p) => p.startsWith('sendEmail')) && dropped.some((p) => p.startsWith('fields.posts.deny')), dropped.join('; '));
});

test('every part of the grant schema has a subset rule for child keys', () => {
  assert.deepEqual([...SUBSET_CHECKED].sort(), Object.keys(GrantSchema.shape).sort());
});

test('a child without rules of its own inherits its parent’s', () => {
  const parent = g({ scopes: ['posts:browse'], constraints: { posts: { tags: ['partner'] } }, redact: { users: ['email'] } });
  const child = inheritRules(g({ scopes: ['posts:browse'] }), parent);
  assert.deepEqual(subGrantProblems(child, parent), []);
  assert.deepEqual(child.constraints, parent.constraints);
});

// Property: whatever a child the mint check accepts is allowed, its parent is allowed too.
const catalog = loadCatalog();
const ROUTES = catalog.routes.filter((r) => ['posts', 'tags', 'webhooks', 'members'].includes(r.resource) && !r.flags.has('public'));
const SCOPES = [...new Set(ROUTES.map((r) => r.scope)), 'posts:*', 'members:*', '*'];
const TAGS = ['partner', 'news', 'internal'];
const STATUSES = ['draft', 'published', 'scheduled'];
const IDS = ['a'.repeat(24), 'b'.repeat(24)];
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const grantArb: fc.Arbitrary<Grant> = fc
  .record({
    scopes: fc.subarray(SCOPES, { minLength: 1, maxLength: 8 }),
    tags: opt(fc.subarray(TAGS, { minLength: 1 })),
    status: opt(fc.subarray(STATUSES, { minLength: 1 })),
    byKey: fc.boolean(),
    labels: opt(fc.subarray(['vip', 'partner'], { minLength: 1 })),
    deny: opt(fc.subarray(['authors', 'tags', 'status', 'newsletter'], { minLength: 1 })),
    statusRule: opt(fc.subarray(STATUSES, { minLength: 1 })),
    whOwn: fc.boolean(),
  })
  .map((x) =>
    g({
      scopes: x.scopes,
      constraints: {
        posts: {
          ...(x.tags ? { tags: x.tags.map((t) => pinned('tags', t)) } : {}),
          ...(x.status ? { status: x.status } : {}),
          ...(x.byKey ? { createdByKey: true } : {}),
        },
        ...(x.labels ? { members: { labels: x.labels.map((l) => pinned('labels', l)) } } : {}),
        webhooks: { createdByKey: x.whOwn },
      },
      fields: { posts: { ...(x.deny ? { deny: x.deny } : {}), ...(x.statusRule ? { status: x.statusRule } : {}) } },
    }),
  );
const post = fc.record({
  id: fc.constantFrom(...IDS),
  status: fc.constantFrom(...STATUSES),
  tags: fc.subarray(TAGS).map(tagRefs),
  labels: fc.subarray(['vip', 'partner']).map((t) => t.map((slug) => ({ ...LABELS[slug]! }))),
});

/** Children derived from the parent (mostly accepted) or drawn at random (mostly refused by the check). */
function childOf(parent: Grant): fc.Arbitrary<Grant> {
  const derived = fc
    .record({
      scopes: fc.subarray(parent.scopes, { minLength: 1 }),
      tags: opt(fc.subarray(TAGS, { minLength: 1 })),
      byKey: fc.boolean(),
      deny: fc.subarray(['slug', 'visibility']),
    })
    .map(({ scopes, tags, byKey, deny }) => {
      const c = structuredClone(parent);
      c.scopes = scopes;
      const pc = { ...(c.constraints?.posts ?? {}) };
      if (tags) pc.tags = pc.tags ? pc.tags.filter((t) => tags.includes(anchorSlug(t))) : tags.map((t) => pinned('tags', t));
      if (pc.tags && pc.tags.length === 0) delete pc.tags;
      if (byKey) pc.createdByKey = true;
      c.constraints = { ...(c.constraints ?? {}), posts: pc };
      c.fields = {
        ...(c.fields ?? {}),
        posts: { ...(c.fields?.posts ?? {}), deny: [...new Set([...(c.fields?.posts?.deny ?? []), ...deny])] },
      };
      return GrantSchema.parse(c);
    });
  return fc.oneof(derived, grantArb);
}

test('property: a child key’s effective permission is always a subset of its parent’s', () => {
  let checked = 0;
  fc.assert(
    fc.property(
      grantArb.chain((p) => fc.tuple(fc.constant(p), childOf(p))),
      fc.nat({ max: ROUTES.length - 1 }),
      fc.option(post, { nil: null }),
      post,
      fc.subarray(IDS),
      ([parent, rawChild], ri, record, body, ownedByChild) => {
        const child = inheritRules(rawChild, parent);
        fc.pre(subGrantProblems(child, parent).length === 0);
        checked++;
        const route = ROUTES[ri]!;
        const { id: _id, ...item } = body;
        const base = {
          query: new Map<string, string>(),
          params: { id: IDS[0]!, slug: 's' },
          body: route.flags.has('bulk') ? { bulk: { action: 'feature' } } : { [route.resource]: [item] },
          record,
        };
        // A child's records are in its ancestors' ledgers too, so the parent owns at least as much.
        const childFacts: RequestFacts = { ...base, ownedIds: new Set(ownedByChild) };
        const parentFacts: RequestFacts = { ...base, ownedIds: new Set([...ownedByChild, ...IDS.slice(0, 1)]) };
        const c = decide({ grant: compileGrant(child), route, upstream: { ok: true }, request: childFacts });
        const p = decide({ grant: compileGrant(parent), route, upstream: { ok: true }, request: parentFacts });
        if (c.allow === true) assert.equal(p.allow, true, `child allowed ${route.method} ${route.path}, parent refused`);
      },
    ),
    { numRuns: 4000 },
  );
  assert.ok(checked > 200, `only ${checked} accepted children were checked`);
});

// ---- Each subset rule on its own (mutation testing: the property above reaches few of them).
const P = (slug: string) => ({
  id: slug
    .padEnd(24, '0')
    .replace(/[^0-9a-f]/g, 'a')
    .slice(0, 24),
  slug,
});
const problemsOf = (child: Record<string, unknown>, parent: Record<string, unknown>) =>
  subGrantProblems(g({ scopes: ['*'], ...child }), g({ scopes: ['*'], ...parent }));

test('subset rules: each constraint part is kept and not widened; anchors compare by id', () => {
  const parts: [string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
    ['tags', { posts: { tags: [P('aa'), P('bb')] } }, { posts: { tags: [P('bb')] } }, { posts: { tags: [P('bb'), P('cc')] } }],
    ['authors', { pages: { authors: [P('aa')] } }, { pages: { authors: [P('aa')] } }, { pages: { authors: [P('cc')] } }],
    [
      'status',
      { posts: { status: ['draft', 'published'] } },
      { posts: { status: ['draft'] } },
      { posts: { status: ['draft', 'scheduled'] } },
    ],
    [
      'visibility',
      { posts: { visibility: ['public'] } },
      { posts: { visibility: ['public'] } },
      { posts: { visibility: ['public', 'paid'] } },
    ],
    ['labels', { members: { labels: [P('aa')] } }, { members: { labels: [P('aa')] } }, { members: { labels: [P('bb')] } }],
    ['status', { members: { status: ['free'] } }, { members: { status: ['free'] } }, { members: { status: ['paid'] } }],
  ];
  for (const [part, parent, tighter, wider] of parts) {
    assert.deepEqual(problemsOf({ constraints: tighter }, { constraints: parent }), [], `${part}: tighter`);
    assert.equal(problemsOf({ constraints: wider }, { constraints: parent }).length, 1, `${part}: wider`);
    assert.equal(problemsOf({}, { constraints: parent }).length, 1, `${part}: dropped`);
    const other =
      Object.keys(parent)[0] === 'members'
        ? { members: { status: ['comped'] } }
        : { posts: { createdByKey: true }, pages: { createdByKey: true } };
    assert.equal(problemsOf({ constraints: other }, { constraints: parent }).length, 1, `${part}: replaced by another part`);
  }
  // Anchors: the same id is the same record whatever slug it shows; a slug alone never equals a pinned anchor.
  assert.deepEqual(
    problemsOf(
      { constraints: { posts: { tags: [{ id: P('aa').id, slug: 'renamed' }] } } },
      { constraints: { posts: { tags: [P('aa')] } } },
    ),
    [],
  );
  assert.equal(problemsOf({ constraints: { posts: { tags: ['aa'] } } }, { constraints: { posts: { tags: [P('aa')] } } }).length, 1);
  assert.deepEqual(problemsOf({ constraints: { posts: { tags: ['aa'] } } }, { constraints: { posts: { tags: ['aa', 'bb'] } } }), []);
  assert.equal(problemsOf({ constraints: { posts: { tags: ['cc'] } } }, { constraints: { posts: { tags: ['aa'] } } }).length, 1);
  assert.equal(problemsOf({ constraints: { posts: { tags: [P('aa')] } } }, { constraints: { posts: { tags: ['aa'] } } }).length, 1);
});

test('subset rules: createdByKey stays, for records and webhooks; no constraint on the parent leaves the child free', () => {
  assert.equal(
    problemsOf({ constraints: { posts: { status: ['draft'] } } }, { constraints: { posts: { createdByKey: true, status: ['draft'] } } })
      .length,
    1,
  );
  assert.deepEqual(problemsOf({ constraints: { posts: { createdByKey: true } } }, { constraints: { posts: { createdByKey: true } } }), []);
  assert.deepEqual(problemsOf({}, { constraints: { posts: { createdByKey: false } } }), [], 'createdByKey false restricts nothing');
  assert.equal(problemsOf({ constraints: { webhooks: { createdByKey: false } } }, {}).length, 1);
  assert.equal(
    problemsOf({ constraints: { webhooks: { createdByKey: false } } }, { constraints: { webhooks: { createdByKey: true } } }).length,
    1,
  );
  assert.deepEqual(
    problemsOf({ constraints: { webhooks: { createdByKey: false } } }, { constraints: { webhooks: { createdByKey: false } } }),
    [],
  );
  assert.deepEqual(problemsOf({ constraints: { webhooks: { createdByKey: true } } }, {}), []);
  assert.deepEqual(problemsOf({ constraints: { posts: { tags: [P('aa')] } } }, {}), []);
});

test('subset rules: field rules and redactions are kept; settings secrets stay blanked', () => {
  assert.deepEqual(
    problemsOf(
      { fields: { tags: { deny: ['slug', 'name'], allow: ['name'], status: ['draft'] } } },
      { fields: { tags: { deny: ['slug'], allow: ['name', 'slug'], status: ['draft', 'published'] } } },
    ),
    [],
  );
  assert.equal(problemsOf({ fields: { tags: { deny: ['name'] } } }, { fields: { tags: { deny: ['slug'] } } }).length, 1);
  assert.equal(problemsOf({}, { fields: { tags: { deny: ['slug'] } } }).length, 1);
  assert.equal(
    problemsOf({ fields: { tags: { deny: ['slug'] } } }, { fields: { tags: { deny: ['slug', 'name'] } } }).length,
    1,
    'every denied field is kept, not one of them',
  );
  assert.equal(problemsOf({ fields: { tags: { allow: ['name', 'description'] } } }, { fields: { tags: { allow: ['name'] } } }).length, 1);
  assert.equal(problemsOf({ fields: { tags: {} } }, { fields: { tags: { allow: ['name'] } } }).length, 1, 'no allow list is every field');
  assert.equal(problemsOf({ fields: { posts: { status: ['published'] } } }, { fields: { posts: { status: ['draft'] } } }).length, 1);
  assert.equal(problemsOf({ fields: { posts: {} } }, { fields: { posts: { status: ['draft'] } } }).length, 1);
  assert.equal(
    problemsOf({ fields: { tags: {} } }, { fields: { posts: { allow: ['title'], status: ['draft'] } } }).length,
    2,
    'a child without a rule for the resource has every field and status',
  );
  assert.deepEqual(problemsOf({ redact: { members: ['email', 'name'], users: ['email'] } }, { redact: { members: ['email'] } }), []);
  assert.equal(problemsOf({ redact: { members: ['name'] } }, { redact: { members: ['email'] } }).length, 1);
  assert.equal(problemsOf({ redact: { users: ['email'] } }, { redact: { members: ['email'] } }).length, 1);
  assert.deepEqual(problemsOf({ revealSettingSecrets: true }, { revealSettingSecrets: true }), []);
  assert.deepEqual(problemsOf({ revealSettingSecrets: false }, {}), []);
  assert.deepEqual(problemsOf({ sendEmail: false }, { sendEmail: false }), []);
  assert.deepEqual(problemsOf({ sendEmail: true }, {}), []);
});

test('inheritRules: each part the child leaves out comes from the parent; what it states is kept', () => {
  const parent = g({
    scopes: ['*'],
    constraints: { posts: { status: ['draft'] } },
    fields: { tags: { deny: ['slug'] } },
    redact: { members: ['email'] },
    narrow: { themes: { keepActive: true } },
    sendEmail: false,
  });
  const bare = inheritRules(g({ scopes: ['posts:browse'] }), parent);
  assert.deepEqual(bare, {
    version: 1,
    scopes: ['posts:browse'],
    constraints: parent.constraints,
    fields: parent.fields,
    redact: parent.redact,
    narrow: parent.narrow,
    sendEmail: false,
  });
  assert.notEqual(bare.constraints, parent.constraints, 'a copy, not the parent’s object');
  const own = g({
    scopes: ['posts:browse'],
    constraints: { posts: { status: ['draft'], visibility: ['public'] } },
    fields: { tags: { deny: ['slug', 'name'] } },
    redact: { members: ['email', 'name'] },
    narrow: { themes: { keepActive: true } },
    sendEmail: true,
  });
  assert.deepEqual(inheritRules(own, parent), own);
  assert.deepEqual(inheritRules(g({ scopes: ['posts:browse'] }), g({ scopes: ['*'] })), g({ scopes: ['posts:browse'] }));
  assert.equal(
    inheritRules(g({ scopes: ['posts:browse'] }), g({ scopes: ['*'], fields: { posts: { deny: ['newsletter'] } } })).sendEmail,
    false,
    'an older no-email grant',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../catalog/catalog.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../../catalog/permissions.js';
import { compileGrant } from '../../grants/grant.js';
import { authorize } from './authorize.js';

const catalog = loadCatalog();
const permissions = loadPermissions();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const integration = { kind: 'integration' as const, role: INTEGRATION_ROLE };
const editor = { kind: 'staff' as const, role: 'Editor' };
const owner = { kind: 'staff' as const, role: 'Owner' };
const NO_FACTS = { query: new Map<string, string>(), params: {} };

function decide(scopes: string[], m: string, p: string, cred: { kind: 'integration' | 'staff'; role: string } = integration) {
  const r = route(m, p);
  // A write body without relations: keys without tags:add and tags:edit have post bodies read (grants/relations.ts).
  const request =
    (m === 'POST' || m === 'PUT') && ['posts', 'pages', 'members'].includes(r.resource)
      ? { ...NO_FACTS, body: { [r.resource]: [{ title: 't' }] } }
      : NO_FACTS;
  return authorize({ grant: compileGrant({ version: 1, scopes }), route: r, upstream: upstreamReach(r, cred, permissions), request });
}

test('allows posts:browse when the key holds posts:browse', () => {
  assert.deepEqual(decide(['posts:browse'], 'GET', '/posts'), { allow: true, scope: 'posts:browse', effects: {} });
});

test('denies posts:edit when the key holds posts:browse only, naming the scope that would allow it', () => {
  const d = decide(['posts:browse'], 'PUT', '/posts/:id');
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.equal(d.code, 'SCOPE_MISSING');
    assert.match(d.message, /posts:edit/);
  }
});

test('resource wildcards and * cover every action of the resource', () => {
  assert.equal(decide(['posts:*'], 'DELETE', '/posts').allow, true);
  assert.equal(decide(['posts:*'], 'GET', '/pages').allow, false);
  assert.equal(decide(['*'], 'GET', '/pages').allow, true);
});

test('an empty grant denies every route (deny by default)', () => {
  for (const r of catalog.routes) {
    const d = authorize({ grant: compileGrant({ version: 1, scopes: [] }), route: r, upstream: { ok: true }, request: NO_FACTS });
    assert.equal(d.allow, false, `${r.method} ${r.path}`);
  }
});

test('pages scopes do not open posts routes and the other way round', () => {
  assert.equal(decide(['pages:browse'], 'GET', '/posts').allow, false);
  assert.equal(decide(['posts:browse'], 'GET', '/pages').allow, false);
});

test('with an Editor staff token upstream, settings:edit still cannot edit settings', () => {
  const d = decide(['settings:edit'], 'PUT', '/settings', editor);
  assert.equal(d.allow, false);
  if (!d.allow) assert.equal(d.code, 'UPSTREAM_FORBIDS');
  assert.equal(decide(['settings:edit'], 'PUT', '/settings', owner).allow, true);
  assert.equal(decide(['members:browse'], 'GET', '/members', editor).allow, false); // Editors hold no member.browse
  assert.equal(decide(['posts:add'], 'POST', '/posts', editor).allow, true);
});

test('with an integration key upstream, routes Ghost refuses to integrations are reported as such', () => {
  const d = decide(['integrations:browse'], 'GET', '/integrations');
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.equal(d.code, 'UPSTREAM_FORBIDS');
    assert.match(d.context, /integration allow-list/);
  }
  // Passes the allow-list but Admin Integration lacks db.exportContent (core/server/data/schema/fixtures/fixtures.json gives the Admin Integration role no db exportContent).
  assert.equal(decide(['db:exportContent'], 'GET', '/db').allow, false);
  // A webhook write needs its body (the event decides the scope, src/webhooks/rule.ts).
  assert.equal(decide(['webhooks:add'], 'POST', '/webhooks').allow, 'need');
  const r = route('POST', '/webhooks');
  const body = { webhooks: [{ event: 'site.changed', target_url: 'https://example.com/hook' }] };
  assert.equal(
    authorize({
      grant: compileGrant({ version: 1, scopes: ['webhooks:add'] }),
      route: r,
      upstream: upstreamReach(r, integration, permissions),
      request: { ...NO_FACTS, body },
    }).allow,
    true,
  );
});

test('the gateway’s own identity is refused to a key holding every scope (the escalation step is asked)', () => {
  // Staff upstream: the staff user's token, and the user itself by `me`.
  const token = decide(['*'], 'GET', '/users/:id/token', owner);
  assert.equal(token.allow === false && token.code, 'IDENTITY_PROTECTED', 'the staff token is the upstream credential');
  const me = authorize({
    grant: compileGrant({ version: 1, scopes: ['*'] }),
    route: route('DELETE', '/users/:id'),
    upstream: { ok: true },
    request: { ...NO_FACTS, params: { id: 'me' } },
  });
  assert.equal(me.allow === false && me.code, 'IDENTITY_PROTECTED', '`me` is the upstream user');
});

test('no staff token may delete all content, even the Owner', () => {
  assert.equal(decide(['db:deleteAllContent'], 'DELETE', '/db', owner).allow, false);
});

// ---- What Ghost reads, decided as Ghost reads it (issues "Decide on exactly what Ghost will execute", "No way around the grant").
import { GrantSchema } from '../../grants/grant.js';
import { decide as decideInWorld, pinned, tagRefs, TAGS } from '../../grants/world.test.support.js';
import type { RequestFacts } from './authorize.js';

const POST_ID = 'd'.repeat(24);
function ask(grantDoc: Record<string, unknown>, m: string, p: string, facts: Partial<RequestFacts> = {}) {
  const r = route(m, p);
  const request: RequestFacts = { query: new Map(), params: { id: POST_ID }, ...facts };
  return decideInWorld({ grant: compileGrant(GrantSchema.parse({ version: 1, ...grantDoc })), route: r, upstream: { ok: true }, request });
}
const code = (d: ReturnType<typeof ask>) => (d.allow === false ? d.code : d.allow);

test('every filter is forwarded in the gateway’s own spelling, also for keys without rules', () => {
  const d = ask({ scopes: ['pages:browse'] }, 'GET', '/pages', { query: new Map([['filter', 'a:1,b:2']]) });
  assert.equal(d.allow, true);
  if (d.allow)
    assert.equal(
      new URLSearchParams(d.effects.query).get('filter'),
      'a:1,b:2',
      'no parentheses at the top: Ghost wraps it in its own, and nql-lang misreads a group in a group',
    );
  const mentions = ask({ scopes: ['mentions:browse', 'posts:read', 'pages:read'] }, 'GET', '/mentions', {
    query: new Map([['filter', 'a:1,b:2']]),
  });
  assert.equal(mentions.allow, true, 'mentions expose posts and pages: their read scopes');
  if (mentions.allow)
    assert.equal(
      new URLSearchParams(mentions.effects.query).get('filter'),
      '(a:1,b:2)',
      'mentions appends `+source:...` without parentheses',
    );
  assert.equal(
    code(ask({ scopes: ['posts:browse'] }, 'GET', '/posts', { query: new Map([['filter', '((tag:news,tag:partner))']]) })),
    'FILTER_INVALID',
    'a group in a group is not forwarded',
  );
  assert.equal(
    code(ask({ scopes: ['pages:bulkDestroy'] }, 'DELETE', '/pages', { query: new Map([['filter', "id:'x'),(type:post"]]) })),
    'FILTER_INVALID',
  );
});

test('posts and pages are told apart by the route: `type` in a filter is refused, bulk routes get the type', () => {
  assert.equal(
    code(ask({ scopes: ['posts:bulkDestroy'] }, 'DELETE', '/posts', { query: new Map([['filter', 'type:page+slug:x']]) })),
    'FILTER_INVALID',
  );
  assert.equal(code(ask({ scopes: ['posts:browse'] }, 'GET', '/posts', { query: new Map([['filter', 'TYPE:page']]) })), 'FILTER_INVALID');
  // A bulk edit's body is read (its addTag may create tags): a feature action passes.
  const d = ask({ scopes: ['posts:bulkEdit'] }, 'PUT', '/posts/bulk', {
    query: new Map([['filter', 'featured:false']]),
    body: { bulk: { action: 'feature' } },
  });
  assert.equal(d.allow, true);
  if (d.allow) assert.equal(new URLSearchParams(d.effects.query).get('filter'), "featured:false+type:'post'");
  const none = ask({ scopes: ['posts:bulkDestroy'] }, 'DELETE', '/posts');
  if (none.allow === true) assert.equal(new URLSearchParams(none.effects.query).get('filter'), "type:'post'", 'even with no filter');
});

test('copy, gift links and previews check the record they name: a page route given a post id is not found', () => {
  const d = ask({ scopes: ['pages:copy', 'pages:read'] }, 'POST', '/pages/:id/copy');
  assert.equal(d.allow, 'need');
  if (d.allow === 'need') assert.deepEqual(d.need.record?.resource, 'pages');
  assert.equal(code(ask({ scopes: ['pages:copy', 'pages:read'] }, 'POST', '/pages/:id/copy', { record: null })), 'RECORD_OUTSIDE_GRANT');
  assert.equal(
    code(ask({ scopes: ['pages:copy'] }, 'POST', '/pages/:id/copy', { record: { id: POST_ID }, recordType: 'pages' })),
    'SCOPE_MISSING',
    'a copy returns the whole page: it needs pages:read',
  );
  const preview = ask(
    { scopes: ['email_previews:read', 'posts:read', 'pages:read'], constraints: { pages: { tags: [pinned('tags', 'partner')] } } },
    'GET',
    '/email_previews/posts/:id',
  );
  assert.equal(preview.allow, 'need');
  if (preview.allow === 'need') assert.equal(preview.need.record?.resource, 'post-or-page', 'the type is learnt from Ghost');
  const outside = ask(
    { scopes: ['email_previews:read', 'posts:read', 'pages:read'], constraints: { pages: { tags: [pinned('tags', 'partner')] } } },
    'GET',
    '/email_previews/posts/:id',
    { record: { id: POST_ID, tags: tagRefs(['news']) }, recordType: 'pages' },
  );
  assert.equal(code(outside), 'RECORD_OUTSIDE_GRANT');
});

test('side channels of constrained resources need that resource’s read scope, and are refused when the key is limited on it', () => {
  assert.equal(code(ask({ scopes: ['comments:browseAll'] }, 'GET', '/comments')), 'SCOPE_MISSING');
  assert.equal(code(ask({ scopes: ['comments:browseAll', 'members:browse', 'posts:browse', 'pages:browse'] }, 'GET', '/comments')), true);
  assert.equal(
    code(
      ask(
        {
          scopes: ['comments:browseAll', 'members:browse', 'posts:browse', 'pages:browse'],
          constraints: { posts: { tags: [pinned('tags', 'partner')] } },
        },
        'GET',
        '/comments',
      ),
    ),
    'CONSTRAINT_UNENFORCEABLE',
  );
  const counts = { query: new Map([['include', 'count.posts']]) };
  assert.equal(
    code(
      ask(
        { scopes: ['tags:browse', 'posts:browse', 'pages:browse'], constraints: { posts: { tags: [pinned('tags', 'partner')] } } },
        'GET',
        '/tags',
        counts,
      ),
    ),
    'CONSTRAINT_UNENFORCEABLE',
  );
  assert.equal(
    code(
      ask(
        { scopes: ['tags:browse', 'posts:browse', 'pages:browse'], constraints: { posts: { tags: [pinned('tags', 'partner')] } } },
        'GET',
        '/tags',
      ),
    ),
    true,
    'without the count include',
  );
});

test('a relation reference that writes to a tag needs the tag scope; one that moves the post out of its constraint is refused', () => {
  const writer = { scopes: ['posts:edit', 'posts:read'], constraints: { posts: { tags: [pinned('tags', 'partner')] } } };
  const record = { id: POST_ID, status: 'draft', tags: tagRefs(['partner']), authors: [] };
  const edit = (tags: unknown) => ask(writer, 'PUT', '/posts/:id', { body: { posts: [{ tags }] }, record });
  assert.equal(code(edit([{ id: TAGS.news!.id, slug: 'partner' }])), 'SCOPE_MISSING', 'renaming news to partner through a post');
  assert.equal(code(edit([{ slug: 'partner', name: 'Partner!' }])), 'SCOPE_MISSING', 'creating partner-3 through a post');
  assert.equal(code(edit([{ id: TAGS.news!.id }])), 'BODY_OUTSIDE_GRANT', 'untagging by id');
  assert.equal(code(edit([{ id: TAGS.partner!.id }, { slug: 'news' }])), true);
  assert.equal(
    code(
      ask({ ...writer, scopes: [...writer.scopes, 'tags:add'] }, 'PUT', '/posts/:id', {
        body: { posts: [{ tags: [{ slug: 'partner', name: 'Partner!' }] }] },
        record,
      }),
    ),
    'BODY_OUTSIDE_GRANT',
    'the created tag is not the anchor',
  );
  // Without any rule, a posts key still may not create or rename tags.
  assert.equal(
    code(ask({ scopes: ['posts:add'] }, 'POST', '/posts', { body: { posts: [{ title: 't', tags: ['New tag'] }] } })),
    'SCOPE_MISSING',
  );
  assert.equal(
    code(
      ask({ scopes: ['posts:add', 'tags:add', 'tags:edit'] }, 'POST', '/posts', { body: { posts: [{ title: 't', tags: ['New tag'] }] } }),
    ),
    true,
  );
});

test('never sending email: a post with a newsletter or an email record may not be published again', () => {
  const g = { scopes: ['posts:edit'], sendEmail: false };
  const publish = { body: { posts: [{ status: 'published' }] } };
  assert.equal(
    code(
      ask(g, 'PUT', '/posts/:id', {
        ...publish,
        record: { id: POST_ID, status: 'draft', newsletter: { id: 'n' }, email: { status: 'failed' } },
      }),
    ),
    'FIELD_REFUSED',
  );
  assert.equal(
    code(ask(g, 'PUT', '/posts/:id', { ...publish, record: { id: POST_ID, status: 'draft', newsletter: null, email: null } })),
    true,
  );
  assert.equal(
    code(ask(g, 'PUT', '/posts/:id', { query: new Map([['newsletter', 'weekly']]), body: { posts: [{ title: 'x' }] } })),
    'FIELD_REFUSED',
  );
  assert.equal(
    code(
      ask({ scopes: ['members:add'], sendEmail: false }, 'POST', '/members', {
        query: new Map([['send_email', 'false']]),
        body: { members: [{ email: 'a@b.c' }] },
      }),
    ),
    'FIELD_REFUSED',
    'any value of send_email sends',
  );
  assert.equal(
    code(
      ask({ scopes: ['posts:edit'], fields: { posts: { deny: ['newsletter'] } } }, 'PUT', '/posts/:id', {
        ...publish,
        record: { id: POST_ID, status: 'draft', newsletter: { id: 'n' }, email: null },
      }),
    ),
    'FIELD_REFUSED',
    'older grants that deny the newsletter field mean the same',
  );
});

test('a key limited to free members may not make one comped or paid', () => {
  const g = { scopes: ['members:add', 'members:edit', 'labels:add', 'labels:edit'], constraints: { members: { status: ['free'] } } };
  assert.equal(
    code(ask(g, 'POST', '/members', { body: { members: [{ email: 'a@b.c', tiers: [{ id: 'f'.repeat(24) }] }] } })),
    'BODY_OUTSIDE_GRANT',
  );
  assert.equal(code(ask(g, 'POST', '/members', { body: { members: [{ email: 'a@b.c', comped: true }] } })), 'BODY_OUTSIDE_GRANT');
  assert.equal(
    code(ask(g, 'POST', '/members', { body: { members: [{ email: 'a@b.c', stripe_customer_id: 'cus_1' }] } })),
    'BODY_OUTSIDE_GRANT',
  );
  assert.equal(code(ask(g, 'POST', '/members', { body: { members: [{ email: 'a@b.c', name: 'A' }] } })), true);
});

test('redacted fields may not be queried, but other filters pass', () => {
  const g = { scopes: ['members:browse'], redact: { members: ['email'] } };
  assert.equal(code(ask(g, 'GET', '/members', { query: new Map([['filter', "email:~'a'"]]) })), 'REDACTED_FIELD_QUERIED');
  assert.equal(code(ask(g, 'GET', '/members', { query: new Map([['search', 'a']]) })), 'REDACTED_FIELD_QUERIED');
  assert.equal(code(ask(g, 'GET', '/members', { query: new Map([['filter', 'status:free']]) })), true);
});

test('settings answers have secrets blanked for every key that does not reveal them', () => {
  const d = ask({ scopes: ['settings:browse'] }, 'GET', '/settings');
  assert.ok(d.allow === true && d.effects.redact?.settingSecrets, 'd.allow === true && d.effects.redact?.settingSecrets');
  const r = ask({ scopes: ['settings:browse'], revealSettingSecrets: true }, 'GET', '/settings');
  assert.ok(r.allow === true && !r.effects.redact, 'r.allow === true && !r.effects.redact');
});

test('a tag written through a post reference follows the key’s tag field rules (review finding)', () => {
  const g = {
    scopes: ['posts:edit', 'posts:read', 'tags:browse', 'tags:read', 'tags:edit', 'tags:add'],
    fields: { tags: { deny: ['name', 'slug'] } },
  };
  const record = { id: POST_ID, status: 'draft', tags: tagRefs(['partner']), authors: [] };
  const edit = (tags: unknown) => ask(g, 'PUT', '/posts/:id', { body: { posts: [{ tags }] }, record });
  assert.equal(
    code(edit([{ id: TAGS.partner!.id }, { id: TAGS.internal!.id, name: 'Internal-renamed', slug: 'internal-renamed' }])),
    'FIELD_REFUSED',
  );
  assert.equal(code(edit([{ name: 'A brand new tag' }])), 'FIELD_REFUSED', 'creating one sets its name');
  assert.equal(code(edit([{ id: TAGS.partner!.id }, { id: TAGS.internal!.id }])), true, 'references alone write nothing');
});

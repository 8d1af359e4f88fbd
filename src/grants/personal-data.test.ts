import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { GrantSchema } from './grant.js';
import { checkOracles, redact, redactionsOf, type Redactions } from './personal-data.js';

const catalog = loadCatalog();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const rules = (redactDoc: Record<string, string[]>, extra: Record<string, unknown> = {}): Redactions =>
  redactionsOf(GrantSchema.parse({ version: 1, scopes: ['*'], redact: redactDoc, ...extra }))!;
const MEMBER = 'mo@members.example';
const STAFF = 'olive@staff.example';

/** Every string in a JSON value (to prove a value is gone from every place, whatever its key). */
const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

test('a redacted member email is removed from every place Ghost puts it or a copy of it', () => {
  const answer = {
    members: [
      {
        email: MEMBER,
        name: 'Mo',
        avatar_image: 'https://www.gravatar.com/avatar/hash-of-email',
        unsubscribe_url: 'https://site/unsubscribe/?uuid=u&key=k',
        email_recipients: [{ member_email: MEMBER, member_name: 'Mo', email_id: 'e' }],
        subscriptions: [{ customer: { id: 'cus_1', email: MEMBER, name: 'Mo' } }],
      },
    ],
    events: [{ type: 'email_change_event', data: { to_email: MEMBER, from_email: MEMBER, member: { email: MEMBER } } }],
    comments: [{ member: { email: MEMBER }, replies: [{ member: { email: MEMBER } }], parent: { member: { email: MEMBER } } }],
    comment_likes: [{ member: { email: MEMBER, transient_id: 't' } }],
    failures: [{ member: { email: MEMBER }, email_recipient: { member_email: MEMBER } }],
    actions: [{ context: { primary_name: MEMBER } }],
  };
  const removed = redact(answer, rules({ members: ['email'] }));
  assert.ok(!strings(answer).includes(MEMBER), JSON.stringify(answer));
  assert.ok(!strings(answer).some((s) => s.includes('gravatar')), 'the Gravatar URL derives from the email');
  assert.ok(removed >= 14, String(removed));
  assert.ok(strings(answer).includes('Mo'), 'names stay when only emails are redacted');
});

test('a redacted staff email leaves posts’ authors, revision authors, sender and support addresses', () => {
  const answer = {
    posts: [
      {
        authors: [{ email: STAFF, name: 'Olive' }],
        primary_author: { email: STAFF },
        post_revisions: [{ author: { email: STAFF } }],
        email: { from: STAFF, reply_to: STAFF, subject: 's' },
        newsletter: { sender_email: STAFF, sender_reply_to: STAFF },
      },
    ],
    settings: [
      { key: 'members_support_address', value: STAFF },
      { key: 'title', value: 'Site' },
    ],
    invites: [{ email: STAFF }],
  };
  redact(answer, rules({ users: ['email'] }));
  assert.ok(!strings(answer).includes(STAFF), JSON.stringify(answer));
  assert.ok(strings(answer).includes('Site'), "strings(answer).includes('Site')");
});

test('author attribution titles are staff names; other attributions keep their title', () => {
  const answer = { members: [{ attribution: { type: 'author', title: 'Olive' } }, { attribution: { type: 'post', title: 'A post' } }] };
  redact(answer, rules({ users: ['name'] }));
  assert.ok(!strings(answer).includes('Olive'), "!strings(answer).includes('Olive')");
  assert.ok(strings(answer).includes('A post'), "strings(answer).includes('A post')");
});

test('settings secrets are blanked by default and shown only when the grant reveals them', () => {
  const settings = () => ({
    settings: [
      { key: 'password', value: 'hunter2' },
      { key: 'public_hash', value: 'abcdef' },
      { key: 'slack_url', value: 'https://hooks.slack.com/services/T/B/X' },
      { key: 'some_api_key', value: 'x' },
      { key: 'unknown_thing', value: 'a'.repeat(40).replace(/a/g, 'f') },
      { key: 'title', value: 'Site' },
    ],
  });
  const settingsRoute = route('GET', '/settings');
  const plain = settings();
  redact(plain, redactionsOf(GrantSchema.parse({ version: 1, scopes: ['settings:browse'] }), settingsRoute)!);
  assert.deepEqual(
    plain.settings.map((s) => s.value),
    [null, null, null, null, null, 'Site'],
  );
  assert.equal(
    redactionsOf(GrantSchema.parse({ version: 1, scopes: ['settings:browse'], revealSettingSecrets: true }), settingsRoute),
    undefined,
  );
});

test('filters, orders and searches that test a redacted field are refused in every spelling Ghost reads', () => {
  const members = route('GET', '/members');
  const q = (k: string, v: string) => new Map([[k, v]]);
  const r = rules({ members: ['email', 'name'] });
  for (const filter of [
    "email:~'a'",
    "EMAIL:~'a'",
    "members.email:>'a'",
    "email_recipients.member_email:~'a',id:'x'",
    'name:-null',
    "status:free+(email:~'b',id:null)",
  ]) {
    assert.ok(checkOracles(r, members, q('filter', filter)), filter);
  }
  assert.equal(checkOracles(r, members, q('filter', 'status:free+label:vip')), undefined);
  assert.ok(checkOracles(r, members, q('order', 'email asc')), "checkOracles(r, members, q('order', 'email asc'))");
  assert.ok(
    checkOracles(r, members, q('order', 'created_at desc, MEMBERS.NAME asc')),
    "checkOracles(r, members, q('order', 'created_at desc, MEMBERS.NAME asc'))",
  );
  assert.equal(checkOracles(r, members, q('order', 'created_at desc')), undefined);
  assert.ok(checkOracles(r, members, q('search', 'mo')), "checkOracles(r, members, q('search', 'mo'))");
  assert.equal(checkOracles(rules({ members: ['note'] }), members, q('search', 'mo')), undefined, 'search matches names and emails only');
});

test('staff fields are protected through posts’ author relations and the by-email route', () => {
  const r = rules({ users: ['email'] });
  assert.ok(
    checkOracles(r, route('GET', '/posts'), new Map([['filter', "authors.email:~'o'"]])),
    "checkOracles(r, route('GET', '/posts'), new Map([['filter', \"authors.email:~'o'\"]]))",
  );
  assert.ok(
    checkOracles(r, route('GET', '/posts'), new Map([['filter', "authors.EMAIL:~'o'"]])),
    "checkOracles(r, route('GET', '/posts'), new Map([['filter', \"authors.EMAIL:~'o'\"]]))",
  );
  assert.equal(checkOracles(r, route('GET', '/posts'), new Map([['filter', 'authors.slug:olive']])), undefined);
  assert.ok(
    checkOracles(r, route('GET', '/users/email/:email'), new Map()),
    "checkOracles(r, route('GET', '/users/email/:email'), new Map())",
  );
  assert.ok(
    checkOracles(r, route('GET', '/invites'), new Map([['filter', "email:~'x'"]])),
    "checkOracles(r, route('GET', '/invites'), new Map([['filter', \"email:~'x'\"]]))",
  );
  assert.ok(
    checkOracles(rules({ members: ['email'] }), route('GET', '/actions'), new Map([['filter', "context:~'@x'"]])),
    "checkOracles(rules({ members: ['email'] }), route('GET', '/actions'), new Map([['filter', \"context:~'@x'\"]]))",
  );
});

test('a redacted post body is removed from revisions, the excerpt made from it and its newsletter email (review finding)', () => {
  const BODY = 'Body of the secret draft';
  const answer = {
    posts: [
      {
        html: `<p>${BODY}</p>`,
        plaintext: BODY,
        excerpt: BODY,
        post_revisions: [{ lexical: `{"text":"${BODY}"}`, title: 't' }],
        email: { html: BODY, plaintext: BODY, source: BODY, subject: 's' },
      },
    ],
    pages: [{ html: BODY, excerpt: BODY, post_revisions: [{ lexical: BODY }] }],
  };
  redact(answer, rules({ posts: ['html', 'plaintext', 'lexical', 'mobiledoc'] }));
  assert.ok(!strings(answer.posts).some((v) => v.includes(BODY)), JSON.stringify(answer.posts));
  assert.ok(
    strings(answer.pages).some((v) => v.includes(BODY)),
    'pages are their own type',
  );
  redact(answer, rules({ pages: ['html', 'lexical'] }));
  assert.ok(!strings(answer.pages).some((v) => v.includes(BODY)), JSON.stringify(answer.pages));
});

test('redacted tag fields and sender addresses cannot be filtered through relations either (review finding)', () => {
  const q = (k: string, v: string) => new Map([[k, v]]);
  const tagDesc = rules({ tags: ['description'] });
  assert.ok(
    checkOracles(tagDesc, route('GET', '/tags'), q('filter', "description:~'secret'")),
    "checkOracles(tagDesc, route('GET', '/tags'), q('filter', \"description:~'secret'\"))",
  );
  assert.ok(
    checkOracles(tagDesc, route('GET', '/posts'), q('filter', "tags.description:~'secret'")),
    "checkOracles(tagDesc, route('GET', '/posts'), q('filter', \"tags.description:~'secret'\"))",
  );
  assert.ok(
    checkOracles(tagDesc, route('GET', '/pages'), q('filter', "tags.DESCRIPTION:~'secret'")),
    "checkOracles(tagDesc, route('GET', '/pages'), q('filter', \"tags.DESCRIPTION:~'secret'\"))",
  );
  const staff = rules({ users: ['email'] });
  assert.ok(
    checkOracles(staff, route('GET', '/members'), q('filter', "newsletters.sender_email:~^'o'")),
    "checkOracles(staff, route('GET', '/members'), q('filter', \"newsletters.sender_email:~^'o'\"))",
  );
  assert.equal(checkOracles(staff, route('GET', '/members'), q('filter', 'newsletters.slug:weekly')), undefined);
  assert.ok(
    checkOracles(rules({ posts: ['meta_description'] }), route('GET', '/posts'), q('filter', "posts_meta.meta_description:~'x'")),
    "checkOracles(rules({ posts: ['meta_description'] }), route('GET', '/posts'), q('filter', \"posts_meta.meta_description:~'x'\"))",
  );
});

test('filters through relations: revisions are the post’s own fields, every relation Ghost knows is judged, an unknown one is refused', () => {
  const q = (f: string) => new Map([['filter', f]]);
  const posts = route('GET', '/posts');
  const body = rules({ posts: ['lexical', 'plaintext'] });
  assert.ok(checkOracles(body, posts, q("post_revisions.lexical:~'secret'")), 'a revision holds the redacted body');
  assert.equal(checkOracles(body, posts, q('post_revisions.post_status:draft')), undefined);
  assert.ok(checkOracles(body, posts, q('primary_tag.slug:x')), 'not a relation of posts: refused, not guessed');
  assert.equal(checkOracles(body, route('GET', '/pages'), q("post_revisions.LEXICAL:~'s'")), undefined, 'pages are their own type');
  assert.ok(
    checkOracles(rules({ pages: ['lexical'] }), route('GET', '/pages'), q("post_revisions.LEXICAL:~'s'")),
    "checkOracles(rules({ pages: ['lexical'] }), route('GET', '/pages'), q(\"post_revisions.LEXICAL:~'s'\"))",
  );
  const members = route('GET', '/members');
  const email = rules({ members: ['email'] });
  for (const f of ['labels.slug:vip', 'products.slug:gold', 'subscriptions.status:active', 'newsletters.slug:weekly', 'feedback.score:1'])
    assert.equal(checkOracles(email, members, q(f)), undefined, f);
  assert.ok(
    checkOracles(email, members, q("stripe_customers.email:~'a'")),
    'checkOracles(email, members, q("stripe_customers.email:~\'a\'"))',
  );
  assert.equal(checkOracles(rules({ users: ['email'] }), route('GET', '/users'), q('roles.name:Editor')), undefined);
});

// ---- Each rule on its own (mutation testing).
test('redactionsOf: nothing to do is no redaction; settings secrets only on settings routes', () => {
  const g = (doc: Record<string, unknown>) => GrantSchema.parse({ version: 1, scopes: ['*'], ...doc });
  assert.equal(redactionsOf(g({ revealSettingSecrets: true })), undefined);
  assert.equal(redactionsOf(g({}), route('GET', '/posts')), undefined);
  assert.deepEqual(redactionsOf(g({}), route('GET', '/settings')), { fields: new Map(), settingSecrets: true });
  assert.deepEqual(redactionsOf(g({})), { fields: new Map(), settingSecrets: true }, 'no route: the strictest');
  const r = redactionsOf(g({ redact: { members: ['email'] } }), route('GET', '/posts'))!;
  assert.equal(r.settingSecrets, false);
  assert.deepEqual([...r.fields.get('members')!], ['email']);
});

test('redact: counts what it removes, leaves empty settings and object-valued copies, and reads revisions as their post', () => {
  const r = rules({ members: ['email'], settings: ['title'], posts: ['title'], pages: ['title'] });
  const answer = {
    members: [{ email: MEMBER, name: 'Mo', email_recipients: [{ member_email: MEMBER, member_name: 'Mo' }] }],
    settings: [
      { key: 'title', value: '' },
      { key: 'description', value: 'kept' },
      { key: 'title', value: 'Site' },
      { key: 'title', value: null },
    ],
    posts: [{ title: 'T', post_revisions: [{ title: 'old' }] }],
    pages: [{ title: 'P', post_revisions: [{ title: 'old page' }] }],
    other: { post_revisions: [{ title: 'no post around it' }] },
  };
  assert.equal(redact(answer, r), 7);
  assert.deepEqual(answer.members, [{ name: 'Mo', email_recipients: [{ member_name: 'Mo' }] }]);
  assert.deepEqual(
    answer.settings.map((s) => s.value),
    ['', 'kept', null, null],
  );
  assert.deepEqual(answer.posts, [{ post_revisions: [{}] }]);
  assert.deepEqual(answer.pages, [{ post_revisions: [{}] }]);
  assert.deepEqual(answer.other, { post_revisions: [{ title: 'no post around it' }] });
  const nested = { email_recipients: [{ member_email: { not: 'a string' } }] };
  assert.equal(redact(nested, r), 0, 'a copy is a plain value');
  assert.equal(redact({ members: [{ name: 'Mo' }] }, r), 0, 'a redacted field the record does not have is not counted as removed');
  assert.equal(redact('text', r), 0);
  assert.equal(redact(null, r), 0);
  // A copy whose parent key differs is not that copy: `data` holds an email only inside events.
  const data = { events: [{ data: { email: MEMBER } }], other: { data: { email: 'kept' } } };
  assert.equal(redact(data, r), 1);
  assert.deepEqual(data.other, { data: { email: 'kept' } });
  const settingCopy = { settings: [{ key: 'members_support_address', value: STAFF }] };
  assert.equal(redact(settingCopy, rules({ users: ['email'] })), 1);
  assert.equal(redact({ settings: [{ key: 'members_support_address', value: STAFF }] }, rules({ users: ['name'] })), 0);
  const tokenLike = {
    settings: [
      { key: 'harmless', value: 'sk_live_abcdefghijklmnop1234' },
      { key: 'harmless', value: 42 },
    ],
  };
  assert.equal(redact(tokenLike, { fields: new Map(), settingSecrets: true }), 1);
  assert.equal(redact({ settings: [{ key: 'password', value: 'x' }] }, { fields: new Map(), settingSecrets: false }), 0);
});

test('checkOracles: table prefixes, relations named like a redacted field, unknown relations, and each copy table', () => {
  const q = (k: string, v: string) => new Map([[k, v]]);
  const members = route('GET', '/members');
  const r = rules({ members: ['email', 'subscriptions'] });
  assert.ok(checkOracles(r, members, q('filter', 'subscriptions.status:active')), 'a relation named like a redacted field');
  assert.ok(checkOracles(r, members, q('filter', 'unknown_rel.x:1')), 'an unknown relation is refused');
  assert.equal(checkOracles(r, members, q('filter', 'labels.slug:vip')), undefined);
  assert.equal(checkOracles(r, members, q('filter', 'members.status:free')), undefined);
  assert.ok(checkOracles(r, members, q('filter', 'Members.email:x')), 'the own table in any case');
  assert.equal(checkOracles(r, members, q('filter', 'a:(')), undefined, 'a filter that does not parse is the filter step’s refusal');
  assert.equal(
    checkOracles(rules({ members: ['name'] }), members, q('filter', 'email_recipients.member_email:x')),
    undefined,
    'a copy of another field',
  );
  assert.ok(
    checkOracles(rules({ users: ['email'] }), route('GET', '/newsletters'), q('filter', 'sender_email:x')),
    "checkOracles(rules({ users: ['email'] }), route('GET', '/newsletters'), q('filter', 'sender_email:x'))",
  );
  assert.ok(
    checkOracles(rules({ users: ['email'] }), members, q('filter', 'newsletters.sender_email:x')),
    'a copy table through a relation',
  );
  assert.equal(checkOracles(rules({ users: ['name'] }), members, q('filter', 'newsletters.sender_email:x')), undefined);
  assert.equal(
    checkOracles(rules({ users: ['name'] }), route('GET', '/newsletters'), q('filter', 'sender_email:x')),
    undefined,
    'a copy column of a field that is not redacted',
  );
  assert.ok(
    checkOracles(rules({ newsletters: ['name'] }), members, q('filter', 'newsletters.name:x')),
    "checkOracles(rules({ newsletters: ['name'] }), members, q('filter', 'newsletters.name:x'))",
  );
  assert.equal(
    checkOracles(rules({ users: ['email'] }), route('GET', '/tags'), q('filter', 'email:x')),
    undefined,
    'tags have no email column',
  );
  assert.equal(
    checkOracles(rules({ members: ['email'] }), route('GET', '/actions'), q('filter', 'email:x')),
    undefined,
    'actions are no one’s own record',
  );
  assert.equal(checkOracles(r, route('GET', '/site'), q('filter', 'email:x')), undefined, 'a resource without a table entry');
  assert.equal(checkOracles(r, members, q('order', ' created_at  desc ,  status')), undefined);
  assert.ok(checkOracles(r, members, q('order', 'status asc,  email')), "checkOracles(r, members, q('order', 'status asc, email'))");
  assert.equal(
    checkOracles(rules({ users: ['email'] }), route('GET', '/posts'), q('search', 'x')),
    undefined,
    'search is a member route’s',
  );
  assert.equal(checkOracles(rules({ users: ['name'] }), route('GET', '/users/email/:email'), new Map()), undefined);
});

test('keys named like an inherited property are judged as unknown, never as what every object inherits (review finding)', () => {
  const q = (f: string) => new Map([['filter', f]]);
  const members = route('GET', '/members');
  const r = rules({ members: ['email'], users: ['email'] });
  // A relation the gateway does not know is refused; `constructor` used to find Object and pass.
  for (const f of ['constructor.email:x', 'toString.email:x', 'hasOwnProperty.x:1', '__proto__.email:x'])
    assert.ok(checkOracles(r, members, q(f)), f);
  // A column named so on a known relation or a copy table is no copy (these used to throw).
  assert.equal(checkOracles(r, members, q('email_recipients.constructor:x')), undefined);
  assert.equal(checkOracles(r, members, q('newsletters.constructor:x')), undefined);
  assert.equal(checkOracles(r, route('GET', '/invites'), q('constructor:x')), undefined);
  const settings = { settings: [{ key: 'constructor', value: 'x' }] };
  assert.equal(redact(settings, r), 0);
  assert.deepEqual(settings.settings, [{ key: 'constructor', value: 'x' }]);
});

test('redact: a type the grant does not redact loses nothing, and only revisions take their parent’s type', () => {
  // Pages' excerpt is made from pages' body: a grant that redacts only posts' body keeps it.
  const pages = { pages: [{ excerpt: 'kept', html: 'kept' }] };
  assert.equal(redact(pages, rules({ posts: ['html', 'plaintext'] })), 0);
  assert.deepEqual(pages, { pages: [{ excerpt: 'kept', html: 'kept' }] });
  // A member's labels are labels, not members: a redacted member name leaves the label's name.
  const member = { members: [{ name: 'Mo', labels: [{ name: 'VIP', slug: 'vip' }] }] };
  assert.equal(redact(member, rules({ members: ['name'] })), 1);
  assert.deepEqual(member, { members: [{ labels: [{ name: 'VIP', slug: 'vip' }] }] });
  // A settings row without a value has nothing to hide; strings where records sit are left as they are.
  const odd = { settings: [{ key: 'title' }], members: ['mo@members.example'] };
  assert.equal(redact(odd, rules({ settings: ['title'], members: ['email'] })), 0);
  assert.deepEqual(odd, { settings: [{ key: 'title' }], members: ['mo@members.example'] });
});

test('checkOracles: the own table prefix in another case is the own table, not an unknown relation', () => {
  const members = route('GET', '/members');
  const r = rules({ members: ['email'] });
  assert.equal(checkOracles(r, members, new Map([['filter', 'Members.status:free']])), undefined);
  assert.equal(checkOracles(r, members, new Map([['order', 'MEMBERS.created_at desc']])), undefined);
});

test('a settings value shaped like a secret is blanked whatever its key; a value that only contains one is kept', () => {
  const blank = { fields: new Map(), settingSecrets: true } as const;
  const jwt = `${'A1_-'.repeat(5)}.${'b2'.repeat(10)}.${'c3'.repeat(5)}`;
  for (const value of [
    '0123456789abcdef'.repeat(2),
    'whsec_ABCDEFGHIJ0123456789',
    jwt,
    'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
  ]) {
    const s = { settings: [{ key: 'harmless', value }] };
    assert.equal(redact(s, blank), 1, value);
    assert.equal(s.settings[0]!.value, null, value);
  }
  for (const value of [
    `build ${'0123456789abcdef'.repeat(2)}`,
    `${'0123456789abcdef'.repeat(2)} is the build`,
    'abc.def.ghi',
    jwt.slice(0, -9),
    'https://hooks.slack.com/',
    'https://example.com/services/T000/B000/XXXXXXXX',
  ]) {
    const s = { settings: [{ key: 'harmless', value }] };
    assert.equal(redact(s, blank), 0, value);
    assert.equal(s.settings[0]!.value, value);
  }
});

test('each person field redacted alone disappears from every copy Ghost makes of it, and nothing else does', () => {
  // One value per field, placed wherever Ghost puts that field or a copy of it (the shapes of its serializers and
  // mappers named in personal-data.ts). A derived value (a Gravatar URL, an unsubscribe link, an excerpt or an
  // email made from a post's body) carries the values it is made from, so the check below sees it.
  const V = {
    'members.email': 'mo@members.example',
    'members.name': 'Mo Member',
    'members.uuid': 'member-uuid-0001',
    'members.note': 'a note about Mo',
    'users.email': 'olive@staff.example',
    'users.name': 'Olive Owner',
    'posts.title': 'Title of a post',
    'pages.title': 'Title of a page',
    'posts.html': '<p>post html</p>',
    'posts.plaintext': 'post plaintext',
    'posts.lexical': '{"post":"lexical"}',
    'posts.mobiledoc': '{"post":"mobiledoc"}',
    'pages.html': '<p>page html</p>',
    'pages.plaintext': 'page plaintext',
    'pages.lexical': '{"page":"lexical"}',
    'pages.mobiledoc': '{"page":"mobiledoc"}',
  } as const;
  const postBody = [V['posts.html'], V['posts.plaintext'], V['posts.lexical'], V['posts.mobiledoc']].join(' ');
  const pageBody = [V['pages.html'], V['pages.plaintext'], V['pages.lexical'], V['pages.mobiledoc']].join(' ');
  const member = {
    email: V['members.email'],
    name: V['members.name'],
    uuid: V['members.uuid'],
    note: V['members.note'],
    avatar_image: `https://www.gravatar.com/avatar/${V['members.email']}`,
    unsubscribe_url: `https://site/unsubscribe/?uuid=${V['members.uuid']}&key=${V['members.email']}`,
  };
  // Each place gets its own object: redacting one place must not clean another by sharing it.
  const recipient = () => ({ member_email: V['members.email'], member_name: V['members.name'], member_uuid: V['members.uuid'] });
  const sender = () => ({ sender_email: V['users.email'], sender_reply_to: V['users.email'], sender_name: V['users.name'] });
  const answer = () => ({
    members: [
      {
        ...member,
        email_recipients: [recipient()],
        subscriptions: [{ customer: { email: V['members.email'], name: V['members.name'] } }],
        attribution: { type: 'author', title: V['users.name'] },
      },
    ],
    failures: [{ member: { email: V['members.email'] }, email_recipient: recipient() }],
    comments: [{ member: { ...member } }],
    events: [
      { type: 'email_change_event', data: { to_email: V['members.email'], from_email: V['members.email'] } },
      { type: 'email_delivered_event', data: { email_address: V['members.email'] } },
      { type: 'donation_event', data: { email: V['members.email'], name: V['members.name'], donation_message: V['members.note'] } },
    ],
    actions: [V['members.name'], V['members.email'], V['users.name'], V['users.email'], V['posts.title'], V['pages.title']].map(
      (primary_name) => ({ context: { primary_name }, actor: { name: V['users.name'] } }),
    ),
    resources: {
      actions: [
        { resource: { name: V['members.name'] } },
        { resource: { name: V['users.name'] } },
        { resource: { title: V['posts.title'] } },
        { resource: { title: V['pages.title'] } },
      ],
    },
    posts: [
      {
        title: V['posts.title'],
        html: V['posts.html'],
        plaintext: V['posts.plaintext'],
        lexical: V['posts.lexical'],
        mobiledoc: V['posts.mobiledoc'],
        excerpt: postBody,
        email: { from: V['users.email'], reply_to: V['users.email'], html: postBody, plaintext: postBody, source: postBody },
        newsletter: sender(),
        authors: [{ email: V['users.email'], name: V['users.name'] }],
      },
    ],
    post: { title: V['posts.title'], excerpt: postBody },
    pages: [{ title: V['pages.title'], html: V['pages.html'], excerpt: pageBody }],
    page: { title: V['pages.title'], excerpt: pageBody },
    newsletters: [sender()],
    emails: [{ from: V['users.email'], reply_to: V['users.email'] }],
    automated_emails: [sender()],
    invites: [{ email: V['users.email'] }],
    stats: [{ authors: V['users.name'] }],
    settings: [
      { key: 'members_support_address', value: V['users.email'] },
      { key: 'support_email_address', value: V['users.email'] },
      { key: 'default_email_address', value: V['users.email'] },
      { key: 'slack_username', value: V['users.name'] },
    ],
  });
  const has = (a: unknown, v: string) => strings(a).some((s) => s.includes(v));
  for (const [typeField, value] of Object.entries(V)) {
    const [type, field] = typeField.split('.') as [string, string];
    const a = answer();
    assert.ok(has(a, value), `the sample holds ${typeField}`);
    redact(a, rules({ [type]: [field] }, type === 'settings' ? {} : { revealSettingSecrets: true }));
    assert.ok(!has(a, value), `${typeField} redacted alone: ${JSON.stringify(a)}`);
    // Only what is made from that field goes: every other field's own value is still somewhere.
    for (const [other, kept] of Object.entries(V))
      if (other !== typeField && !has([postBody, pageBody, member.avatar_image, member.unsubscribe_url], kept))
        assert.ok(has(a, kept), `${other} kept when ${typeField} is redacted`);
  }
});

test('each filter, order or search key that reaches a person field or a copy of it is refused when that field alone is redacted, and allowed otherwise', () => {
  // [route, key, the field it tests]: the models' filterRelations and columns (models/member.js, post.js, base
  // relations) as mongo-knex reads `relation.column`, and the copy columns named in personal-data.ts.
  const cases: [string, string, string][] = [
    ['/members', 'email', 'members.email'],
    ['/members', 'members.name', 'members.name'],
    ['/members', 'email_recipients.member_email', 'members.email'],
    ['/members', 'email_recipients.member_name', 'members.name'],
    ['/members', 'email_recipients.member_uuid', 'members.uuid'],
    ['/members', 'metafields.value', 'members.metafields'],
    ['/members', 'metafields.key', 'members.metafields'],
    ['/members', 'newsletters.sender_name', 'users.name'],
    ['/members', 'newsletters.sender_reply_to', 'users.email'],
    ['/members', 'newsletters.name', 'newsletters.name'],
    ['/members', 'emails.from', 'users.email'],
    ['/members', 'emails.reply_to', 'users.email'],
    ['/posts', 'posts.title', 'posts.title'],
    ['/posts', 'authors.email', 'users.email'],
    ['/posts', 'authors.name', 'users.name'],
    ['/posts', 'tags.name', 'tags.name'],
    ['/posts', 'posts_meta.meta_title', 'posts.meta_title'],
    ['/posts', 'post_revisions.title', 'posts.title'],
    ['/pages', 'posts.title', 'pages.title'],
    ['/pages', 'plaintext', 'pages.plaintext'],
    ['/pages', 'authors.email', 'users.email'],
    ['/pages', 'tags.slug', 'tags.slug'],
    ['/pages', 'post_revisions.lexical', 'pages.lexical'],
    ['/tags', 'tags.name', 'tags.name'],
    ['/users', 'users.email', 'users.email'],
    ['/invites', 'email', 'users.email'],
    ['/actions', 'context', 'members.name'],
    ['/actions', 'context', 'members.email'],
    ['/actions', 'context', 'users.name'],
    ['/actions', 'context', 'users.email'],
    ['/newsletters', 'sender_email', 'users.email'],
    ['/newsletters', 'sender_name', 'users.name'],
    ['/newsletters', 'sender_reply_to', 'users.email'],
    ['/newsletters', 'newsletters.name', 'newsletters.name'],
    ['/emails', 'from', 'users.email'],
    ['/emails', 'reply_to', 'users.email'],
  ];
  const only = (typeField: string) => {
    const [type, field] = typeField.split('.') as [string, string];
    return rules({ [type]: [field] });
  };
  // A field of every type that none of the keys above tests.
  const unrelated = rules({ members: ['note'], users: ['bio'], posts: ['og_image'], pages: ['og_image'], tags: ['description'] });
  for (const [path, key, field] of cases) {
    const r = route('GET', path);
    for (const [option, value] of [
      ['filter', `${key}:x`],
      ['order', `${key} desc`],
    ] as const) {
      const q = new Map([[option, value]]);
      assert.ok(checkOracles(only(field), r, q), `${path}?${option}=${value} tests ${field}`);
      assert.equal(checkOracles(unrelated, r, q), undefined, `${path}?${option}=${value} tests none of the unrelated fields`);
    }
  }
  for (const field of ['members.email', 'members.name'])
    assert.ok(checkOracles(only(field), route('GET', '/members'), new Map([['search', 'x']])), field);
  assert.equal(checkOracles(unrelated, route('GET', '/members'), new Map([['search', 'x']])), undefined);
});

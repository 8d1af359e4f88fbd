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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { checkEmailRules, sendEmailPart } from './email.js';
import type { Grant } from './grant.js';

const catalog = loadCatalog();
const route = (key: string) => {
  const [method, path] = key.split(' ');
  const r = catalog.routes.find((x) => x.method === method && x.path === path);
  assert.ok(r, key);
  return r;
};
const NO_EMAIL: Grant = { version: 1, scopes: ['posts:edit'], sendEmail: false };
const POST_ID = '5f1a2b3c4d5e6f7a8b9c0d1e';
type Req = Parameters<typeof checkEmailRules>[2];
const req = (r: Partial<Req> = {}): Req => ({ query: new Map(), params: {}, ...r });
/** The outcome as a word: ALLOW, NEED_BODY, NEED_RECORD, or the refused field. */
function outcome(grant: Grant, key: string, r: Partial<Req> = {}): string {
  const v = checkEmailRules(grant, route(key), req(r));
  if (v === undefined) return 'ALLOW';
  if ('need' in v) return v.need.body ? 'NEED_BODY' : 'NEED_RECORD';
  assert.equal(v.code, 'FIELD_REFUSED');
  return `REFUSED ${v.field}`;
}

test('every route whose purpose is sending is refused to a key that may not send email, naming its action', () => {
  for (const key of [
    'PUT /emails/:id/retry',
    'POST /email_previews/posts/:id',
    'POST /automated_emails/:id/test',
    'POST /automated_emails/:id/preview',
    'POST /automated_emails',
    'PUT /automated_emails/:id',
    'POST /automations/:id/email_test',
    'POST /automations/:id/email_preview',
    'PUT /automations/:id',
    'POST /invites',
    'POST /members/upload',
    'POST /members/:id/subscriptions',
    'PUT /members/:id/subscriptions/:subscription_id',
  ]) {
    assert.equal(outcome(NO_EMAIL, key), `REFUSED ${route(key).action}`, key);
    assert.equal(outcome({ version: 1, scopes: ['posts:edit'] }, key), 'ALLOW', `${key} without the rule`);
  }
});

test('the query parameters that make Ghost send are refused on their routes only', () => {
  for (const [key, param] of [
    ['PUT /posts/:id', 'newsletter'],
    ['PUT /posts/:id', 'email_segment'],
    ['PUT /posts/:id', 'email_recipient_filter'],
    ['POST /members', 'send_email'],
    ['POST /members', 'email_type'],
  ] as const) {
    assert.equal(outcome(NO_EMAIL, key, { query: new Map([[param, 'x']]) }), `REFUSED ${param}`, `${key} ?${param}`);
  }
  // The same names elsewhere send nothing.
  assert.equal(outcome(NO_EMAIL, 'POST /posts', { query: new Map([['newsletter', 'x']]) }), 'ALLOW');
  assert.equal(outcome(NO_EMAIL, 'POST /members', { query: new Map([['newsletter', 'x']]) }), 'ALLOW');
});

test('sender addresses of newsletters and the support address are refused; other fields are not', () => {
  for (const [key, body, expected] of [
    ['POST /newsletters', { newsletters: [{ name: 'n', sender_email: 'a@b.c' }] }, 'REFUSED sender_email'],
    ['POST /newsletters', { newsletters: [{ name: 'n', sender_reply_to: 'a@b.c' }] }, 'REFUSED sender_reply_to'],
    ['PUT /newsletters/:id', { newsletters: [{ sender_reply_to: 'a@b.c' }] }, 'REFUSED sender_reply_to'],
    ['PUT /newsletters/:id', { newsletters: [{ sender_email: 'a@b.c' }] }, 'REFUSED sender_email'],
    ['PUT /newsletters/:id', { newsletters: [{ name: 'weekly' }] }, 'ALLOW'],
    ['PUT /newsletters/:id', { newsletters: [] }, 'ALLOW'],
    ['PUT /newsletters/:id', { other: [{ sender_email: 'a@b.c' }] }, 'ALLOW'],
    [
      'PUT /settings',
      {
        settings: [
          { key: 'title', value: 'x' },
          { key: 'members_support_address', value: 'a@b.c' },
        ],
      },
      'REFUSED members_support_address',
    ],
    ['PUT /settings', { settings: [{ key: 'title', value: 'x' }, null, 'members_support_address'] }, 'ALLOW'],
    ['PUT /settings', { settings: { key: 'members_support_address' } }, 'ALLOW'],
    // A setting named in the item rather than in {key, value} is not how Ghost reads settings.
    ['PUT /settings', { settings: [{ members_support_address: 'a@b.c' }] }, 'ALLOW'],
  ] as const) {
    assert.equal(outcome(NO_EMAIL, key, { body }), expected, `${key} ${JSON.stringify(body)}`);
  }
  // A JSON body of null names no field: nothing to refuse, and nothing read from it.
  for (const key of ['PUT /newsletters/:id', 'PUT /settings', 'PUT /posts/:id'])
    assert.equal(outcome(NO_EMAIL, key, { body: null }), 'ALLOW', key);
  assert.equal(outcome(NO_EMAIL, 'PUT /settings'), 'NEED_BODY');
  assert.equal(outcome(NO_EMAIL, 'PUT /posts/:id'), 'NEED_BODY');
  assert.equal(outcome(NO_EMAIL, 'PUT /tags/:id'), 'ALLOW', 'no body needed where nothing sends');
});

test('a post edit to published, sent or scheduled asks for the stored post, and is refused when it has a newsletter or an email', () => {
  const edit = (status: unknown, record?: Record<string, unknown> | null) =>
    outcome(NO_EMAIL, 'PUT /posts/:id', { params: { id: POST_ID }, body: { posts: [{ status }] }, record });
  for (const status of ['published', 'sent', 'scheduled']) {
    assert.equal(edit(status), 'NEED_RECORD', status);
    assert.equal(edit(status, { status: 'draft', newsletter: { id: 'n' }, email: null }), 'REFUSED status', status);
    assert.equal(edit(status, { status: 'draft', newsletter: null, email: { id: 'e' } }), 'REFUSED status', status);
    assert.equal(edit(status, { status: 'draft', newsletter: null, email: null }), 'ALLOW', status);
    // Already in that state: no transition, nothing sent.
    assert.equal(edit(status, { status, newsletter: { id: 'n' }, email: { id: 'e' } }), 'ALLOW', status);
    assert.equal(edit(status, null), 'ALLOW', `${status}, no such post`);
  }
  for (const status of ['draft', undefined, 42]) assert.equal(edit(status), 'ALLOW', String(status));
  assert.equal(outcome(NO_EMAIL, 'PUT /posts/:id', { params: { id: POST_ID }, body: { posts: 'x' } }), 'ALLOW');
});

test('the stored post is asked for by id, with its email and newsletter', () => {
  const v = checkEmailRules(
    NO_EMAIL,
    route('PUT /posts/:id'),
    req({ params: { id: POST_ID }, body: { posts: [{ status: 'published' }] } }),
  );
  assert.deepEqual(v, { need: { record: { resource: 'posts', by: 'id', value: POST_ID, include: 'tags,authors,email,newsletter' } } });
});

test('a grant without the rule, or with an older newsletter field denial, is read as such', () => {
  const q = { query: new Map([['newsletter', 'x']]) };
  assert.equal(outcome({ version: 1, scopes: ['posts:edit'] }, 'PUT /posts/:id', q), 'ALLOW');
  assert.equal(outcome({ version: 1, scopes: ['posts:edit'], sendEmail: true }, 'PUT /posts/:id', q), 'ALLOW');
  assert.equal(
    outcome({ version: 1, scopes: ['posts:edit'], fields: { posts: { deny: ['newsletter'] } } }, 'PUT /posts/:id', q),
    'REFUSED newsletter',
  );
});

test('a child of a parent that may not send email may not either, and inherits the rule when it names none', () => {
  const parent: Grant = { version: 1, scopes: ['posts:edit'], sendEmail: false };
  assert.equal(sendEmailPart.subset({ version: 1, scopes: [] }, parent).length, 1);
  assert.equal(sendEmailPart.subset({ version: 1, scopes: [], sendEmail: true }, parent).length, 1);
  assert.equal(sendEmailPart.subset({ version: 1, scopes: [], sendEmail: false }, parent).length, 0);
  assert.equal(sendEmailPart.subset({ version: 1, scopes: [] }, { version: 1, scopes: [] }).length, 0);
  assert.equal(sendEmailPart.inherit!({ version: 1, scopes: [] }, parent), false);
  assert.equal(sendEmailPart.inherit!({ version: 1, scopes: [], sendEmail: true }, parent), undefined);
  assert.equal(sendEmailPart.inherit!({ version: 1, scopes: [] }, { version: 1, scopes: [] }), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrantSchema } from './grant.js';
import { describeGrant, GRANT_PARTS } from './parts.js';

test('the registry holds every rule kind of the grant schema once', () => {
  const parts = GRANT_PARTS.map((p) => p.part);
  assert.equal(new Set(parts).size, parts.length);
  assert.deepEqual([...parts, 'version'].sort(), Object.keys(GrantSchema.shape).sort());
});

test('a grant in words: one line per rule, from each kind', () => {
  const grant = GrantSchema.parse({
    version: 1,
    scopes: ['posts:browse', 'posts:edit', 'invites:add'],
    constraints: { posts: { tags: ['partner'], status: ['draft'] } },
    fields: { posts: { deny: ['featured'], status: ['draft'] } },
    redact: { users: ['email'] },
    sendEmail: false,
    revealSettingSecrets: true,
    narrow: { invites: { maxRole: 'contributor' } },
  });
  assert.deepEqual(describeGrant(grant), [
    'scopes: posts:browse, posts:edit, invites:add',
    'only posts tagged partner, with status draft',
    'webhooks: only those it created',
    'posts: may not set featured; may set status only to draft',
    'invites staff up to Contributor',
    'users: email removed from every answer, and never filtered, ordered or searched by',
    'never makes Ghost send email (publishing, newsletters, member emails)',
    'settings secrets shown (the private site password, webhook URLs, keys)',
  ]);
  assert.deepEqual(describeGrant(GrantSchema.parse({ version: 1, scopes: [] })), [
    'no scopes: every route is refused',
    'webhooks: only those it created',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../catalog/permissions.js';
import { compileGrant } from '../grants/grant.js';
import { authorize, type Decision } from '../pipeline/authorize/authorize.js';
import { WEBHOOK_EVENTS, eventScopes } from './events.js';
import type { RelayFact } from './rule.js';

const catalog = loadCatalog();
const permissions = loadPermissions();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const integration = { kind: 'integration' as const, role: INTEGRATION_ROLE };

/** The decision authorize() makes for a webhook write, facts gathered (body; the key owns webhook w1). */
function decide(
  scopes: string[],
  method: 'POST' | 'PUT',
  item: Record<string, unknown>,
  relay: RelayFact = { event: 'site.changed', createdByKey: true },
  more: Record<string, unknown> = {},
): Decision {
  const r = method === 'POST' ? route('POST', '/webhooks') : route('PUT', '/webhooks/:id');
  return authorize({
    grant: compileGrant({ version: 1, scopes, ...more }),
    route: r,
    upstream: upstreamReach(r, integration, permissions),
    request: {
      query: new Map(),
      params: method === 'PUT' ? { id: 'w1' } : {},
      body: { webhooks: [item] },
      ownedIds: new Set(['w1']),
      ...(method === 'PUT' ? { webhook: relay } : {}),
    },
  });
}
const add = (event: string) => ({ event, target_url: 'https://hooks.example.com/x' });
const code = (d: Decision) => (d.allow === false ? d.code : d.allow);
const missing = (d: Decision) => (d.allow === false ? /Missing scope (\S+):/.exec(d.message)?.[1] : undefined);

test('creating a webhook needs the read scope of its event’s resource', () => {
  const table: [string, string[], true | string][] = [
    ['post.published', ['webhooks:add'], 'posts:read'],
    ['post.published', ['webhooks:add', 'posts:read'], true],
    ['post.added', ['webhooks:add', 'posts:browse'], 'posts:read'],
    ['post.deleted', ['webhooks:add', 'posts:*'], true],
    ['page.published', ['webhooks:add', 'posts:read'], 'pages:read'],
    ['page.published', ['webhooks:add', 'pages:read'], true],
    ['tag.added', ['webhooks:add', 'posts:read'], 'tags:read'],
    ['tag.deleted', ['webhooks:add', 'tags:read'], true],
    ['member.added', ['webhooks:add', 'posts:read', 'tags:read'], 'members:read'],
    ['member.edited', ['webhooks:add', 'members:browse'], 'members:read'],
    ['member.deleted', ['webhooks:add', 'members:read'], true],
    ['post.tag.attached', ['webhooks:add', 'posts:read'], 'tags:read'],
    ['post.tag.attached', ['webhooks:add', 'tags:read'], 'posts:read'],
    ['post.tag.detached', ['webhooks:add', 'posts:read', 'tags:read'], true],
    ['page.tag.attached', ['webhooks:add', 'pages:read'], 'tags:read'],
    ['page.tag.detached', ['webhooks:add', 'pages:read', 'tags:read'], true],
    ['site.changed', ['webhooks:add'], true],
    ['site.changed', ['*'], true],
  ];
  for (const [event, scopes, expected] of table) {
    const d = decide(scopes, 'POST', add(event));
    if (expected === true) assert.equal(d.allow, true, `${event} with ${scopes.join(',')}`);
    else {
      assert.equal(code(d), 'SCOPE_MISSING', `${event} with ${scopes.join(',')}`);
      assert.equal(missing(d), expected, `${event} names the missing scope`);
    }
  }
});

test('every Ghost event maps to read scopes that the catalog knows', () => {
  const known = new Set(catalog.scopes);
  for (const event of WEBHOOK_EVENTS) for (const s of eventScopes(event)) assert.ok(known.has(s), `${event}: ${s}`);
});

test('an edit is authorized on the event after it: the new event’s read scope, or the stored event’s when the body keeps it', () => {
  assert.equal(code(decide(['webhooks:edit'], 'PUT', { event: 'member.added' })), 'SCOPE_MISSING');
  assert.equal(
    missing(decide(['webhooks:edit', 'posts:read'], 'PUT', { event: 'member.added' }, { event: 'post.published', createdByKey: true })),
    'members:read',
  );
  assert.equal(
    decide(['webhooks:edit', 'members:read'], 'PUT', { event: 'member.added' }, { event: 'post.published', createdByKey: true }).allow,
    true,
  );
  assert.equal(decide(['webhooks:edit'], 'PUT', { name: 'renamed' }).allow, true);
  // The stored event decides an edit that does not name one: a key without members:read may not re-point a member webhook.
  const memberHook: RelayFact = { event: 'member.added', createdByKey: true };
  assert.equal(missing(decide(['webhooks:edit'], 'PUT', { target_url: 'https://hooks.example.com/y' }, memberHook)), 'members:read');
  assert.equal(missing(decide(['webhooks:edit'], 'PUT', { name: 'renamed' }, memberHook)), 'members:read');
  assert.equal(decide(['webhooks:edit', 'members:read'], 'PUT', { target_url: 'https://hooks.example.com/y' }, memberHook).allow, true);
});

test('a key that did not create a relayed webhook may rename it, never change its event, target, secret or version', () => {
  const others: RelayFact = { event: 'site.changed', createdByKey: false };
  const wide = ['webhooks:edit', 'posts:read'];
  const any = { constraints: { webhooks: { createdByKey: false } } };
  assert.equal(decide(wide, 'PUT', { name: 'renamed' }, others, any).allow, true);
  for (const item of [
    { event: 'post.published' },
    { target_url: 'https://attacker.example/x' },
    { secret: 'mine' },
    { secret: null },
    { api_version: 'v5' },
    { name: 'x', target_url: 'https://attacker.example/x' },
  ]) {
    assert.equal(code(decide(wide, 'PUT', item, others, any)), 'RECORD_NOT_OWNED', JSON.stringify(item));
  }
  assert.equal(
    decide(wide, 'PUT', { target_url: 'https://hooks.example.com/y' }, { event: 'site.changed', createdByKey: true }).allow,
    true,
    'its creator may',
  );
});

test('a client may not name the integration a webhook is attached to', () => {
  for (const v of ['i'.repeat(24), null, ''])
    assert.equal(code(decide(['webhooks:add'], 'POST', { ...add('site.changed'), integration_id: v })), 'BODY_INVALID', String(v));
});

test('an event Ghost never fires is refused, though Ghost would store it', () => {
  for (const event of ['no.such.event', 'post.published.now', 'POST.PUBLISHED', 'posts.published', 'member.*', '']) {
    assert.equal(code(decide(['*'], 'POST', add(event))), 'WEBHOOK_EVENT_UNKNOWN', event);
  }
});

test('bodies Ghost would refuse are refused as BODY_INVALID before any scope is granted', () => {
  const table: [unknown, 'POST' | 'PUT'][] = [
    [{ webhooks: [] }, 'POST'],
    [{ webhooks: [add('site.changed'), add('site.changed')] }, 'POST'],
    [{ webhooks: {} }, 'POST'],
    [{ webhook: [add('site.changed')] }, 'POST'],
    [{ webhooks: [{ event: 'site.changed' }] }, 'POST'],
    [{ webhooks: [{ target_url: 'https://x.example/' }] }, 'POST'],
    [{ webhooks: [{ ...add('site.changed'), secret: 5 }] }, 'POST'],
    [{ webhooks: [{ ...add('site.changed'), name: 'n'.repeat(192) }] }, 'POST'],
    [{ webhooks: [{ ...add('site.changed'), target_url: null }] }, 'POST'],
    [{ webhooks: [{}] }, 'PUT'],
    [{ webhooks: [{ id: 'w2', name: 'x' }] }, 'PUT'],
    [[], 'POST'],
  ];
  for (const [body, method] of table) {
    const r = method === 'POST' ? route('POST', '/webhooks') : route('PUT', '/webhooks/:id');
    const d = authorize({
      grant: compileGrant({ version: 1, scopes: ['*'] }),
      route: r,
      upstream: { ok: true },
      request: { query: new Map(), params: { id: 'w1' }, body, ownedIds: new Set(['w1']) },
    });
    assert.equal(code(d), 'BODY_INVALID', JSON.stringify(body));
  }
});

test('the decision carries the write the relay needs: event, the client’s target and secret, and the rest as read', () => {
  const d = decide(['webhooks:add', 'posts:read'], 'POST', {
    event: 'post.added',
    target_url: 'https://hooks.example.com/x',
    secret: 's3',
    name: 'zap',
    api_version: null,
    unknown_field: 1,
  });
  assert.equal(d.allow, true);
  if (d.allow) {
    assert.deepEqual(d.effects.webhook, {
      action: 'add',
      event: 'post.added',
      targetUrl: 'https://hooks.example.com/x',
      secret: 's3',
      rest: { name: 'zap', api_version: null },
    });
    assert.equal(d.effects.ledger, 'webhooks');
  }
});

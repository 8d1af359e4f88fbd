import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCatalog } from '../../../catalog/catalog.js';
import { compileGrant } from '../../../grants/grant.js';
import { authorize, type RequestFacts } from '../authorize.js';

const catalog = loadCatalog();
const route = (method: string, path: string) => catalog.routes.find((r) => r.method === method && r.path === path)!;
const decide = (scopes: string[], method: string, path: string, request: Partial<RequestFacts> = {}) =>
  authorize({
    grant: compileGrant({ version: 1, scopes }),
    route: route(method, path),
    upstream: { ok: true },
    request: { query: new Map(), params: {}, ...request },
  });

test('an edit or delete of a webhook asks for the relay row of the webhook its path names', () => {
  for (const [method, action] of [
    ['PUT', 'edit'],
    ['DELETE', 'destroy'],
  ] as const) {
    const d = decide([`webhooks:${action}`], method, '/webhooks/:id', { params: { id: 'w7' }, ownedIds: new Set(['w7']) });
    assert.ok(d.allow === 'need', JSON.stringify(d));
    assert.equal(d.need.webhook, 'w7');
    // Without the key's ledger, the ledger of webhooks is asked for first.
    const ledger = decide([`webhooks:${action}`], method, '/webhooks/:id', { params: { id: 'w7' } });
    assert.ok(ledger.allow === 'need', JSON.stringify(ledger));
    assert.equal(ledger.need.ownedIds, 'webhooks');
  }
});

test('a webhook delete through the gateway is relayed: the decision carries the write and no ledger entry', () => {
  const d = decide(['webhooks:destroy'], 'DELETE', '/webhooks/:id', {
    params: { id: 'w7' },
    ownedIds: new Set(['w7']),
    webhook: { event: 'site.changed', createdByKey: true },
  });
  assert.ok(d.allow === true, JSON.stringify(d));
  assert.deepEqual(d.effects.webhook, { action: 'destroy', id: 'w7', rest: {} });
  assert.equal(d.effects.ledger, undefined);
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { login, type Api } from '../../src/lab/provision.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { lab } from './lab-helper.js';

const A = '/ghost/api/admin';

/**
 * What the relay leaves in Ghost, read back from Ghost itself: the owner's
 * session lists each integration's webhooks (GET /integrations/:id/?include=webhooks),
 * which an integration key cannot.
 */
describe('the relay’s rules, checked against the lab’s real Ghost and its webhooks list', () => {
  let s: LabState;
  let owner: Api;
  let direct: any;
  const cleanup: (() => Promise<unknown>)[] = [];
  const gateways: TestGateway[] = [];
  const target = 'http://127.0.0.1:9';

  /** The webhooks Ghost holds for an integration, by id. */
  const ghostWebhooks = async (integrationId: string): Promise<Map<string, any>> => {
    const r = await owner.call('GET', `/integrations/${integrationId}/?include=webhooks`);
    return new Map((r.json.integrations[0].webhooks as any[]).map((w) => [w.id, w]));
  };
  const call = (gw: TestGateway, key: string, method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
    request(`${gw.url}${A}${path}`, {
      method,
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const answer = async (res: Awaited<ReturnType<typeof call>>) => ({
    status: res.statusCode,
    json: JSON.parse((await res.body.text()) || 'null'),
  });
  const gateway = async (o: Parameters<typeof startTestGateway>[0]) => {
    const gw = await startTestGateway(o);
    gateways.push(gw);
    return gw;
  };

  before(async () => {
    s = await lab();
    owner = await login(`${s.url}${A}`, s.owner.email, s.owner.password);
    direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    for (const gw of gateways) await gw.close();
  });

  test('a webhook made in Ghost is neither edited nor deleted through the gateway, though the key’s ledger names it; another key may only rename a relayed one', async () => {
    const gw = await gateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey, relay: true });
    const { id, key } = await gw.createKey(['webhooks:add', 'webhooks:edit', 'webhooks:destroy', 'posts:read']);
    const raw = await direct.webhooks.add({ event: 'post.added', target_url: `${target}/raw-${Date.now()}`, name: 'made in Ghost' });
    cleanup.push(() => direct.webhooks.delete({ id: raw.id }));
    await gw.gateway.store.ledger.add(id, 'webhooks', raw.id, Date.now());
    for (const [method, body] of [
      ['PUT', { webhooks: [{ target_url: `${target}/redirected` }] }],
      ['PUT', { webhooks: [{ name: 'renamed' }] }],
      ['DELETE', undefined],
    ] as const) {
      const r = await answer(await call(gw, key, method, `/webhooks/${raw.id}/`, body));
      assert.equal(r.status, 403, method);
      assert.equal(r.json.errors[0].code, 'WEBHOOK_NOT_RELAYED', method);
    }
    const still = (await ghostWebhooks(s.integration.id)).get(raw.id);
    assert.ok(still, 'Ghost still has it');
    assert.equal(still.target_url, raw.target_url, 'and its target is unchanged');
    assert.equal(still.name, 'made in Ghost');

    // A relayed webhook: another key allowed to touch every webhook renames it; Ghost stays on the relay.
    const made = await answer(
      await call(gw, key, 'POST', '/webhooks/', {
        webhooks: [{ event: 'post.added', target_url: `${target}/mine-${Date.now()}`, secret: 'mine' }],
      }),
    );
    assert.equal(made.status, 201);
    const hook = made.json.webhooks[0];
    cleanup.push(() => direct.webhooks.delete({ id: hook.id }));
    const other = await gw.createKey({
      version: 1,
      scopes: ['webhooks:edit', 'posts:read'],
      constraints: { webhooks: { createdByKey: false } },
    });
    const stolen = await answer(
      await call(gw, other.key, 'PUT', `/webhooks/${hook.id}/`, { webhooks: [{ target_url: `${target}/stolen` }] }),
    );
    assert.equal(stolen.json.errors[0].code, 'RECORD_NOT_OWNED');
    const renamed = await answer(
      await call(gw, other.key, 'PUT', `/webhooks/${hook.id}/`, { webhooks: [{ name: 'renamed by another key' }] }),
    );
    assert.equal(renamed.status, 200);
    const inGhost = (await ghostWebhooks(s.integration.id)).get(hook.id);
    assert.equal(inGhost.name, 'renamed by another key');
    assert.match(inGhost.target_url, /\/ghostgate\/webhooks\/relay\/[0-9a-f]{32}$/, 'Ghost still calls the relay');
  });

  test('a retired webhook Ghost failed to remove stays listed in Ghost until the sweep removes it; then the store forgets its secret', async () => {
    // A pass-through to Ghost that can refuse webhook deletes, as a Ghost that is down would.
    let refuseDeletes = false;
    const proxy: Server = createServer((req, res) => {
      if (refuseDeletes && req.method === 'DELETE' && (req.url ?? '').startsWith(`${A}/webhooks/`)) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"type":"ServiceUnavailableError"}]}');
      }
      const up = httpRequest(`${s.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(s.url).host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) =>
      proxy.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    cleanup.push(() => new Promise((r) => proxy.close(r)));
    const gw = await gateway({
      upstreamUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      upstreamKey: s.integration.adminKey,
      relay: true,
    });
    const { id, key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const made = await answer(
      await call(gw, key, 'POST', '/webhooks/', {
        webhooks: [{ event: 'post.added', target_url: `${target}/retire-${Date.now()}`, secret: 'client-secret' }],
      }),
    );
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const ghostId = made.json.webhooks[0].id as string;
    cleanup.push(() => direct.webhooks.delete({ id: ghostId }));
    const relayId = (await gw.gateway.store.webhooks.byGhostId(ghostId))!.id;

    refuseDeletes = true;
    await gw.gateway.store.keys.revoke(id, Date.now());
    await gw.gateway.webhooks.sweep(Date.now());
    let row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.equal(row.status, 'retired');
    assert.equal(row.ghostRemovedAt, null);
    assert.ok(row.secretSealed, 'row.secretSealed');
    assert.ok((await ghostWebhooks(s.integration.id)).has(ghostId), 'Ghost still holds it');

    refuseDeletes = false;
    await gw.gateway.webhooks.sweep(Date.now());
    assert.equal((await ghostWebhooks(s.integration.id)).has(ghostId), false, 'the sweep removed it from Ghost');
    row = (await gw.gateway.store.webhooks.get(relayId))!;
    assert.ok(row.ghostRemovedAt !== null, 'row.ghostRemovedAt !== null');
    assert.equal(row.secretSealed, null, 'the client’s secret is erased');
  });

  test('with a staff-token upstream, webhooks go to webhooks.integrationId; a client naming another integration is refused', async () => {
    const other = (await owner.call('POST', '/integrations/', { integrations: [{ name: `relay-other-${Date.now()}` }] })).json
      .integrations[0];
    cleanup.push(() => owner.call('DELETE', `/integrations/${other.id}/`, undefined, [204]));
    const gw = await gateway({
      upstreamUrl: s.url,
      upstreamKey: s.staff.Administrator.staffToken,
      kind: 'staff',
      relay: true,
      extra: { webhooks: { allowInternalIPs: true, integrationId: s.integration.id } },
    });
    const { key } = await gw.createKey(['webhooks:add', 'posts:read']);
    const refused = await answer(
      await call(gw, key, 'POST', '/webhooks/', {
        webhooks: [{ event: 'post.added', target_url: `${target}/other-${Date.now()}`, integration_id: other.id }],
      }),
    );
    assert.equal(refused.json.errors[0].code, 'BODY_INVALID');
    assert.deepEqual([...(await ghostWebhooks(other.id)).keys()], [], 'nothing was attached to the other integration');
    const made = await answer(
      await call(gw, key, 'POST', '/webhooks/', { webhooks: [{ event: 'post.added', target_url: `${target}/staff-${Date.now()}` }] }),
    );
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const ghostId = made.json.webhooks[0].id as string;
    cleanup.push(() => direct.webhooks.delete({ id: ghostId }));
    assert.ok((await ghostWebhooks(s.integration.id)).has(ghostId), 'attached to the configured integration');
    assert.equal(made.json.webhooks[0].integration_id, s.integration.id);
  });
});

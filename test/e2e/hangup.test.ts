import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { PRESETS } from '../../src/grants/presets.js';
import { mintKey } from '../../src/keys/mint.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { lab } from './lab-helper.js';

/**
 * Issue 11, class 6, against the lab's real Ghost: a client that hangs up
 * right after sending a one-time webhook-setup key's write, then retries.
 * Exactly one webhook is created, the use is spent, and the ledger knows it.
 */

describe('a one-time key and a client that hangs up after sending its write (real Ghost)', () => {
  let s: LabState;
  let proxy: CountingProxy;
  let gw: TestGateway;
  const created: string[] = [];

  before(async () => {
    s = await lab();
    proxy = await startCountingProxy(s.url);
    // relay: webhooks are created through the gateway's relay (a publicUrl Ghost can reach).
    gw = await startTestGateway({ upstreamUrl: proxy.url, upstreamKey: s.integration.adminKey, relay: true });
  });
  after(async () => {
    const direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
    for (const id of created) await direct.webhooks.delete({ id }).catch(() => {});
    await gw?.close();
    await proxy?.close();
  });

  test('three tries, the first abandoned mid-flight: one webhook at Ghost, the use spent, the ledger holds it', async () => {
    const k = await mintKey(
      gw.gateway.store,
      gw.master,
      gw.config.policy,
      { name: 'installer', grant: PRESETS['webhook-setup']!.grant, maxUses: 1, expiresAt: Date.now() + 3_600_000 },
      Date.now(),
    );
    // site.changed: the event the webhook-setup preset may subscribe to on its own (it delivers no record).
    const body = JSON.stringify({ webhooks: [{ event: 'site.changed', target_url: `http://127.0.0.1:9/hook-${k.record.id}` }] });
    const writes = () => proxy.seen.filter((r) => r.method === 'POST' && r.url.includes('/webhooks'));
    for (let attempt = 0; attempt < 3; attempt++) {
      const sock = connect(Number(new URL(gw.url).port), '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const before = writes().length;
      sock.write(
        `POST /ghost/api/admin/webhooks/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authHeader(k.key)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // Hang up as soon as the write is on its way to Ghost (or after 300 ms when it is refused).
      for (let i = 0; i < 300 && writes().length === before; i++) await new Promise((r) => setTimeout(r, 1));
      sock.destroy();
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(writes().length, 1, 'one write reached Ghost');
    assert.deepEqual(await gw.gateway.store.keys.uses(k.record.id, Date.now()), { spent: 1, reserved: 0, unknown: 0 });
    const ids = await gw.gateway.store.ledger.ids(k.record.id, 'webhooks');
    created.push(...ids);
    assert.equal(ids.length, 1, 'the ledger learned the webhook from Ghost’s answer');
    // It exists in Ghost: deleting it through the upstream integration succeeds (and cleans up).
    const direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
    await direct.webhooks.delete({ id: ids[0] });
    created.length = 0;
  });
});

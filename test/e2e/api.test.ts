import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { refusal } from '../helpers/refusal.js';
import { apiClient } from '../helpers/admin-api.js';
import { CLI, lab } from './lab-helper.js';

/**
 * The management API in front of the lab's real Ghost: an admin token made with the CLI, a key
 * created through the API and used with the official client (an allowed call works, an
 * out-of-scope one is refused), revoked through the API, and the next call refused.
 */
describe('the management API with the real Ghost and the official client', () => {
  let s: LabState;
  let gw: TestGateway;

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--config', gw.configFile, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' },
    });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey });
  });
  after(async () => {
    await gw?.close();
  });

  test('create a key through the API, use it, revoke it through the API, the next call is refused', async () => {
    const made = cli(['admin', 'token', 'create', '--name', 'e2e', '--scope', 'admin:write', '--expires', '1h', '--json']);
    const token = made.token as string;
    assert.match(token, /^ggadm_[0-9a-f]{24}_[0-9a-f]{64}$/);
    const listed = cli(['admin', 'token', 'list', '--json']) as unknown as { id: string; name: string }[];
    assert.deepEqual(
      listed.map((t) => t.name),
      ['e2e'],
    );
    assert.doesNotMatch(JSON.stringify(listed), /ggadm_/, 'a token is shown once');

    const api = apiClient(gw.url);
    const created = await api('POST', '/ghostgate/v1/keys', {
      token,
      body: { keys: [{ name: 'e2e reader', preset: 'content-reader', expires_at: new Date(Date.now() + 3_600_000).toISOString() }] },
    });
    assert.equal(created.status, 201, created.text);
    const key = created.json.keys[0] as { id: string; key: string };

    const client = new GhostAdminAPI({ url: gw.url, key: key.key, version: 'v6.0' });
    const posts = (await client.posts.browse({ limit: 2 })) as unknown[];
    assert.ok(posts.length > 0, 'an allowed call reaches the real Ghost');
    const out = await refusal(client.posts.add({ title: 'not allowed' }));
    assert.deepEqual([out.name, out.code], ['NoPermissionError', 'SCOPE_MISSING']);

    const shown = await api('GET', `/ghostgate/v1/keys/${key.id}`, { token });
    assert.ok(shown.json.keys[0].use_count >= 0, 'shown.json.keys[0].use_count >= 0');
    // Reads and refusals are written within audit.flushMs: asked again until both are there (at most 2 s).
    let seen: string[] = [];
    for (let i = 0; i < 40 && seen.length < 2; i++, await new Promise((r) => setTimeout(r, 50))) {
      const audit = await api('GET', `/ghostgate/v1/audit?key=${key.id}`, { token });
      seen = audit.json.audit.map((r: { route: string; decision: string }) => `${r.decision} ${r.route}`);
    }
    assert.deepEqual(seen, ['allow GET /posts', 'deny POST /posts']);

    const revoked = await api('POST', `/ghostgate/v1/keys/${key.id}/revoke`, { token });
    assert.equal(revoked.status, 200, revoked.text);
    const after = await refusal(client.posts.browse({ limit: 1 }));
    assert.deepEqual([after.name, after.code], ['UnauthorizedError', 'KEY_REVOKED']);

    // The token is revoked with the CLI; the API refuses it at once.
    cli(['admin', 'token', 'revoke', made.id as string, '--json']);
    const refused = await api('GET', '/ghostgate/v1/keys', { token });
    assert.equal(refused.json.errors[0].code, 'ADMIN_TOKEN_REVOKED');
  });
});

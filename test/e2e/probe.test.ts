import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { probe, type ProbeReport } from '../../src/probe/probe.js';
import type { LabState } from '../../src/lab/lab.js';
import { lab } from './lab-helper.js';
import { startTestGateway } from '../helpers/gateway.js';

const verdict = (r: ProbeReport, scope: string, method = 'GET') =>
  r.results.find((x) => x.scope === scope && x.method === method && !x.check)?.verdict;
const check = (r: ProbeReport, text: string) => r.results.find((x) => x.check?.includes(text))?.verdict;

describe("the probe reports what Ghost 6.65 really allows, on the lab's real Ghost", () => {
  let s: LabState;
  before(async () => {
    s = await lab();
  });

  test("Contributor: browses and reads other authors' drafts and staff emails, but cannot publish or edit others' posts", async () => {
    const r = await probe({ url: s.url, key: s.staff.Contributor.staffToken, writes: true });
    assert.deepEqual(r.credential, { kind: 'staff', role: 'Contributor', user: s.staff.Contributor.email });
    assert.equal(verdict(r, 'posts:browse'), 'allowed');
    assert.equal(check(r, "read another author's draft"), 'allowed');
    assert.ok(
      r.findings.some((f) => f.includes("other authors' drafts")),
      r.findings.join('\n'),
    );
    assert.ok(
      r.findings.some((f) => f.includes("every staff user's email")),
      r.findings.join('\n'),
    );
    assert.equal(check(r, 'publish'), 'refused');
    assert.equal(check(r, "edit another author's post"), 'refused');
    assert.equal(check(r, 'create a draft post'), 'allowed');
    assert.equal(verdict(r, 'members:browse'), 'refused');
    assert.equal(verdict(r, 'integrations:browse'), 'refused');
    assert.deepEqual(r.cleanup, []);
  });

  test("Editor: publishes and edits others' posts, reads no members", async () => {
    const r = await probe({ url: s.url, key: s.staff.Editor.staffToken, writes: true });
    assert.equal(r.credential.role, 'Editor');
    assert.equal(check(r, 'publish'), 'allowed');
    assert.equal(check(r, "edit another author's post"), 'allowed');
    assert.equal(verdict(r, 'members:browse'), 'refused');
    assert.equal(verdict(r, 'users:browse'), 'allowed');
    assert.equal(check(r, 'create a tag'), 'allowed');
    assert.deepEqual(r.cleanup, []);
  });

  test('integration key: refused /integrations, may create, edit and delete its own webhooks', async () => {
    const r = await probe({ url: s.url, key: s.integration.adminKey, writes: true });
    assert.equal(r.credential.kind, 'integration-or-gateway');
    assert.equal(verdict(r, 'integrations:browse'), 'refused');
    assert.ok(
      r.findings.some((f) => f.includes('refuses this key on /integrations')),
      "r.findings.some((f) => f.includes('refuses this key on /integrations'))",
    );
    assert.equal(verdict(r, 'members:browse'), 'allowed');
    assert.equal(check(r, 'create a webhook'), 'allowed');
    assert.equal(check(r, 'delete its own webhook'), 'allowed');
    assert.equal(verdict(r, 'db:exportContent'), 'refused');
    assert.deepEqual(r.cleanup, []);
  });

  test('reads only by default: no write is tried', async () => {
    const r = await probe({ url: s.url, key: s.staff.Author.staffToken });
    assert.equal(r.writes, false);
    assert.ok(
      r.results.every((x) => x.method === 'GET'),
      "r.results.every((x) => x.method === 'GET')",
    );
  });

  test('a ghostgate key, probed through the gateway, can do exactly what its scopes allow', async () => {
    const gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey, relay: true });
    try {
      const { key } = await gw.createKey([
        'posts:browse',
        'posts:read',
        'tags:browse',
        'webhooks:add',
        'webhooks:edit',
        'webhooks:destroy',
      ]);
      const r = await probe({ url: gw.url, key, writes: true });
      const allowed = new Set(r.results.filter((x) => x.verdict === 'allowed').map((x) => x.scope));
      assert.deepEqual([...allowed].sort(), [
        'posts:browse',
        'posts:read',
        'site:read',
        'tags:browse',
        'webhooks:add',
        'webhooks:destroy',
        'webhooks:edit',
      ]);
      assert.equal(r.results.filter((x) => x.verdict === 'error' || x.verdict === 'inconclusive').length, 0);
      assert.equal(check(r, 'create a draft post'), 'refused');
      assert.deepEqual(r.cleanup, []);
    } finally {
      await gw.close();
    }
  });
});

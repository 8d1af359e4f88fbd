import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { Grant } from '../../src/grants/grant.js';
import type { LabState } from '../../src/lab/lab.js';
import { login } from '../../src/lab/provision.js';
import { formatKey, newKeyId } from '../../src/secrets/keys.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { lab } from './lab-helper.js';

type Json = Record<string, any>;

/** A key with any grant document, straight in the gateway's store (the narrow forms included). */
async function keyWith(gw: TestGateway, grant: Grant): Promise<string> {
  const id = newKeyId();
  const rec = await gw.gateway.store.keys.create({ id, name: 'escalation e2e', grant, createdAt: Date.now() });
  return formatKey(id, gw.master.keySecret(id, rec.generation));
}

async function call(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json; text: string }> {
  const res = await fetch(`${base}/ghost/api/admin${path}`, {
    method,
    headers: {
      authorization: authHeader(key),
      'accept-version': 'v6.0',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}
const code = (r: { json: Json }) => r.json.errors?.[0]?.code as string | undefined;

describe("the upstream staff user's identity through the gateway (an Editor's staff token upstream)", () => {
  let s: LabState;
  let gw: TestGateway;
  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.staff.Editor.staffToken, kind: 'staff' });
  });
  after(async () => gw?.close());

  test('PUT /users/me/ with a users:edit key is refused and the account keeps its email', async () => {
    const key = await keyWith(gw, { version: 1, scopes: ['users:edit', 'users:read'] });
    for (const id of ['me', s.staff.Editor.id]) {
      const r = await call(gw.url, key, 'PUT', `/users/${id}/`, { users: [{ email: 'taken-over@example.com' }] });
      assert.equal(r.status, 403, id);
      assert.equal(code(r), 'IDENTITY_PROTECTED', id);
    }
    // The id in another case (MySQL compares ids without case) is not a Ghost id at all: refused before any rule.
    const upper = await call(gw.url, key, 'PUT', `/users/${s.staff.Editor.id.toUpperCase()}/`, {
      users: [{ email: 'taken-over@example.com' }],
    });
    assert.equal(code(upper), 'PARAM_INVALID');
    const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
    const editor = (await owner.call('GET', `/users/${s.staff.Editor.id}/`)).json.users[0];
    assert.equal(editor.email, s.staff.Editor.email);
    // Another user the Editor may edit is still reachable: the rule is about the gateway's own user only.
    const author = await call(gw.url, key, 'PUT', `/users/${s.staff.Author.id}/`, { users: [{ bio: 'edited through the gateway' }] });
    assert.equal(author.status, 200, author.text);
  });

  test('the staff token never comes back: GET /users/me/token/ is refused for a users:* key', async () => {
    const key = await keyWith(gw, { version: 1, scopes: ['users:*'] });
    const secret = s.staff.Editor.staffToken.split(':')[1]!;
    for (const [m, p] of [
      ['GET', '/users/me/token/'],
      ['GET', `/users/${s.staff.Editor.id}/token/`],
      ['PUT', '/users/me/token/'],
    ] as const) {
      const r = await call(gw.url, key, m, p, m === 'PUT' ? {} : undefined);
      assert.equal(code(r), 'IDENTITY_PROTECTED', `${m} ${p}`);
      assert.ok(!r.text.includes(secret), `${m} ${p}`);
    }
    assert.equal((await call(s.url, s.staff.Editor.staffToken, 'GET', '/users/me/')).status, 200, 'the upstream token still works');
  });
});

describe('invites limited to a role ceiling (narrow.invites.maxRole)', () => {
  let s: LabState;
  let roles: { id: string; name: string }[];
  const gws: TestGateway[] = [];
  before(async () => {
    s = await lab();
    const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
    roles = (await owner.call('GET', '/roles/')).json.roles;
  });
  after(async () => {
    for (const g of gws) await g.close();
  });
  const roleId = (name: string) => roles.find((r) => r.name === name)!.id;

  for (const [mode, upstreamKey, above] of [
    ['integration', () => s.integration.adminKey, ['Super Editor', 'Editor', 'Author']],
    ['staff', () => s.staff.Administrator.staffToken, ['Administrator', 'Super Editor', 'Author']],
  ] as const) {
    test(`${mode} upstream: no invite above Contributor is created; a Contributor invite is`, async () => {
      const gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: upstreamKey(), kind: mode });
      gws.push(gw);
      const key = await keyWith(gw, {
        version: 1,
        scopes: ['invites:add', 'roles:browse'],
        narrow: { invites: { maxRole: 'contributor' } },
      });
      const stamp = Date.now().toString(36);
      const refusedEmails: string[] = [];
      for (const name of above) {
        const email = `ceiling-${mode}-${name.replace(/\s/g, '').toLowerCase()}-${stamp}@example.com`;
        refusedEmails.push(email);
        const r = await call(gw.url, key, 'POST', '/invites/', { invites: [{ email, role_id: roleId(name) }] });
        assert.equal(r.status, 403, `${name}: ${r.text}`);
        assert.equal(code(r), 'INVITE_ROLE_REFUSED', name);
      }
      const okEmail = `ceiling-${mode}-contributor-${stamp}@example.com`;
      const ok = await call(gw.url, key, 'POST', '/invites/', { invites: [{ email: okEmail, role_id: roleId('Contributor') }] });
      assert.equal(ok.status, 201, ok.text);
      const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
      const invites = (await owner.call('GET', '/invites/?limit=all')).json.invites as { id: string; email: string; role_id: string }[];
      for (const email of refusedEmails) assert.ok(!invites.some((i) => i.email === email), `no invite for ${email}`);
      const made = invites.find((i) => i.email === okEmail);
      assert.equal(made?.role_id, roleId('Contributor'));
      await owner.call('DELETE', `/invites/${made.id}/`, undefined, [204]);
    });
  }
});

describe('theme uploads that never replace the active theme (narrow.themes.keepActive)', () => {
  let s: LabState;
  let gw: TestGateway;
  let admin: any;
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-themes-'));
  const NAME = `ggactive${Date.now().toString(36)}`;

  /** A valid theme zip (Ghost's own Source theme) with its package version set, zipped with Ghost's own @tryghost/zip. */
  async function themeZip(file: string, version: string): Promise<string> {
    const folder = join(dir, `${file}-${version}`);
    cpSync(join(s.ghostDir, 'content', 'themes', 'source'), folder, { recursive: true });
    const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ ...pkg, name: NAME, version }));
    const { compress } = createRequire(join(s.ghostDir, 'package.json'))('@tryghost/zip') as {
      compress: (from: string, to: string) => Promise<unknown>;
    };
    mkdirSync(join(dir, version), { recursive: true });
    const zip = join(dir, version, file);
    await compress(folder, zip);
    return zip;
  }
  const active = async () =>
    (await call(s.url, s.staff.Administrator.staffToken, 'GET', '/themes/active/')).json.themes[0] as {
      name: string;
      package: { version: string };
    };

  before(async () => {
    s = await lab();
    gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: s.integration.adminKey });
    admin = new GhostAdminAPI({ url: s.url, key: s.staff.Administrator.staffToken, version: 'v6.0' });
    // A custom theme goes live first, as on a real site (the default themes cannot be overwritten at all).
    await admin.themes.upload({ file: await themeZip(`${NAME}.zip`, '1.0.0') });
    await admin.themes.activate(NAME);
    assert.equal((await active()).name, NAME);
  });
  after(async () => {
    try {
      await admin?.themes.activate('source');
      for (const name of [NAME, `${NAME}-2`]) await call(s.url, s.staff.Administrator.staffToken, 'DELETE', `/themes/${name}/`);
    } finally {
      await gw?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an upload named like the active theme is refused, in any letter case, and the live theme is unchanged', async () => {
    const key = await keyWith(gw, { version: 1, scopes: ['themes:upload'], narrow: { themes: { keepActive: true } } });
    const viaGw = new GhostAdminAPI({ url: gw.url, key, version: 'v6.0' });
    for (const file of [`${NAME}.zip`, `${NAME.toUpperCase()}.zip`, `${NAME}.zip.zip`]) {
      await assert.rejects(
        viaGw.themes.upload({ file: await themeZip(file, '6.6.6') }),
        (e: { code?: string }) => e.code === 'THEME_ACTIVE_REFUSED',
        file,
      );
    }
    const live = await active();
    assert.equal(live.name, NAME);
    assert.equal(live.package.version, '1.0.0', 'the active theme’s files were not replaced');
    const other = await viaGw.themes.upload({ file: await themeZip(`${NAME}-2.zip`, '2.0.0') });
    assert.equal(other.name, `${NAME}-2`, 'a theme under another name is uploaded');
    assert.equal((await active()).name, NAME);
  });
});

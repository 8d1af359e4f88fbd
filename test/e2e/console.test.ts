import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error the official client ships no types
import GhostAdminAPI from '@tryghost/admin-api';
import type { LabState } from '../../src/lab/lab.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { CLI, lab } from './lab-helper.js';

/**
 * The web console in Debian's Chromium (playwright-core, no browser download)
 * against a gateway in front of the lab's real Ghost: sign in through a set-up
 * link, create a key with the wizard (a tag picked from the live site), copy
 * it, use it with the official client, see it on the key's page and in the
 * audit, revoke it; an access request end to end; CSRF and session expiry.
 * Each page's screenshot is written to docs/screenshots/.
 */
const execFileP = promisify(execFile);
const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const CHROMIUM = process.env.GHOSTGATE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const EMAIL = 'owner@console.test';
const PASSWORD = 'a long console password';

describe('web console', () => {
  let s: LabState;
  let gw: TestGateway;
  let browser: Browser;
  let admin: BrowserContext;
  let pg: Page;
  let keyId = '';
  let key = '';

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--config', gw.configFile, ...args, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, GHOSTGATE_UPSTREAM_KEY: '', GHOSTGATE_MASTER_SECRET: '' },
    });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const C = () => `${gw.url}/ghostgate/console`;
  const client = (k: string) => new GhostAdminAPI({ url: gw.url, key: k, version: 'v6.0' });
  const refusedCode = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'allowed';
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    s = await lab();
    gw = await startTestGateway({
      upstreamUrl: s.url,
      upstreamKey: s.integration.adminKey,
      relay: true,
      extra: { console: { secureCookies: 'never' } },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    pg = await admin.newPage();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
  });

  test('there is no default account: the console sends a stranger to sign in, and a made-up sign-in fails', async () => {
    const r = await fetch(`${C()}/keys`, { redirect: 'manual' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/ghostgate/console/signin');
    await pg.goto(`${C()}/signin`);
    await pg.fill('#email', 'admin@console.test');
    await pg.fill('#password', 'admin');
    await pg.click('button[type=submit]');
    assert.equal(await pg.getAttribute('[role=alert]', 'data-code'), 'CONSOLE_SIGNIN_FAILED');
    // Throttled per account: after 5 failures even the right password is not checked.
    const attempt = () =>
      fetch(`${C()}/signin`, {
        method: 'POST',
        headers: { origin: gw.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'email=someone%40console.test&password=wrong-password-1',
      });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt()).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    assert.match(await (await attempt()).text(), /data-code="CONSOLE_SIGNIN_THROTTLED"/);
    const csp = (await fetch(`${C()}/signin`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
  });

  test('sign in through the one-time set-up link', async () => {
    const added = cli(['admin', 'add', EMAIL]);
    const link = String(added.setup_link);
    assert.ok(link.startsWith(`${gw.url}/ghostgate/console/setup?token=`), 'link.startsWith(`${gw.url}/ghostgate/console/setup?token=`)');
    await pg.goto(link);
    await shot(pg, 'setup');
    await pg.fill('#password', PASSWORD);
    await pg.click('button[type=submit]');
    assert.match((await pg.textContent('h1')) ?? '', /password is set/);
    await pg.goto(link);
    assert.match((await pg.textContent('h1')) ?? '', /used or expired/, 'the link works once');
    await pg.goto(`${C()}/signin`);
    await shot(pg, 'signin');
    await pg.fill('#email', EMAIL);
    await pg.fill('#password', PASSWORD);
    await pg.click('button[type=submit]');
    await pg.waitForURL(`${C()}/keys`);
    const cookie = (await admin.cookies()).find((c) => c.name === 'ghostgate_session')!;
    assert.deepEqual([cookie.httpOnly, cookie.sameSite], [true, 'Strict']);
    assert.equal((cli(['admin', 'list']) as unknown as { email: string; set_up: boolean }[])[0]!.set_up, true);
  });

  test('create a key with the wizard, a tag picked from the live site; copy it; use it with the official client', async () => {
    await pg.goto(`${C()}/keys/new`);
    await pg.fill('#name', 'partner reader');
    await pg.check('input[name=start][value=custom]');
    await pg.click('details:has(input[value="posts:browse"]) > summary');
    await pg.check('input[name=scope][value="posts:browse"]');
    await pg.check('input[name=scope][value="posts:read"]');
    // The tag list comes from the live site through the upstream credential.
    await pg.check('input[name=tag][value=partner]');
    await pg.selectOption('#lifetime', '86400000');
    await shot(pg, 'create-wizard');
    await pg.click('button:has-text("Review")');
    const grant = JSON.parse((await pg.textContent('#grant-json')) ?? '{}') as {
      scopes: string[];
      constraints: { posts: { tags: string[] } };
    };
    assert.deepEqual(grant.scopes, ['posts:browse', 'posts:read']);
    assert.deepEqual(grant.constraints.posts.tags, ['partner']);
    assert.match(
      (await pg.textContent('#cli-command')) ?? '',
      /^ghostgate token create --name 'partner reader' --grant grant\.json --expires 1d$/,
    );
    await shot(pg, 'create-review');
    await pg.click('button:has-text("Create key")');
    key = ((await pg.textContent('#new-key')) ?? '').trim();
    assert.match(key, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
    keyId = key.slice(0, 24);
    await pg.click('button[data-copy=new-key]');
    assert.equal(await pg.evaluate(() => navigator.clipboard.readText()), key, 'the copy button copies the key');
    await shot(pg, 'create-key-shown');

    // The curl snippet, run as shown (bash, openssl, curl), is answered by the gateway.
    // (Run asynchronously: the gateway answering it lives in this process.)
    const curl = await execFileP('bash', ['-c', ((await pg.textContent('#snippet-curl')) ?? '') + ' -sS --max-time 20'], {
      encoding: 'utf8',
    });
    assert.ok((JSON.parse(curl.stdout) as { posts: unknown[] }).posts.length > 0, curl.stdout.slice(0, 200));

    const api = client(key);
    const posts = (await api.posts.browse({ limit: 'all', filter: 'status:[draft,published,scheduled]' })) as {
      tags: { slug: string }[];
    }[];
    assert.ok(posts.length > 0, 'posts.length > 0');
    for (const p of posts)
      assert.ok(
        p.tags.some((t) => t.slug === 'partner'),
        'only posts tagged partner',
      );
    const news = s.content.posts.find((p) => p.type === 'post' && p.tags.includes('News'))!;
    assert.equal(await refusedCode(api.posts.read({ id: news.id })), 'RECORD_OUTSIDE_GRANT');
    assert.equal(await refusedCode(api.posts.add({ title: 'nope' })), 'SCOPE_MISSING');
  });

  test("the requests are on the key's page and in the audit, with the admin's own action", async () => {
    await new Promise((r) => setTimeout(r, 300)); // the audit's flush window (100 ms)
    await pg.goto(`${C()}/keys`);
    assert.match((await pg.textContent('table')) ?? '', /partner reader/);
    await shot(pg, 'keys');
    await pg.goto(`${C()}/keys/${keyId}`);
    const text = (await pg.textContent('main')) ?? '';
    assert.match(text, /GET \/posts\//);
    assert.match(text, /SCOPE_MISSING/);
    assert.ok((await pg.locator('svg[role=img] rect').count()) > 0, 'the per-day chart');
    await shot(pg, 'key');
    await pg.goto(`${C()}/audit?since=1h`);
    const audit = (await pg.textContent('main')) ?? '';
    assert.match(audit, /chain verified/);
    assert.match(audit, /ADMIN keys\.create/);
    assert.match(audit, new RegExp(EMAIL.replace('.', '\\.')));
    await shot(pg, 'audit');
    const exp = await pg.request.get(`${C()}/audit/export?key=${keyId}&since=1h`);
    const lines = (await exp.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { keyId: string });
    assert.ok(lines.length >= 3 && lines.every((l) => l.keyId === keyId), 'lines.length >= 3 && lines.every((l) => l.keyId === keyId)');
  });

  test("approvals: a call the grant's confirm holds is approved in the console, then goes through once", async () => {
    const direct = new GhostAdminAPI({ url: s.url, key: s.integration.adminKey, version: 'v6.0' });
    const post = (await direct.posts.add({ title: 'console approval target' })) as { id: string };
    const agent = await gw.createKey({ version: 1, scopes: ['posts:*'], confirm: ['posts:destroy'] }, 'agent');
    const api = client(agent.key);
    assert.equal(await refusedCode(api.posts.delete({ id: post.id })), 'APPROVAL_PENDING');
    await pg.goto(`${C()}/approvals`);
    assert.match((await pg.textContent('main')) ?? '', /DELETE/);
    await shot(pg, 'approvals');
    await pg.click('button:has-text("Approve")');
    assert.equal(await refusedCode(api.posts.delete({ id: post.id })), 'allowed', 'the approved call goes through');
    await pg.goto(`${C()}/approvals?status=used`);
    assert.match((await pg.textContent('main')) ?? '', /used/);
  });

  test('try a request shows the rule that decides', async () => {
    await pg.goto(`${C()}/try`);
    await pg.selectOption('#t-key', keyId);
    await pg.selectOption('#t-method', 'POST');
    await pg.fill('#t-path', '/posts/');
    await pg.click('button:has-text("Explain")');
    assert.match((await pg.textContent('main')) ?? '', /SCOPE_MISSING/);
    await shot(pg, 'try');
    await pg.goto(`${C()}/account`);
    await shot(pg, 'account');
  });

  test('a POST without the CSRF token, or from another origin, is refused and changes nothing', async () => {
    const before = (await gw.gateway.store.keys.list()).length;
    const spec = JSON.stringify({
      name: 'csrf',
      preset: null,
      grant: { version: 1, scopes: ['posts:browse'] },
      lifetimeMs: null,
      maxUses: null,
      limits: {},
      allowEscalation: false,
    });
    const noToken = await pg.request.post(`${C()}/keys/create`, { form: { spec }, headers: { origin: gw.url } });
    assert.equal(noToken.status(), 403);
    assert.match(await noToken.text(), /data-code="CONSOLE_CSRF"/);
    const csrf = await pg.goto(`${C()}/keys`).then(() => pg.getAttribute('input[name=_csrf]', 'value'));
    const otherOrigin = await pg.request.post(`${C()}/keys/create`, {
      form: { spec, _csrf: csrf! },
      headers: { origin: 'http://evil.test' },
    });
    assert.equal(otherOrigin.status(), 403);
    assert.match(await otherOrigin.text(), /data-code="CONSOLE_CSRF"/);
    assert.equal((await gw.gateway.store.keys.list()).length, before);
  });

  test('the signed-in session reads the management API, and changes nothing through it (a cookie is no CSRF-proof credential)', async () => {
    const listed = await pg.request.get(`${gw.url}/ghostgate/v1/keys`);
    assert.equal(listed.status(), 200);
    assert.ok(
      ((await listed.json()) as { keys: unknown[] }).keys.length > 0,
      '((await listed.json()) as { keys: unknown[] }).keys.length > 0',
    );
    const before = (await gw.gateway.store.keys.list()).length;
    const made = await pg.request.post(`${gw.url}/ghostgate/v1/keys`, {
      data: { keys: [{ name: 'by cookie', preset: 'content-reader' }] },
      headers: { origin: gw.url },
    });
    assert.equal(made.status(), 403);
    assert.equal(((await made.json()) as { errors: { code: string }[] }).errors[0]!.code, 'ADMIN_SCOPE_MISSING');
    assert.equal((await gw.gateway.store.keys.list()).length, before);
  });

  test('revoke with confirmation: the next call is refused', async () => {
    await pg.goto(`${C()}/keys/${keyId}`);
    await pg.click('a:has-text("Revoke")');
    await shot(pg, 'revoke-confirm');
    await pg.click('button:has-text("Revoke this key")');
    assert.match((await pg.textContent('main')) ?? '', /revoked/);
    assert.equal(await refusedCode(client(key).posts.browse({ limit: 1 })), 'KEY_REVOKED');
  });

  test('an access request: opened, approved with fewer scopes, collected once, used', async () => {
    const r = cli(['request-link', '--preset', 'content-reader', '--name', 'zapier', '--expires', '1d']);
    const link = String(r.link);
    const requester = await browser.newContext();
    try {
      const rp = await requester.newPage();
      await rp.goto(link);
      assert.match((await rp.textContent('main')) ?? '', /Waiting for an administrator/);
      await shot(rp, 'request-pending');
      await pg.goto(`${C()}/requests`);
      await shot(pg, 'requests');
      await pg.click('a:has-text("zapier")');
      await pg.uncheck('input[name=scope][value="pages:browse"]');
      await pg.uncheck('input[name=scope][value="pages:read"]');
      await shot(pg, 'request-decide');
      await pg.click('button:has-text("Approve")');
      assert.match((await pg.textContent('main')) ?? '', /approved/);
      await rp.reload();
      await rp.click('button:has-text("Collect the key")');
      const got = ((await rp.textContent('#new-key')) ?? '').trim();
      assert.match(got, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
      await shot(rp, 'request-collected');
      const api = client(got);
      assert.ok(
        ((await api.posts.browse({ limit: 1 })) as unknown[]).length >= 0,
        '((await api.posts.browse({ limit: 1 })) as unknown[]).length >= 0',
      );
      assert.equal(await refusedCode(api.pages.browse({ limit: 1 })), 'SCOPE_MISSING', 'narrowed at approval');
      await rp.goto(link);
      assert.match((await rp.textContent('main')) ?? '', /was collected/);
      const again = await rp.request.post(`${gw.url}/ghostgate/request`, {
        form: { token: new URL(link).searchParams.get('token')! },
        headers: { origin: gw.url },
      });
      assert.equal(again.status(), 409, 'collected once');
    } finally {
      await requester.close();
    }
  });

  test('a session idle past its limit is over: the next page asks to sign in again', async () => {
    // Time passes for the session as it would: its last use moved 31 minutes back (idle limit 30).
    const db = new Database(join(gw.configFile, '..', 'ghostgate.db'));
    db.prepare('UPDATE admin_sessions SET last_seen_at = last_seen_at - ?').run(31 * 60_000);
    db.close();
    await pg.goto(`${C()}/keys`);
    assert.equal(new URL(pg.url()).pathname, '/ghostgate/console/signin');
    assert.equal(await pg.getAttribute('[role=alert]', 'data-code'), 'CONSOLE_SESSION_ENDED');
  });
});

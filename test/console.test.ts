import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import Database from 'better-sqlite3';
import { addAdmin, completeSetup } from '../src/admin/accounts.js';
import { openAudit } from '../src/admin/context.js';
import { createKey } from '../src/admin/keys.js';
import { createAccessRequest, decideAccessRequest } from '../src/admin/requests.js';
import { base32Decode, totp } from '../src/admin/totp.js';
import type { AuditRow } from '../src/store/audit.js';
import type { FakeUpstream } from './helpers/fake-upstream.js';
import { TEST_STORE, type TestGateway } from './helpers/gateway.js';
import { startApiGateway } from './helpers/admin-api.js';
import { authHeader } from './helpers/token.js';

/**
 * The console's forms over HTTP, on a real gateway in front of a strict fake Ghost, as a browser
 * (or an attacker's page) sends them: the Host it answers to, CSRF refusals audited, changes whose
 * intent is durable before they are made, a second factor that takes its password and ends other
 * sessions, and "Narrow it" that never makes a wider key. (test/e2e/console.test.ts drives the
 * pages in Chromium against the lab's Ghost.)
 */
const PASSWORD = 'a long enough password';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly location: string | undefined;
}

/** A browser's worth of HTTP: a cookie jar, the Origin a same-site form sends, any Host. */
function browser(base: string, o: { host?: string; origin?: string | null } = {}) {
  const jar = new Map<string, string>();
  const u = new URL(base);
  const send = (
    method: string,
    path: string,
    form?: Record<string, string | string[]>,
    extra: Record<string, string> = {},
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const body = form
        ? new URLSearchParams(Object.entries(form).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))).toString()
        : undefined;
      const headers: Record<string, string> = { host: o.host ?? u.host, ...extra };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = String(Buffer.byteLength(body));
        const origin = o.origin === undefined ? `http://${o.host ?? u.host}` : o.origin;
        if (origin !== null) headers.origin = origin;
      }
      const r = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const kv = c.split(';')[0]!;
          const i = kv.indexOf('=');
          if (kv.slice(i + 1)) jar.set(kv.slice(0, i), kv.slice(i + 1));
          else jar.delete(kv.slice(0, i));
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), location: res.headers.location }),
        );
      });
      r.on('error', reject);
      r.end(body);
    });
  return {
    jar,
    get: (path: string) => send('GET', `/ghostgate/console${path}`),
    head: (path: string) => send('HEAD', `/ghostgate/console${path}`),
    raw: send,
    post: (path: string, form: Record<string, string | string[]>) => send('POST', `/ghostgate/console${path}`, form),
    /** The form's CSRF token from a page of this session. */
    async csrf(): Promise<string> {
      const page = await send('GET', '/ghostgate/console/account');
      const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
      assert.ok(m, `a signed-in page carries the CSRF token (got ${page.status})`);
      return m[1]!;
    },
    async signIn(email: string, password = PASSWORD, code?: string): Promise<Answer> {
      return send('POST', '/ghostgate/console/signin', { email, password, ...(code ? { totp: code } : {}) });
    },
  };
}

/** The refusal's code: on a console page (data-code), or in Ghost's envelope (the gateway's own refusals, e.g. while its audit is down). */
const codeOf = (a: Answer) => (/data-code="([A-Z_]+)"/.exec(a.text) ?? /"code":"([A-Z_]+)"/.exec(a.text))?.[1];

describe('the console over HTTP', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let close: () => Promise<void>;
  let n = 0;

  before(async () => {
    ({ ghost, gw, close } = await startApiGateway({ publicUrl: 'http://gate.example.test', trustedProxies: ['127.0.0.1/32'] }));
  });
  after(async () => {
    await close?.();
  });

  const account = async () => {
    const email = `admin${++n}@example.test`;
    const { token } = await addAdmin({ store: gw.gateway.store }, email, Date.now());
    const a = await completeSetup({ store: gw.gateway.store }, token, PASSWORD, Date.now());
    return { email, id: a.id };
  };
  const signedIn = async (o: Parameters<typeof browser>[1] = {}) => {
    const { email, id } = await account();
    const b = browser(gw.url, o);
    const r = await b.signIn(email);
    assert.equal(r.status, 303, 'signed in');
    return { b, email, id };
  };
  /** The admin records of the audit (intents included), oldest first. */
  const adminRows = async (): Promise<(AuditRow & { d: { actor: { id: string } | null; action: string; target: string | null } })[]> => {
    await new Promise((r) => setTimeout(r, 60));
    const a = await openAudit(gw.config);
    try {
      return (await a.query({}))
        .filter((r) => r.detail && (JSON.parse(r.detail) as { via?: string }).via === 'admin')
        .map((r) => ({ ...r, d: JSON.parse(r.detail!) }));
    } finally {
      await a.close();
    }
  };
  const services = () => ({ config: gw.config, store: gw.gateway.store, master: gw.master });

  test('answers only at its own address: another Host (a rebound DNS name) is refused before anything, and audited', async () => {
    const evil = browser(gw.url, { host: 'attacker.example' });
    const page = await evil.get('/signin');
    assert.deepEqual([page.status, codeOf(page)], [421, 'CONSOLE_HOST']);
    const { email } = await account();
    const tried = await evil.signIn(email);
    assert.deepEqual([tried.status, codeOf(tried)], [421, 'CONSOLE_HOST'], 'not even a sign-in is tried');
    assert.equal(evil.jar.size, 0, 'no session');
    assert.equal((await browser(gw.url, { host: 'gate.example.test' }).get('/signin')).status, 200, 'publicUrl’s host');
    assert.equal((await browser(gw.url, { host: `localhost:${new URL(gw.url).port}` }).get('/signin')).status, 200, 'localhost');
    assert.equal((await browser(gw.url).get('/signin')).status, 200, 'an IP literal');
    const forwarded = browser(gw.url, { host: 'attacker.example' });
    const viaHeader = await forwarded.raw('GET', '/ghostgate/console/signin', undefined, { 'x-forwarded-host': 'localhost' });
    assert.equal(viaHeader.status, 421, 'X-Forwarded-Host is never read, even from a trusted proxy');
    const rows = (await adminRows()).filter((r) => r.code === 'CONSOLE_HOST');
    assert.ok(rows.length >= 2, 'each refusal is audited');
    assert.equal(rows[0]!.decision, 'deny');
  });

  test('a form from another origin, without an Origin, or with a stale CSRF token is refused, changes nothing and is audited', async () => {
    const { b, id } = await signedIn();
    const key = await gw.createKey(['tags:browse'], 'csrf target');
    const foreign = browser(gw.url, { origin: 'https://attacker.example' });
    for (const [k, v] of b.jar) foreign.jar.set(k, v);
    const csrf = await b.csrf();
    const r1 = await foreign.post(`/keys/${key.id}/revoke`, { _csrf: csrf });
    assert.deepEqual([r1.status, codeOf(r1)], [403, 'CONSOLE_CSRF']);
    const none = browser(gw.url, { origin: null });
    for (const [k, v] of b.jar) none.jar.set(k, v);
    assert.equal(codeOf(await none.post(`/keys/${key.id}/revoke`, { _csrf: csrf })), 'CONSOLE_CSRF');
    const r3 = await b.post(`/keys/${key.id}/revoke`, { _csrf: 'x'.repeat(43) });
    assert.deepEqual([r3.status, codeOf(r3)], [403, 'CONSOLE_CSRF']);
    assert.equal((await gw.gateway.store.keys.get(key.id))?.status, 'active', 'nothing was revoked');
    const rows = (await adminRows()).filter((r) => r.code === 'CONSOLE_CSRF');
    assert.ok(rows.length >= 3, 'rows.length >= 3');
    assert.ok(
      rows.some((r) => r.d.actor?.id === id),
      'a refused token is audited with the signed-in admin',
    );
    const ended = browser(gw.url);
    ended.jar.set('ghostgate_session', 'y'.repeat(43));
    const r4 = await ended.post(`/keys/${key.id}/revoke`, { _csrf: csrf });
    assert.deepEqual([r4.status, codeOf(r4)], [401, 'CONSOLE_SESSION_ENDED']);
    assert.ok(
      (await adminRows()).some((r) => r.code === 'CONSOLE_SESSION_ENDED'),
      "(await adminRows()).some((r) => r.code === 'CONSOLE_SESSION_ENDED')",
    );
  });

  test('a change leaves its intent before it is made, and its outcome after, under one request id', async () => {
    const { b, id } = await signedIn();
    const key = await gw.createKey(['tags:browse'], 'to revoke');
    const r = await b.post(`/keys/${key.id}/revoke`, { _csrf: await b.csrf() });
    assert.equal(r.status, 303);
    assert.equal((await gw.gateway.store.keys.get(key.id))?.status, 'revoked');
    const rows = (await adminRows()).filter((x) => x.d.action === 'keys.revoke' && x.d.target === key.id);
    assert.deepEqual(
      rows.map((x) => [x.kind, x.decision]),
      [
        ['intent', 'allow'],
        ['request', 'allow'],
      ],
    );
    assert.equal(rows[0]!.requestId, rows[1]!.requestId);
    assert.equal(rows[0]!.d.actor?.id, id);
    // A refused change: its intent, then its refusal.
    const missing = await b.post(`/keys/${'f'.repeat(24)}/rotate`, { _csrf: await b.csrf() });
    assert.ok(missing.status >= 400, 'missing.status >= 400');
    const refused = (await adminRows()).filter((x) => x.d.action === 'keys.rotate' && x.d.target === 'f'.repeat(24));
    assert.deepEqual(
      refused.map((x) => [x.kind, x.decision]),
      [
        ['intent', 'allow'],
        ['request', 'deny'],
      ],
    );
  });

  test('turning two-factor sign-in on or off asks for the password (and the current code), once per code, and ends the other sessions', async () => {
    const { b, email, id } = await signedIn();
    const other = browser(gw.url);
    assert.equal((await other.signIn(email)).status, 303);
    const page = await b.get('/account');
    const secret = /<code id="totp-secret">([A-Z2-7]{32})<\/code>/.exec(page.text)![1]!;
    const code = () => totp(base32Decode(secret), Date.now());
    const wrong = await b.post('/account', { _csrf: await b.csrf(), secret, code: code(), password: 'not the password at all' });
    assert.deepEqual([wrong.status, codeOf(wrong)], [401, 'CONSOLE_SIGNIN_FAILED']);
    assert.equal((await gw.gateway.store.admins.account(id))?.totpSealed, null, 'not turned on');
    const on = await b.post('/account', { _csrf: await b.csrf(), secret, code: code(), password: PASSWORD });
    assert.equal(on.status, 303);
    assert.notEqual((await gw.gateway.store.admins.account(id))?.totpSealed, null);
    assert.equal((await other.get('/keys')).status, 302 + 1, 'the other session ended (sent to sign in)');
    assert.match((await other.get('/keys')).location ?? '', /signin/);
    assert.equal((await b.get('/keys')).status, 200, 'this one stays');
    const off = await b.post('/account', { _csrf: await b.csrf(), action: 'disable', password: PASSWORD, totp: code() });
    assert.deepEqual([off.status, codeOf(off)], [401, 'CONSOLE_SIGNIN_FAILED'], 'the enrolment code is used already');
    assert.notEqual((await gw.gateway.store.admins.account(id))?.totpSealed, null);
    const rows = (await adminRows()).filter((x) => x.d.actor?.id === id && x.d.action.startsWith('accounts.totp'));
    assert.deepEqual(
      rows.filter((x) => x.kind === 'request').map((x) => [x.d.action, x.decision, x.code]),
      [
        ['accounts.totp_on', 'deny', 'CONSOLE_SIGNIN_FAILED'],
        ['accounts.totp_on', 'allow', null],
        ['accounts.totp_off', 'deny', 'CONSOLE_SIGNIN_FAILED'],
      ],
    );
  });

  test('"Narrow it" makes a replacement no wider than the key: same parent and expiry, the uses left; never for a spent key', async () => {
    const { b } = await signedIn();
    const expires = Date.now() + 5 * 86_400_000;
    const parent = await createKey(
      services(),
      { name: 'agency', grant: { version: 1, scopes: ['posts:browse', 'tags:browse', 'tags:read'] }, expiresAt: expires + 86_400_000 },
      Date.now(),
    );
    const child = await createKey(
      services(),
      {
        name: 'tool',
        grant: { version: 1, scopes: ['posts:browse', 'tags:browse'] },
        expiresAt: expires,
        maxUses: 5,
        parentId: parent.record.id,
      },
      Date.now(),
    );
    ghost.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":[]}');
    };
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(child.key) } });
      assert.equal(r.status, 200);
    }
    await new Promise((r) => setTimeout(r, 100));
    const review = await b.get(`/keys/new?from=${child.record.id}`);
    assert.equal(review.status, 200);
    const spec = JSON.parse(
      /name="spec" value="([^"]+)"/
        .exec(review.text)![1]!
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    ) as Record<string, unknown>;
    assert.deepEqual((spec.grant as { scopes: string[] }).scopes, ['posts:browse'], 'only what it used');
    // The form is the admin's to edit, but a narrowing's bounds are read again from the key.
    const widened = await b.post('/keys/create', {
      _csrf: await b.csrf(),
      spec: JSON.stringify({ ...spec, grant: { version: 1, scopes: ['posts:browse', 'tags:read'] } }),
    });
    assert.equal(widened.status, 400, 'a scope the key does not hold is refused');
    const stretched = await b.post('/keys/create', {
      _csrf: await b.csrf(),
      spec: JSON.stringify({ ...spec, lifetimeMs: 365 * 86_400_000, maxUses: 1000, expiresAt: null, limits: {} }),
    });
    assert.equal(stretched.status, 201);
    const made = (await gw.gateway.store.keys.list()).find((k) => k.name === 'tool (narrowed)')!;
    assert.deepEqual(
      [made.parentId, made.expiresAt, made.maxUses, made.grant.scopes],
      [parent.record.id, expires, 3, ['posts:browse']],
      'the parent, the expiry and the uses left are the key’s',
    );
    await gw.gateway.store.keys.revoke(child.record.id, Date.now());
    const spent = await b.get(`/keys/new?from=${child.record.id}`);
    assert.equal(spent.status, 409, 'a revoked key is not narrowed');
    const again = await b.post('/keys/create', { _csrf: await b.csrf(), spec: JSON.stringify(spec) });
    assert.equal(again.status, 400, 'nor created from an old form');
  });

  test('HEAD is a GET without its body: it never runs a form (no revoke, no rotate, no crash)', async () => {
    const { b } = await signedIn();
    const key = await gw.createKey(['tags:browse'], 'head target');
    for (const path of [`/keys/${key.id}/revoke`, `/keys/${key.id}/rotate`, '/account', '/signin', '/setup', '/keys']) {
      const r = await b.head(path);
      assert.ok(r.status < 500, `HEAD ${path} answered ${r.status}`);
      assert.equal(r.text, '', 'no body');
    }
    const k = await gw.gateway.store.keys.get(key.id);
    assert.deepEqual([k?.status, k?.generation], ['active', 1], 'neither revoked nor rotated');
    const rows = (await adminRows()).filter((x) => x.d.target === key.id);
    assert.deepEqual(rows, [], 'nothing to audit: nothing was done');
  });

  test('a right password without its code is audited; an access request whose key cannot be made is not used up', async () => {
    const { email, id } = await account();
    await gw.gateway.store.admins.setTotp(id, 'sealed-secret-stand-in');
    const b = browser(gw.url);
    const r = await b.signIn(email);
    assert.equal(r.status, 200, 'asked for the code');
    const rows = (await adminRows()).filter((x) => x.d.actor?.id === id && x.code === 'CONSOLE_TOTP_REQUIRED');
    assert.equal(rows.length, 1, 'the owner can see that the password was used');
    // A request for a full-access grant, approved: its collection is refused, audited, and the request stays approved.
    const req = await createAccessRequest(
      { store: gw.gateway.store },
      { name: 'exporter', grant: { version: 1, scopes: ['db:exportContent'] } },
      Date.now(),
    );
    await decideAccessRequest(services(), req.record.id, 'approved', { kind: 'account', id, name: email }, Date.now());
    const requester = browser(gw.url);
    const got = await requester.raw('POST', '/ghostgate/request', { token: req.token });
    assert.equal(got.status, 409);
    const after = await gw.gateway.store.admins.request(req.record.id);
    assert.deepEqual([after?.status, after?.keyId], ['approved', null], 'not used up without a key');
    const collects = (await adminRows()).filter(
      (x) => x.kind !== 'intent' && x.d.action === 'requests.collect' && x.d.actor?.id === `request:${req.record.id}`,
    );
    assert.deepEqual(
      collects.map((x) => [x.decision, x.code]),
      [['deny', 'ADMIN_INVALID']],
    );
  });

  test('a key name with an invisible character cannot pass for another key: it is shown escaped', async () => {
    const { b } = await signedIn();
    await gw.createKey(['tags:browse'], 'zapier\u200b-prod\u202e');
    const page = await b.get('/keys');
    assert.match(page.text, /zapier\\u200b-prod\\u202e/);
    assert.doesNotMatch(page.text, /\u200b|\u202e/, 'the characters themselves never reach the page');
  });

  // The audit file is locked to make it unwritable: on SQLite (on PostgreSQL the trail is in the database).
  const sqliteOnly = TEST_STORE === 'postgres' ? { skip: 'the audit trail is in PostgreSQL there' } : {};
  test(
    'collecting an access request, setting a password or signing in while the audit cannot be written changes nothing',
    sqliteOnly,
    async () => {
      const { email, id } = await account();
      const req = await createAccessRequest({ store: gw.gateway.store }, { name: 'locked out', preset: 'content-reader' }, Date.now());
      await decideAccessRequest(services(), req.record.id, 'approved', { kind: 'account', id, name: email }, Date.now());
      const setup = await addAdmin({ store: gw.gateway.store }, `setup${++n}@example.test`, Date.now());
      const keysBefore = (await gw.gateway.store.keys.list()).length;
      const locker = new Database(gw.config.audit.path);
      locker.exec('BEGIN EXCLUSIVE');
      try {
        const collect = await browser(gw.url).raw('POST', '/ghostgate/request', { token: req.token });
        assert.deepEqual([collect.status, codeOf(collect)], [503, 'AUDIT_UNAVAILABLE'], collect.text.slice(0, 300));
        const set = await browser(gw.url).post('/setup', { token: setup.token, password: PASSWORD });
        assert.deepEqual([set.status, codeOf(set)], [503, 'AUDIT_UNAVAILABLE']);
        const b = browser(gw.url);
        const signin = await b.signIn(email);
        assert.deepEqual([signin.status, codeOf(signin)], [503, 'AUDIT_UNAVAILABLE']);
        assert.equal(b.jar.size, 0, 'no session cookie');
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      assert.equal((await gw.gateway.store.admins.request(req.record.id))?.status, 'approved', 'the link is not used up');
      assert.equal((await gw.gateway.store.keys.list()).length, keysBefore, 'no key was made');
      assert.equal((await gw.gateway.store.admins.account(setup.account.id))?.passwordHash, null, 'no password was set');
      // The gateway tries the audit again within audit.flushMs of a refusal; until then it refuses (nothing changed).
      let collected = await browser(gw.url).raw('POST', '/ghostgate/request', { token: req.token });
      for (let i = 0; i < 50 && collected.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 50));
        collected = await browser(gw.url).raw('POST', '/ghostgate/request', { token: req.token });
      }
      assert.equal(collected.status, 201, 'collected once the audit is back');
    },
  );
});

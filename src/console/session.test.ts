import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { parseCidrs } from '../pipeline/lifecycle/lifecycle.js';
import type { AdminSession, Store } from '../store/store.js';
import { h } from './html.js';
import { ConsoleSessions, csrfOk } from './session.js';

/** The console's cookie, TLS, Origin and CSRF rules on requests made up in memory (no store is reached). */
const store = {} as Store;
const policy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };
const req = (headers: Record<string, string>, remoteAddress = '203.0.113.9', encrypted = false) =>
  ({ headers, socket: { remoteAddress, ...(encrypted ? { encrypted: true } : {}) } }) as unknown as IncomingMessage;

test('the cookie is HttpOnly and SameSite=Strict, and Secure with a __Host- name only over TLS', () => {
  const s = new ConsoleSessions({ store, policy, secureCookies: 'auto', trustedProxies: parseCidrs(['127.0.0.1/32']) });
  const plain = s.setCookie(req({ host: 'g' }), 'id');
  assert.equal(plain, 'ghostgate_session=id; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
  assert.match(
    s.setCookie(req({ host: 'g' }, '203.0.113.9', true), 'id'),
    /^__Host-ghostgate_session=id; Path=\/; HttpOnly; SameSite=Strict; Secure;/,
  );
  assert.equal(s.secure(req({ 'x-forwarded-proto': 'https' }, '127.0.0.1')), true, 'a trusted proxy says https');
  assert.equal(s.secure(req({ 'x-forwarded-proto': 'https' }, '203.0.113.9')), false, 'anyone else is not believed');
  assert.equal(new ConsoleSessions({ store, policy, secureCookies: 'auto', publicUrl: 'https://gate.test' }).secure(req({})), true);
  assert.equal(new ConsoleSessions({ store, policy, secureCookies: 'always' }).secure(req({})), true);
  assert.equal(new ConsoleSessions({ store, policy, secureCookies: 'never' }).secure(req({}, '1.1.1.1', true)), false);
});

test('a POST passes the Origin check only from this gateway: its Host header and scheme, or publicUrl; none or null is refused', () => {
  const s = new ConsoleSessions({ store, policy, secureCookies: 'auto' });
  assert.equal(s.originOk(req({ host: 'gate.test:8787', origin: 'http://gate.test:8787' })), true);
  assert.equal(s.originOk(req({ host: 'gate.test:8787', origin: 'https://gate.test:8787' })), false, 'another scheme');
  assert.equal(s.originOk(req({ host: 'gate.test:8787', origin: 'http://evil.test' })), false);
  assert.equal(s.originOk(req({ host: 'gate.test:8787' })), false, 'no Origin');
  assert.equal(s.originOk(req({ host: 'gate.test:8787', origin: 'null' })), false);
  assert.equal(s.originOk(req({ host: 'gate.test:8787', origin: 'not a url' })), false);
  const pub = new ConsoleSessions({ store, policy, secureCookies: 'auto', publicUrl: 'https://gate.example.com' });
  assert.equal(pub.originOk(req({ host: '127.0.0.1:8787', origin: 'https://gate.example.com' })), true);
  const proxied = new ConsoleSessions({ store, policy, secureCookies: 'auto', trustedProxies: parseCidrs(['127.0.0.1/32']) });
  // The proxy passes the browser's Host on (proxy_set_header Host $host) and says https.
  const viaProxy = { host: 'gate.example.com', 'x-forwarded-proto': 'https', origin: 'https://gate.example.com' };
  assert.equal(proxied.originOk(req(viaProxy, '127.0.0.1')), true);
  assert.equal(proxied.originOk(req(viaProxy, '203.0.113.9')), false, 'forwarded headers from anyone else are not believed');
  const forwardedHost = {
    host: '127.0.0.1:8787',
    'x-forwarded-host': 'gate.example.com',
    'x-forwarded-proto': 'https',
    origin: 'https://gate.example.com',
  };
  assert.equal(proxied.originOk(req(forwardedHost, '127.0.0.1')), false, 'X-Forwarded-Host is never read');
});

test("the CSRF token must be the session's own, whole", () => {
  const session: AdminSession = { idHash: 'h', accountId: 'a', csrf: 'x'.repeat(43), createdAt: 0, lastSeenAt: 0, expiresAt: 1 };
  assert.equal(csrfOk(session, 'x'.repeat(43)), true);
  for (const bad of [null, '', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}y`]) assert.equal(csrfOk(session, bad), false);
});

test('pages escape every value they are given', () => {
  const evil = `"><script>alert(1)</script>`;
  assert.equal(
    h`<p title="${evil}">${evil}</p>`.value,
    '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>',
  );
  assert.equal(h`${[h`<b>`, 'a&b', null, 2]}`.value, '<b>a&amp;b2');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientResponseHeaders, FORWARDED_REQUEST_HEADERS, upstreamRequestHeaders } from './headers.js';

test('only the allow-listed request headers reach Ghost, with the gateway’s host, scheme and credential', () => {
  // What Ghost reads: forwarded as the client sent it.
  const allowed = {
    'accept-version': 'v6.0',
    'x-ghost-version': '6.0',
    'content-type': 'application/json',
    'content-length': '2',
    'accept-encoding': 'gzip',
    'user-agent': 'tool/1',
    'if-none-match': 'W/"a"',
    'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT',
    'cache-control': 'no-cache',
  };
  const incoming = {
    host: 'gate.example',
    authorization: 'Ghost client-token',
    cookie: 'ghost-admin-api-session=x',
    'proxy-authorization': 'Basic c2VjcmV0',
    'x-original-url': '/ghost/api/admin/users/',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'evil.example',
    'transfer-encoding': 'chunked',
    ...allowed,
  };
  assert.deepEqual(upstreamRequestHeaders(incoming, 'Ghost upstream', 'ghost.internal:2368', 'https'), {
    ...allowed,
    host: 'ghost.internal:2368',
    'x-forwarded-proto': 'https',
    authorization: 'Ghost upstream',
  });
  assert.equal(FORWARDED_REQUEST_HEADERS.size, 9);
});

test('without an upstream credential no Authorization is sent, not even the client’s', () => {
  const out = upstreamRequestHeaders({ authorization: 'Ghost client-token' }, undefined, 'ghost:2368', 'http');
  assert.deepEqual(out, { host: 'ghost:2368', 'x-forwarded-proto': 'http' });
  assert.equal('authorization' in out, false);
});

test('a request header the client lists in Connection is hop-by-hop and dropped, whatever its case and spacing', () => {
  const out = upstreamRequestHeaders(
    { connection: 'keep-alive, User-Agent ,If-None-Match', 'user-agent': 'tool/1', 'if-none-match': 'W/"a"', 'accept-version': 'v6.0' },
    'Ghost upstream',
    'ghost:2368',
    'http',
  );
  assert.deepEqual(out, { 'accept-version': 'v6.0', host: 'ghost:2368', 'x-forwarded-proto': 'http', authorization: 'Ghost upstream' });
});

test('Ghost’s answer reaches the client without hop-by-hop headers, cookies, or headers its Connection lists', () => {
  const out = clientResponseHeaders({
    'content-type': 'application/json',
    'content-length': '12',
    etag: 'W/"abc"',
    vary: ['Accept-Version', 'Accept-Encoding'],
    'x-cache-invalidate': '/*',
    'set-cookie': ['ghost-admin-api-session=s'],
    connection: ['keep-alive, X-Secret', 'X-Other'],
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'proxy-authenticate': 'Basic',
    trailer: 'x',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic c2VjcmV0',
    'proxy-connection': 'keep-alive',
    te: 'trailers',
    'x-secret': 'internal',
    'x-other': 'internal',
    missing: undefined,
  });
  assert.deepEqual(out, {
    'content-type': 'application/json',
    'content-length': '12',
    etag: 'W/"abc"',
    vary: ['Accept-Version', 'Accept-Encoding'],
    'x-cache-invalidate': '/*',
  });
  assert.equal('missing' in out, false);
  assert.deepEqual(clientResponseHeaders({ connection: 'close', 'keep-alive': 'timeout=5', 'x-a': '1' }), { 'x-a': '1' });
});

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { createDecoder, createVerifier } from 'fast-jwt';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';

const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;

describe('gateway against a strict fake Ghost', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let reader: string;

  before(async () => {
    ghost = await startFakeUpstream();
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, timeoutMs: 500 });
    reader = (await gw.createKey(['posts:browse', 'posts:read', 'images:upload', 'posts:edit'])).key;
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
    ghost.respond = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ghost-thing': 'kept', 'set-cookie': 'a=b' });
      res.end('{"posts":[]}');
    };
  });

  test('forwards an allowed call once, with a fresh upstream token and only the headers it should', async () => {
    // node:http, because undici rewrites the Connection header this test needs to send.
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/ghost/api/admin/posts?limit=2&filter=status%3Adraft`, {
        headers: {
          authorization: authHeader(reader),
          cookie: 'ghost-admin-api-session=stolen',
          connection: 'keep-alive, x-drop-me',
          'x-drop-me': '1',
          'accept-version': 'v6.0',
          'user-agent': 'GhostAdminSDK/1.14.13',
        },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c));
        r.on('end', () => {
          resolve({ status: r.statusCode ?? 0, headers: r.headers, body });
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"posts":[]}');
    assert.equal(res.headers['x-ghost-thing'], 'kept');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(ghost.requests.length, 1);
    const up = ghost.requests[0]!;
    assert.equal(up.method, 'GET');
    // The filter is forwarded as the gateway read it, in its own spelling (grants/nql.ts).
    assert.equal(up.url, '/ghost/api/admin/posts/?limit=2&filter=status%3A%27draft%27');
    assert.equal(up.headers.cookie, undefined);
    assert.equal(up.headers['x-drop-me'], undefined);
    assert.equal(up.headers['accept-version'], 'v6.0');
    assert.equal(up.headers['x-forwarded-proto'], 'http');
    assert.equal(up.headers.host, new URL(ghost.url).host);
    // The client's token never reaches Ghost; the gateway signs its own with the upstream key.
    const token = String(up.headers.authorization).replace(/^Ghost /, '');
    const decoded = createDecoder({ complete: true })(token) as { header: { kid: string } };
    assert.equal(decoded.header.kid, UPSTREAM_KEY.split(':')[0]);
    const claims = createVerifier({ key: Buffer.from(UPSTREAM_KEY.split(':')[1]!, 'hex'), algorithms: ['HS256'] })(token) as {
      aud: string;
      exp: number;
      iat: number;
    };
    assert.equal(claims.aud, '/admin/');
    assert.equal(claims.exp - claims.iat, 300);
  });

  test('refuses a call outside the scopes with 403 naming the scope, and Ghost sees nothing', async () => {
    const res = await request(`${gw.url}/ghost/api/admin/tags/`, { headers: { authorization: authHeader(reader) } });
    assert.equal(res.statusCode, 403);
    const e = ((await res.body.json()) as { errors: { code: string; message: string; type: string }[] }).errors[0]!;
    assert.equal(e.code, 'SCOPE_MISSING');
    assert.equal(e.type, 'NoPermissionError');
    assert.match(e.message, /tags:browse/);
    assert.equal(ghost.requests.length, 0);
  });

  test('each request emits exactly one request event, with its route, key, decision, code, status and bytes', async () => {
    const seen: {
      requestId: string;
      kind: string;
      route: string;
      keyId: string | null;
      decision: string;
      code: string | null;
      status: number | null;
      bytesOut: number | null;
    }[] = [];
    const stop = gw.gateway.events.subscribe((e) => seen.push(e));
    ghost.respond = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '12' });
      res.end('{"posts":[]}');
    };
    try {
      const ok = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(reader) } });
      await ok.body.dump();
      const refused = await request(`${gw.url}/ghost/api/admin/tags/`, { headers: { authorization: authHeader(reader) } });
      await refused.body.dump();
      const unknown = await request(`${gw.url}/ghost/api/admin/nowhere/`, { headers: { authorization: authHeader(reader) } });
      await unknown.body.dump();
    } finally {
      stop();
    }
    const keyId = reader.split(':')[0];
    assert.deepEqual(
      seen.map((e) => [e.kind, e.route, e.keyId, e.decision, e.code, e.status]),
      [
        ['request', 'GET /posts', keyId, 'allow', null, 200],
        ['request', 'GET /tags', keyId, 'deny', 'SCOPE_MISSING', null],
        ['request', 'GET /ghost/api/admin/nowhere/', null, 'deny', 'ROUTE_UNKNOWN', null],
      ],
    );
    assert.equal(seen[0]!.bytesOut, '{"posts":[]}'.length);
    assert.equal(new Set(seen.map((e) => e.requestId)).size, 3);
  });

  test('an unknown route is refused before authentication and never forwarded', async () => {
    for (const [method, path] of [
      ['GET', '/ghost/api/admin/webhooks/'],
      ['PATCH', '/ghost/api/admin/posts/'],
      ['GET', '/ghost/api/admin/nope/'],
    ] as const) {
      const res = await request(`${gw.url}${path}`, { method, headers: { authorization: authHeader(reader) } });
      assert.equal(res.statusCode, 403, `${method} ${path}`);
      assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'ROUTE_UNKNOWN');
    }
    assert.equal(ghost.requests.length, 0);
  });

  test('a route Ghost would run under another spelling is refused before authentication and never forwarded', async () => {
    for (const [path, code] of [
      ['/ghost/api/admin/Posts/', 'PATH_CASE'],
      ['/ghost/api/admin/members/UPLOAD/', 'PATH_CASE'],
      ['/ghost/api/admin/posts/Export/', 'PATH_CASE'],
      ['/ghost/api/admin/posts/bulk/', 'PARAM_RESERVED'],
    ] as const) {
      const res = await request(`${gw.url}${path}`, { headers: { authorization: authHeader(reader) } });
      assert.equal(res.statusCode, 400, path);
      assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, code, path);
    }
    assert.equal(ghost.requests.length, 0);
  });

  test('legacy v4 paths keep their prefix and get a v4 audience upstream', async () => {
    const res = await request(`${gw.url}/ghost/api/v4/admin/posts/`, { headers: { authorization: authHeader(reader, '/v4/admin/') } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(ghost.requests[0]!.url, '/ghost/api/v4/admin/posts/');
    const token = String(ghost.requests[0]!.headers.authorization).replace(/^Ghost /, '');
    assert.equal((createDecoder()(token) as { aud: string }).aud, '/v4/admin/');
  });

  test('GET /site stays public and is forwarded without any credential', async () => {
    const res = await request(`${gw.url}/ghost/api/admin/site/`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(ghost.requests.length, 1);
    assert.equal(ghost.requests[0]!.headers.authorization, undefined);
  });

  test('streams a 5 MB multipart upload to Ghost byte for byte', async () => {
    const payload = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\n'),
      randomBytes(5 * 1024 * 1024),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    ghost.respond = (_r, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"images":[{"url":"http://x/y.png"}]}');
    };
    const res = await request(`${gw.url}/ghost/api/admin/images/upload/`, {
      method: 'POST',
      headers: { authorization: authHeader(reader), 'content-type': 'multipart/form-data; boundary=b' },
      body: payload,
    });
    assert.equal(res.statusCode, 201);
    await res.body.dump();
    assert.equal(ghost.requests.length, 1);
    const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(hash(ghost.requests[0]!.body), hash(payload));
    assert.equal(ghost.requests[0]!.headers['content-type'], 'multipart/form-data; boundary=b');
  });

  test('the query Ghost is sent: the options its controller reads, in the bytes the client sent; any other parameter left out', async () => {
    const asSent = 'limit=2&include=tags,authors&formats=html';
    for (const [query, forwarded] of [
      [asSent, asSent],
      [`${asSent}&foo=1&debug=true`, 'limit=2&include=tags%2Cauthors&formats=html'],
    ] as const) {
      ghost.requests.length = 0;
      const res = await request(`${gw.url}/ghost/api/admin/posts/?${query}`, { headers: { authorization: authHeader(reader) } });
      await res.body.dump();
      assert.equal(res.statusCode, 200, query);
      assert.deepEqual(
        ghost.requests.map((r) => r.url),
        [`/ghost/api/admin/posts/?${forwarded}`],
        query,
      );
    }
  });

  test('a body read in one round of facts is the body Ghost is sent after later rounds (its tags looked up)', async () => {
    // posts:edit without tags:add and tags:edit: the body's tags are read, then looked up, then the write is forwarded.
    const { key } = await gw.createKey(['posts:edit']);
    const id = 'a'.repeat(24);
    const tagId = 'b'.repeat(24);
    ghost.respond = (r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(r.url.includes('/tags/') ? JSON.stringify({ tags: [{ id: tagId, slug: 'news', name: 'News' }] }) : '{"posts":[]}');
    };
    const sent = `{"posts":[{"title":"edited","tags":[{"slug":"news"}],"updated_at":"2026-11-28T00:00:00.000Z"}]}`;
    const res = await request(`${gw.url}/ghost/api/admin/posts/${id}/`, {
      method: 'PUT',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      body: sent,
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      ghost.requests.map((r) => [r.method, r.url.split('?')[0]]),
      [
        ['GET', '/ghost/api/admin/tags/'],
        ['PUT', `/ghost/api/admin/posts/${id}/`],
      ],
      'the lookup, then the write',
    );
    assert.equal(ghost.requests[1]!.body.toString(), sent);
  });

  test("Ghost's own errors come back unchanged", async () => {
    const body = '{"errors":[{"message":"Validation error","type":"ValidationError","code":null}]}';
    ghost.respond = (_r, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(body);
    };
    const res = await request(`${gw.url}/ghost/api/admin/posts/${'a'.repeat(24)}/`, {
      method: 'PUT',
      headers: { authorization: authHeader(reader), 'content-type': 'application/json' },
      body: '{"posts":[{}]}',
    });
    assert.equal(res.statusCode, 422);
    assert.equal(await res.body.text(), body);
    assert.equal(ghost.requests[0]!.body.toString(), '{"posts":[{}]}');
  });

  test('a slow Ghost gives 504 and a GET with a body is refused', async () => {
    ghost.respond = () => {
      /* never answers */
    };
    const res = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(reader) } });
    assert.equal(res.statusCode, 504);
    assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UPSTREAM_TIMEOUT');
    const before = ghost.requests.length;
    const withBody = await request(`${gw.url}/ghost/api/admin/posts/`, {
      method: 'GET',
      headers: { authorization: authHeader(reader), 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(withBody.statusCode, 400);
    assert.equal(((await withBody.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'HEADER_AMBIGUOUS');
    assert.equal(ghost.requests.length, before);
  });

  test('a revoked key is refused on the very next request', async () => {
    const { id, key } = await gw.createKey(['posts:browse']);
    const ok = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(key) } });
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    assert.deepEqual(await gw.gateway.store.keys.revoke(id, Date.now()), [id]);
    const res = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(key) } });
    assert.equal(res.statusCode, 401);
    assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'KEY_REVOKED');
    assert.equal(ghost.requests.length, 1);
  });

  test('an unknown key id with a wrong secret is answered exactly as a known key with a wrong secret', async () => {
    const answer = async (key: string) => {
      const r = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(key) } });
      const e = ((await r.body.json()) as { errors: Record<string, unknown>[] }).errors[0]!;
      return { status: r.statusCode, ...e, id: '(request id)' } as Record<string, unknown>;
    };
    const unknown = await answer(`${'ef'.repeat(12)}:${'01'.repeat(32)}`);
    const forged = await answer(`${reader.split(':')[0]}:${'01'.repeat(32)}`);
    assert.equal(forged.code, 'TOKEN_SIGNATURE');
    assert.deepEqual(unknown, forged, 'the answer does not say whether the key id exists');
    assert.equal(ghost.requests.length, 0);
  });

  test('a token that verifies for a key id the store does not hold is KEY_UNKNOWN (a deleted key)', async () => {
    const id = 'ef'.repeat(12);
    const r = await request(`${gw.url}/ghost/api/admin/posts/`, {
      headers: { authorization: authHeader(`${id}:${gw.master.keySecret(id, 1).toString('hex')}`) },
    });
    assert.equal(r.statusCode, 401);
    assert.equal(((await r.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'KEY_UNKNOWN');
    assert.equal(ghost.requests.length, 0);
  });
});

describe('what reaches Ghost: an allow-list of headers, the checked body with the type the gateway sets', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let writer: string;
  let redacted: string;
  before(async () => {
    ghost = await startFakeUpstream();
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    writer = (await gw.createKey(['posts:browse', 'posts:add', 'images:upload'])).key;
    const { formatKey, newKeyId } = await import('../src/secrets/keys.js');
    const id = newKeyId();
    const rec = await gw.gateway.store.keys.create({
      id,
      name: 'drafts',
      createdAt: Date.now(),
      grant: {
        version: 1,
        scopes: ['posts:browse', 'posts:add', 'users:browse'],
        fields: { posts: { status: ['draft'] } },
        redact: { users: ['email'] },
      },
    });
    redacted = formatKey(id, gw.master.keySecret(id, rec.generation));
  });
  after(async () => {
    await gw.close();
    await ghost.close();
  });
  beforeEach(() => {
    ghost.requests.length = 0;
  });

  const HOSTILE = {
    'x-original-url': '/ghost/api/admin/integrations/',
    'x-rewrite-url': '/ghost/api/admin/db/',
    'proxy-authorization': 'Basic YTpi',
    'x-anything': 'at all',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-host': 'evil.example',
    forwarded: 'for=203.0.113.9',
    cookie: 'ghost-admin-api-session=stolen',
    origin: 'https://evil.example',
    'x-request-id': 'chosen-by-client',
  };

  test('X-Original-URL, X-Rewrite-URL, Proxy-Authorization and any other header outside the allow-list never reach Ghost', async () => {
    for (const [method, path, key, body] of [
      ['GET', '/ghost/api/admin/posts/', writer, undefined],
      ['POST', '/ghost/api/admin/posts/', writer, '{"posts":[{"title":"streamed"}]}'],
      ['POST', '/ghost/api/admin/posts/', redacted, '{"posts":[{"title":"checked"}]}'],
    ] as const) {
      ghost.requests.length = 0;
      const res = await request(`${gw.url}${path}`, {
        method,
        headers: {
          ...HOSTILE,
          authorization: authHeader(key),
          'accept-version': 'v6.0',
          'user-agent': 'GhostAdminSDK/1.14.13',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body } : {}),
      });
      await res.body.dump();
      assert.equal(res.statusCode, 200, `${method} ${path}`);
      assert.equal(ghost.requests.length, 1);
      const names = Object.keys(ghost.requests[0]!.headers).sort();
      const expected = [
        'accept-version',
        'authorization',
        'connection',
        'host',
        'user-agent',
        'x-forwarded-proto',
        'x-request-id',
        ...(body ? ['content-length', 'content-type'] : []),
      ].sort();
      assert.deepEqual(names, expected, `${method} ${path}: Ghost received exactly the allowed headers`);
    }
  });

  test('a checked body is forwarded byte for byte with the Content-Type the gateway sets', async () => {
    const body = '{ "posts" : [ { "title" : "caf\u00e9 ☃", "status": "draft" } ] }';
    const res = await request(`${gw.url}/ghost/api/admin/posts/`, {
      method: 'POST',
      headers: { authorization: authHeader(redacted), 'content-type': 'Application/JSON; Charset="UTF-8"; x=y' },
      body,
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const up = ghost.requests[0]!;
    assert.equal(up.headers['content-type'], 'application/json');
    assert.equal(up.body.toString('utf8'), body);
    assert.equal(up.headers['content-length'], String(Buffer.byteLength(body)));
  });

  test('conditional GET headers reach Ghost only when the gateway does not rewrite the answer', async () => {
    const conditional = { 'if-none-match': 'W/"abc"', 'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT' };
    for (const [key, path, kept] of [
      [writer, '/ghost/api/admin/posts/', true],
      [redacted, '/ghost/api/admin/users/', false], // redacted answers: a 304 would confirm a guess of the hidden body
    ] as const) {
      ghost.requests.length = 0;
      const res = await request(`${gw.url}${path}`, { headers: { ...conditional, authorization: authHeader(key) } });
      await res.body.dump();
      const up = ghost.requests[0]!;
      assert.equal(up.headers['if-none-match'], kept ? conditional['if-none-match'] : undefined, path);
      assert.equal(up.headers['if-modified-since'], kept ? conditional['if-modified-since'] : undefined, path);
    }
  });

  test('a Content-Encoding is refused on every request, checked or streamed, and nothing is forwarded', async () => {
    for (const [key, encoding] of [
      [writer, 'gzip'],
      [redacted, 'gzip'],
      [writer, 'deflate'],
      [redacted, 'br'],
      [writer, 'identity, gzip'],
    ] as const) {
      const res = await request(`${gw.url}/ghost/api/admin/posts/`, {
        method: 'POST',
        headers: { authorization: authHeader(key), 'content-type': 'application/json', 'content-encoding': encoding },
        body: '{"posts":[{"title":"x"}]}',
      });
      assert.equal(res.statusCode, 415, encoding);
      assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'BODY_ENCODING');
    }
    const identity = await request(`${gw.url}/ghost/api/admin/posts/`, {
      method: 'POST',
      headers: { authorization: authHeader(writer), 'content-type': 'application/json', 'content-encoding': 'identity' },
      body: '{"posts":[{"title":"x"}]}',
    });
    await identity.body.dump();
    assert.equal(identity.statusCode, 200);
    assert.equal(ghost.requests.length, 1);
    assert.equal(ghost.requests[0]!.headers['content-encoding'], undefined);
  });
});

describe('gateway with Ghost down', () => {
  test('a connection failure gives 502 in Ghost’s envelope', async () => {
    const ghost = await startFakeUpstream();
    const url = ghost.url;
    await ghost.close();
    const gw = await startTestGateway({ upstreamUrl: url, upstreamKey: UPSTREAM_KEY, timeoutMs: 2000 });
    try {
      const { key } = await gw.createKey(['posts:browse']);
      const res = await request(`${gw.url}/ghost/api/admin/posts/`, { headers: { authorization: authHeader(key) } });
      assert.equal(res.statusCode, 502);
      assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UPSTREAM_UNREACHABLE');
    } finally {
      await gw.close();
    }
  });
});

describe('gateway in front of Ghost under a sub-directory', () => {
  test('paths go under it, and a tag slug equal to its last segment (which Ghost rewrites there) is refused as ambiguous', async () => {
    const ghost = await startFakeUpstream();
    const gw = await startTestGateway({ upstreamUrl: `${ghost.url}/news/blog/`, upstreamKey: UPSTREAM_KEY, timeoutMs: 2000 });
    try {
      // posts:add without tags:add and tags:edit: the gateway reads the body's tags as Ghost will.
      const { key } = await gw.createKey(['posts:add', 'posts:browse']);
      const add = (tags: unknown) =>
        request(`${gw.url}/ghost/api/admin/posts/`, {
          method: 'POST',
          headers: { authorization: authHeader(key), 'content-type': 'application/json' },
          body: JSON.stringify({ posts: [{ title: 'x', tags }] }),
        });
      for (const slug of ['blog', 'rss']) {
        const res = await add([{ slug }]);
        assert.equal(res.statusCode, 400, slug);
        assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'REFERENCE_AMBIGUOUS', slug);
      }
      assert.equal(ghost.requests.length, 0, 'Ghost was asked nothing');
      // Another slug is looked up as sent, under the sub-directory.
      ghost.respond = (_r, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tags":[]}');
      };
      const other = await add([{ slug: 'news' }]);
      await other.body.dump();
      assert.match(ghost.requests[0]?.url ?? '', /^\/news\/blog\/ghost\/api\/admin\/tags\/\?/, 'the lookup goes under the sub-directory');
      assert.match(decodeURIComponent(ghost.requests[0]!.url), /slug:'?news'?/);
    } finally {
      await gw.close();
      await ghost.close();
    }
  });
});

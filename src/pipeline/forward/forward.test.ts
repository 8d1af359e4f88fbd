import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { errors as undiciErrors } from 'undici';
import { Forwarder, UNCHANGED, classify, type ForwardOutcome, type ForwardRequest } from './forward.js';

/**
 * The forwarder against a strict fake Ghost: what it sends (headers), and
 * what it reports when the client or Ghost goes away (issue 11, class 6).
 */
interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
  complete: boolean;
}

describe('Forwarder', () => {
  let ghost: Server;
  let ghostUrl: string;
  let seen: Seen[];
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  let front: Server;
  let frontPort: number;
  let forwarder: Forwarder;
  let request: Omit<ForwardRequest, 'method' | 'pathAndQuery'>;
  let outcome: Promise<ForwardOutcome>;
  let inspected: unknown[];
  /** Settles when the front door's response closes: the client left, or the answer was sent. */
  let frontClosed: Promise<unknown>;

  before(async () => {
    ghost = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('close', () => seen.push({ headers: req.headers, body, complete: req.complete }));
      req.on('end', () => {
        answer(req, res);
      });
    });
    await new Promise<void>((r) =>
      ghost.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    ghostUrl = `http://127.0.0.1:${(ghost.address() as AddressInfo).port}`;
    forwarder = new Forwarder(ghostUrl, 5000, 4);
    // The gateway's front door, reduced to the forwarder.
    let settle: (o: ForwardOutcome) => void;
    front = createServer((req, res) => {
      outcome = new Promise((r) => (settle = r));
      frontClosed = new Promise((r) => res.once('close', r));
      void forwarder.forward(req, res, { method: req.method ?? 'GET', pathAndQuery: req.url ?? '/', ...request }).then((o) => {
        settle(o);
        if (!o.ok && !res.headersSent && !res.destroyed) res.writeHead(502).end();
        else if (!o.ok) res.destroy();
      });
    });
    await new Promise<void>((r) =>
      front.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    frontPort = (front.address() as AddressInfo).port;
  });
  after(async () => {
    await forwarder.close();
    front.closeAllConnections();
    ghost.closeAllConnections();
    await new Promise((r) => front.close(r));
    await new Promise((r) => ghost.close(r));
  });
  beforeEach(() => {
    seen = [];
    inspected = [];
    request = { authorization: 'Ghost upstream-token', body: 'stream' };
    answer = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"webhooks":[{"id":"w1"}]}');
    };
  });

  /** Sends raw bytes to the front door; `hangUp` closes the socket right after writing. */
  const raw = (text: string, hangUp: boolean) =>
    new Promise<string>((resolve) => {
      const sock = connect(frontPort, '127.0.0.1', () => {
        sock.write(text);
        if (hangUp) setTimeout(() => sock.destroy(), 50);
      });
      let got = '';
      sock.on('data', (c: Buffer) => (got += c.toString()));
      sock.on('close', () => {
        resolve(got);
      });
    });
  const post = (body: string, headers = '', declared = Buffer.byteLength(body)) =>
    `POST /webhooks/ HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n${headers}\r\n${body}`;

  test('the client’s credentials and proxy headers never reach Ghost; the gateway’s credential does', async () => {
    await raw(
      post(
        '{}',
        'Authorization: Ghost client\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\nCookie: ghost-admin-api-session=x\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n',
      ),
      false,
    );
    assert.equal((await outcome).ok, true);
    const h = seen[0]!.headers;
    for (const name of ['proxy-authorization', 'proxy-connection', 'cookie', 'x-forwarded-for']) assert.equal(h[name], undefined, name);
    assert.equal(h.authorization, 'Ghost upstream-token');
    assert.equal(h['content-type'], 'application/json');
  });

  test('a client that hangs up after its whole write was sent does not abort Ghost’s call; Ghost’s answer is still read and inspected', async () => {
    answer = (_req, res) =>
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"webhooks":[{"id":"w1"}]}');
      }, 200);
    request = { ...request, inspect: (status, json) => (inspected.push([status, json]), json) };
    await raw(post('{"webhooks":[{}]}'), true);
    const o = await outcome;
    assert.deepEqual(o.ok ? [o.ok, o.status] : o, [true, 201]);
    assert.deepEqual(inspected, [[201, { webhooks: [{ id: 'w1' }] }]], 'the ledger learns the id');
    assert.equal(seen.length, 1);
  });

  test('an inspected JSON answer: a rewrite reaches the client (without Ghost’s etag); UNCHANGED sends Ghost’s bytes as they were', async () => {
    const ghostBody = `{"users":[{"id":"u1","email":"a@x"}] }${' '.repeat(64)}`; // over 64 bytes: the inspection cap is not tiny
    answer = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        etag: 'W/"abc"',
        'accept-encoding-seen': _req.headers['accept-encoding'] ?? '',
      });
      res.end(ghostBody);
    };
    request = {
      ...request,
      body: null,
      inspect: (_s, json) => ((json as { users: { email?: string }[] }).users.forEach((u) => delete u.email), json),
    };
    const rewritten = await raw('GET /users/ HTTP/1.1\r\nHost: gate\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n', false);
    assert.deepEqual([(await outcome).ok, rewritten.split('\r\n\r\n')[1]], [true, '{"users":[{"id":"u1"}]}']);
    assert.doesNotMatch(rewritten, /etag/i);
    assert.match(rewritten, /content-length: 23\r\n/i);
    assert.match(rewritten, /accept-encoding-seen: \r\n/i, 'an inspected answer is asked for uncompressed');
    request = { ...request, inspect: () => UNCHANGED };
    const same = await raw('GET /users/ HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n', false);
    assert.equal(same.split('\r\n\r\n')[1], ghostBody);
    assert.match(same, /etag: W\/"abc"/i);
  });

  test('settle runs with Ghost’s status before the client is sent a byte of the answer: streamed, inspected, or without a body (issue 16)', async () => {
    const cases = [
      { name: 'streamed JSON', status: 200, type: 'application/json', body: '{"posts":[]}', inspect: false },
      { name: 'inspected JSON', status: 201, type: 'application/json', body: '{"webhooks":[{"id":"w1"}]}', inspect: true },
      { name: 'a delete’s 204', status: 204, type: undefined, body: '', inspect: true },
      { name: 'Ghost’s failure, not JSON', status: 500, type: 'text/html', body: '<p>boom</p>', inspect: false },
    ];
    for (const c of cases) {
      const order: string[] = [];
      answer = (_req, res) => {
        res.writeHead(c.status, c.type ? { 'content-type': c.type } : {});
        res.end(c.body);
      };
      request = {
        ...request,
        body: null,
        ...(c.inspect ? { inspect: () => UNCHANGED } : {}),
        // Slower than the answer would take to arrive: a settle run after the answer would be seen last.
        settle: async (status) => {
          await new Promise((r) => setTimeout(r, 100));
          order.push(`settled ${status}`);
        },
      };
      await new Promise<void>((resolve) => {
        const sock = connect(frontPort, '127.0.0.1', () => sock.write('GET /x/ HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n'));
        sock.once('data', () => order.push('answer'));
        sock.on('close', resolve);
      });
      assert.equal((await outcome).ok, true, c.name);
      assert.deepEqual(order, [`settled ${c.status}`, 'answer'], c.name);
    }
  });

  test('a hang-up during a streamed answer: Ghost’s status is reported, the answer begun, the write counted as done; straight or settled first', async () => {
    answer = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write('{"webhooks":[');
      setTimeout(() => res.end('{"id":"w1"}]}'), 300);
    };
    for (const settle of [undefined, async () => {}]) {
      request = { authorization: 'Ghost upstream-token', body: 'stream', ...(settle ? { settle } : {}) };
      const got = await raw(post('{}'), true);
      assert.match(got, /^HTTP\/1\.1 201/, 'the head reached the client before it left');
      const o = await outcome;
      assert.deepEqual(
        o.ok ? o : [o.responseStarted, o.status, o.sent],
        [true, 201, true],
        settle ? 'settled, piped' : 'pool.stream into the response',
      );
    }
  });

  test('a client gone before Ghost’s head arrives: Ghost’s answer is read to the end and sent nowhere, the call done', async () => {
    // Ghost answers once the gateway has seen the client leave.
    answer = (_req, res) =>
      void frontClosed.then(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"webhooks":[{"id":"w1"}]}');
      });
    for (const settle of [undefined, async () => {}]) {
      seen = [];
      request = { authorization: 'Ghost upstream-token', body: 'stream', ...(settle ? { settle } : {}) };
      assert.equal(await raw(post('{"webhooks":[{}]}'), true), '', 'the client hung up before any answer');
      const o = await outcome;
      assert.deepEqual(o.ok ? [o.ok, o.status] : o, [true, 201], settle ? 'settled, piped' : 'pool.stream');
      assert.deepEqual(
        seen.map((x) => [x.body, x.complete]),
        [['{"webhooks":[{}]}', true]],
      );
    }
  });

  test('Ghost too slow: no head in time, or a body that stalls, is UPSTREAM_TIMEOUT and may have been done', async () => {
    const normal = forwarder;
    forwarder = new Forwarder(ghostUrl, 150, 1);
    try {
      answer = () => {};
      await raw(post('{}'), false);
      const noHead = await outcome;
      assert.deepEqual(noHead.ok ? noHead : [noHead.code, noHead.status, noHead.sent, noHead.responseStarted], [
        'UPSTREAM_TIMEOUT',
        null,
        true,
        false,
      ]);
      answer = (_req, res) => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.write('{"webhooks":[');
      };
      // Settled first, so the answer goes through pipeline(), which reports undici's BodyTimeoutError. (Straight
      // through pool.stream, undici destroys the response and reports ERR_STREAM_PREMATURE_CLOSE instead: the same
      // status, sent and responseStarted, labelled UPSTREAM_UNREACHABLE.)
      request = { ...request, settle: async () => {} };
      await raw(post('{}'), false);
      const stalled = await outcome;
      assert.deepEqual(stalled.ok ? stalled : [stalled.code, stalled.status, stalled.sent, stalled.responseStarted], [
        'UPSTREAM_TIMEOUT',
        201,
        true,
        true,
      ]);
    } finally {
      ghost.closeAllConnections();
      await forwarder.close(true);
      forwarder = normal;
    }
  });

  test('an upload cut before its end is aborted: reported as never sent', async () => {
    answer = () => {};
    await raw(post('{"webhooks":', '', 100), true);
    const o = await outcome;
    assert.equal(o.ok, false);
    if (!o.ok) assert.deepEqual([o.sent, o.status], [false, null]);
  });

  test('Ghost closing the connection after it received the write: may have been done (sent, no status)', async () => {
    answer = (req) => req.socket.destroy();
    await raw(post('{}'), false);
    const o = await outcome;
    assert.equal(o.ok, false);
    if (!o.ok) assert.deepEqual([o.code, o.sent, o.status], ['UPSTREAM_UNREACHABLE', true, null]);
  });

  test('Ghost not listening: never sent', async () => {
    const down = new Forwarder('http://127.0.0.1:9', 2000, 1);
    const res = { once() {}, off() {}, destroyed: false } as unknown as ServerResponse;
    const o = await down.forward({ headers: {}, complete: true } as IncomingMessage, res, {
      method: 'POST',
      pathAndQuery: '/x',
      authorization: undefined,
      body: { bytes: Buffer.from('{}'), type: 'application/json' },
    });
    await down.close();
    assert.equal(o.ok, false);
    if (!o.ok) assert.deepEqual([o.code, o.sent], ['UPSTREAM_UNREACHABLE', false]);
  });

  test('what Ghost is sent: the request id, a checked body with the type it was read as, Accept-Encoding on a streamed answer, no conditional headers on an inspected one', async () => {
    answer = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '12' });
      res.end('{"posts":[]}');
    };
    const bytes = Buffer.from('{"posts":[{}]}');
    request = { ...request, requestId: 'req-1', body: { bytes, type: 'application/json' } };
    const streamed = await raw(
      'POST /posts/ HTTP/1.1\r\nHost: gate\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\nxx',
      false,
    );
    assert.equal(streamed.split('\r\n\r\n')[1], '{"posts":[]}');
    const o = await outcome;
    assert.deepEqual(o.ok && [o.status, o.bytesOut], [200, 12], 'bytes out from Content-Length');
    const h = seen[0]!.headers;
    assert.deepEqual(
      [h['x-request-id'], h['content-type'], h['content-length'], seen[0]!.body, h['accept-encoding'], h['x-forwarded-proto']],
      ['req-1', 'application/json', String(bytes.length), bytes.toString(), 'gzip', 'http'],
    );
    request = { ...request, body: null, inspect: () => UNCHANGED };
    await raw(
      'GET /posts/ HTTP/1.1\r\nHost: gate\r\nIf-None-Match: W/"a"\r\nIf-Modified-Since: Tue, 01 Jan 2030 00:00:00 GMT\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n',
      false,
    );
    const i = seen[1]!.headers;
    assert.deepEqual([i['if-none-match'], i['if-modified-since'], i['accept-encoding']], [undefined, undefined, undefined]);
  });

  test('an inspected JSON answer without a body is sent as it is, without calling inspect; one that does not parse is UPSTREAM_BAD_ANSWER', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('');
    };
    request = { ...request, body: null, inspect: (s, json) => (inspected.push([s, json]), json) };
    await raw('GET /x/ HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n', false);
    const empty = await outcome;
    assert.deepEqual([empty.ok, inspected], [true, []]);
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"posts":');
    };
    await raw('GET /x/ HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n', false);
    const bad = await outcome;
    assert.deepEqual(!bad.ok && [bad.code, bad.status, bad.sent], ['UPSTREAM_BAD_ANSWER', 200, true]);
  });

  test('a streamed answer that is settled first counts the bytes it sends', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('abc');
      res.end('defg');
    };
    request = { ...request, body: null, settle: async () => {} };
    const got = await raw('GET /x/ HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n', false);
    assert.match(got, /^HTTP\/1\.1 200/);
    const o = await outcome;
    assert.deepEqual(o.ok && [o.status, o.bytesOut], [200, 7]);
  });

  test('fetchRecord: a GET with the upstream credential; 404 is no record, another status or a non-object answer throws', async () => {
    let status = 200;
    let body = '{"posts":[{"id":"p1"}]}';
    answer = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    assert.deepEqual(await forwarder.fetchRecord('/posts/p1/', 'Ghost upstream'), { posts: [{ id: 'p1' }] });
    const h = seen[0]!.headers;
    assert.deepEqual(
      [h.authorization, h.accept, h['x-forwarded-proto'], h.host],
      ['Ghost upstream', 'application/json', 'http', ghostUrl.slice(7)],
    );
    status = 404;
    assert.equal(await forwarder.fetchRecord('/posts/p2/', 'Ghost upstream'), null);
    status = 500;
    await assert.rejects(forwarder.fetchRecord('/posts/p1/', 'Ghost upstream'));
    status = 201;
    await assert.rejects(forwarder.fetchRecord('/posts/p1/', 'Ghost upstream'));
    status = 200;
    for (const b of ['null', '"x"', '1']) {
      body = b;
      await assert.rejects(forwarder.fetchRecord('/posts/p1/', 'Ghost upstream'), Error, b);
    }
  });
});

test('the upstream URL’s path is the base of every path, without trailing slashes', async () => {
  for (const [url, base] of [
    ['http://127.0.0.1:9/blog//', '/blog'],
    ['http://127.0.0.1:9/', ''],
    ['http://127.0.0.1:9/a/b', '/a/b'],
  ] as const) {
    const f = new Forwarder(url, 1000, 1);
    assert.equal(f.basePath, base, url);
    await f.close();
  }
});

test('classify: a connection never made is never sent; a timeout or a broken connection after it may have been done', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  for (const code of [
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EADDRNOTAVAIL',
    'UND_ERR_CONNECT_TIMEOUT',
  ]) {
    assert.deepEqual(classify(withCode(code)), { code: 'UPSTREAM_UNREACHABLE', context: code, sent: false }, code);
  }
  for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']) {
    assert.deepEqual(classify(withCode(code)), { code: 'UPSTREAM_UNREACHABLE', context: code, sent: true }, code);
  }
  assert.deepEqual(classify(new TypeError('x')), { code: 'UPSTREAM_UNREACHABLE', context: 'TypeError', sent: true });
  assert.deepEqual(classify(new undiciErrors.ConnectTimeoutError()), {
    code: 'UPSTREAM_TIMEOUT',
    context: 'ConnectTimeoutError',
    sent: false,
  });
  assert.deepEqual(classify(new undiciErrors.HeadersTimeoutError()), {
    code: 'UPSTREAM_TIMEOUT',
    context: 'HeadersTimeoutError',
    sent: true,
  });
  assert.deepEqual(classify(new undiciErrors.BodyTimeoutError()), { code: 'UPSTREAM_TIMEOUT', context: 'BodyTimeoutError', sent: true });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { contentEncodingRefusal, decodeJsonBody, hasBody, readJsonBody, uploadTypeRefusal } from './read-body.js';
import { MAX_JSON_DEPTH } from './json-keys.js';

// What body-parser would read differently is proven against Ghost's own body-parser in test/e2e/body-differential.test.ts.
const POST = Buffer.from('{"posts":[{"title":"café ☃","status":"draft"}]}');
const code = (r: { json: unknown } | { code: string }) => ('code' in r ? r.code : 'ok');

test('accepts UTF-8 JSON objects under every spelling of application/json with no charset or utf-8', () => {
  for (const type of [
    'application/json',
    'APPLICATION/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
    'Application/Json; Charset=Utf-8; x=y',
    'application/json ; charset=utf-8',
  ]) {
    const r = decodeJsonBody({ 'content-type': type }, POST);
    assert.deepEqual(r, { json: { posts: [{ title: 'café ☃', status: 'draft' }] } }, type);
  }
});

test('an empty body reads as {} (body-parser leaves or answers {}), with or without a JSON type', () => {
  assert.deepEqual(decodeJsonBody({}, Buffer.alloc(0)), { json: {} });
  assert.deepEqual(decodeJsonBody({ 'content-type': 'application/json' }, Buffer.alloc(0)), { json: {} });
  assert.equal(code(decodeJsonBody({ 'content-type': 'application/json; charset=latin1' }, Buffer.alloc(0))), 'BODY_ENCODING');
});

test('refuses every charset but UTF-8, and every Content-Encoding but identity', () => {
  for (const charset of [
    'utf-7',
    'utf-16',
    'UTF-16LE',
    'utf-16be',
    'utf8',
    'latin1',
    'iso-8859-1',
    'us-ascii',
    '"utf-7"',
    'utf-7-imap',
    'ucs-2',
    'utf-32',
  ]) {
    assert.equal(code(decodeJsonBody({ 'content-type': `application/json; charset=${charset}` }, POST)), 'BODY_ENCODING', charset);
  }
  for (const enc of ['gzip', 'deflate', 'br', 'GZIP', 'identity, gzip', 'x-gzip']) {
    assert.equal(code(decodeJsonBody({ 'content-type': 'application/json', 'content-encoding': enc }, POST)), 'BODY_ENCODING', enc);
    assert.equal(contentEncodingRefusal({ 'content-encoding': enc })?.code, 'BODY_ENCODING', enc);
  }
  assert.equal(contentEncodingRefusal({ 'content-encoding': 'identity' }), undefined);
  assert.equal(contentEncodingRefusal({ 'content-encoding': 'Identity' }), undefined);
  assert.equal(contentEncodingRefusal({ 'content-encoding': ' identity ' }), undefined);
  assert.equal(contentEncodingRefusal({}), undefined);
});

test('refuses bodies of another type, or whose type does not parse', () => {
  for (const type of [
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/json',
    'application/jsonx',
    'application/json;;',
    'application/json; charset',
    'application/json, text/plain',
    '*/*',
    '',
    // content-type reads the type, type-is (which decides whether body-parser reads the body) does not.
    'application/json\t',
  ]) {
    assert.equal(code(decodeJsonBody({ 'content-type': type }, POST)), 'BODY_INVALID', type);
  }
  assert.equal(code(decodeJsonBody({}, POST)), 'BODY_INVALID', 'no Content-Type');
});

test('refuses bytes body-parser would read otherwise, and JSON with more than one reading', () => {
  const cases: [string, Buffer | string][] = [
    ['a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), POST])],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
    ['a UTF-8 encoded surrogate', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['a repeated key', '{"posts":[{"status":"draft","status":"published"}]}'],
    ['a repeated key through an escape', '{"posts":[{"status":"draft","\\u0073tatus":"published"}]}'],
    ['a __proto__ key', '{"posts":[{"__proto__":{"status":"published"}}]}'],
    ['an escaped __proto__ key', '{"posts":[{"\\u005f_proto__":{"status":"published"}}]}'],
    ['a top-level array', '[{"posts":[]}]'],
    ['a top-level string', '"x"'],
    ['a top-level number', '1'],
    ['whitespace body-parser does not skip', '\u00a0{"a":1}'],
    ['truncated JSON', '{"posts":['],
  ];
  for (const [what, body] of cases)
    assert.equal(code(decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(body))), 'BODY_INVALID', what);
  assert.deepEqual(decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(' \r\n\t{"a":{"constructor":{"prototype":1}}}')), {
    json: { a: { constructor: { prototype: 1 } } },
  });
});

test('readJsonBody returns the bytes it read, refuses a body over the limit, and reads no body as {}', async () => {
  const req = (headers: Record<string, string>, chunks: Buffer[]) => Object.assign(Readable.from(chunks), { headers });
  const ok = await readJsonBody(
    req({ 'content-type': 'application/json', 'content-length': String(POST.length) }, [POST.subarray(0, 5), POST.subarray(5)]),
    1024,
  );
  assert.ok('raw' in ok, "'raw' in ok");
  assert.ok(ok.raw.equals(POST), 'ok.raw.equals(POST)');
  const big = await readJsonBody(
    req({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, [POST, POST]),
    POST.length + 1,
  );
  assert.equal('code' in big && big.code, 'BODY_TOO_LARGE');
  const none = await readJsonBody(req({}, []), 1024);
  assert.deepEqual(none, { raw: Buffer.alloc(0), json: {} });
  const gz = await readJsonBody(
    req({ 'content-type': 'application/json', 'content-length': '4', 'content-encoding': 'gzip' }, [Buffer.from('abcd')]),
    1024,
  );
  assert.equal('code' in gz && gz.code, 'BODY_ENCODING');
});

test('a request has a body when it is chunked or declares a length other than 0', () => {
  assert.equal(hasBody({}), false);
  assert.equal(hasBody({ 'content-length': '0' }), false);
  assert.equal(hasBody({ 'content-length': '1' }), true);
  assert.equal(hasBody({ 'transfer-encoding': 'chunked' }), true);
  assert.equal(hasBody({ 'transfer-encoding': 'chunked', 'content-length': '0' }), true);
});

test('an upload is multipart/form-data with a non-empty boundary, or has no body', () => {
  const MP = 'multipart/form-data; boundary=XyZ';
  for (const [what, headers] of [
    ['no body', {}],
    ['a zero length, whatever the type', { 'content-length': '0', 'content-type': 'application/json' }],
    ['multipart with a boundary', { 'content-length': '9', 'content-type': MP }],
    ['multipart in capitals, chunked', { 'transfer-encoding': 'chunked', 'content-type': 'Multipart/Form-Data; Boundary=XyZ' }],
  ] as const)
    assert.equal(uploadTypeRefusal(headers), undefined, what);
  for (const [what, headers] of [
    ['no type', { 'content-length': '9' }],
    ['no type, chunked', { 'transfer-encoding': 'chunked' }],
    ['no boundary', { 'content-length': '9', 'content-type': 'multipart/form-data' }],
    ['an empty boundary', { 'content-length': '9', 'content-type': 'multipart/form-data; boundary=""' }],
    ['another type with a boundary', { 'content-length': '9', 'content-type': 'multipart/mixed; boundary=XyZ' }],
    ['JSON', { 'content-length': '9', 'content-type': 'application/json' }],
    ['a type that does not parse', { 'content-length': '9', 'content-type': 'multipart/form-data; boundary' }],
  ] as const)
    assert.equal(uploadTypeRefusal(headers)?.code, 'BODY_INVALID', what);
});

test('readJsonBody: a body of exactly the limit is read; a refusal of a request without a body is returned; Content-Encoding is refused before the body is read', async () => {
  const req = (headers: Record<string, string>, chunks: Buffer[]) => Object.assign(Readable.from(chunks), { headers });
  const exact = await readJsonBody(req({ 'content-type': 'application/json', 'content-length': String(POST.length) }, [POST]), POST.length);
  assert.deepEqual(exact, { raw: POST, json: { posts: [{ title: 'café ☃', status: 'draft' }] } });
  const latin1 = await readJsonBody(req({ 'content-type': 'application/json; charset=latin1' }, []), 1024);
  assert.equal('code' in latin1 && latin1.code, 'BODY_ENCODING');
  // Over the limit and compressed: the encoding decides, before a byte is counted.
  const gzBig = await readJsonBody(
    req({ 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'content-encoding': 'gzip' }, [POST, POST]),
    4,
  );
  assert.equal('code' in gzBig && gzBig.code, 'BODY_ENCODING');
});

test('a body nested deeper than the gateway reads is refused; one at the limit is read', () => {
  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
  const at = decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(nested(MAX_JSON_DEPTH)));
  assert.equal(code(at), 'ok', `${MAX_JSON_DEPTH} levels`);
  const arrays = `{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
  assert.equal(code(decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(arrays))), 'ok', 'arrays count alike');
  for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
    const r = decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(nested(depth)));
    assert.equal(code(r), 'BODY_INVALID', `${depth} levels`);
    assert.match('code' in r ? r.context : '', /nests deeper than 64 levels/);
  }
  const wide = `{"posts":[${Array.from({ length: 200 }, () => '{"tags":[{"slug":"a"}]}').join(',')}]}`;
  assert.equal(code(decodeJsonBody({ 'content-type': 'application/json' }, Buffer.from(wide))), 'ok', 'wide is not deep');
});

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ensureInstalled } from '../../src/lab/install.js';
import { labPaths } from '../../src/lab/paths.js';
import { readJsonBody } from '../../src/pipeline/read-body/read-body.js';

/**
 * Differential test of request bodies: the same bytes and headers go to
 * Ghost's own body-parser, loaded from the lab's install and configured as
 * Ghost's Admin API configures it (json then urlencoded, 50mb;
 * ghost/core/core/server/web/api/endpoints/admin/app.js), and to the
 * gateway's reader. Whenever the gateway accepts a body, Ghost must read the
 * same value from the client's request and from the request the gateway
 * forwards (the same bytes, with `Content-Type: application/json`).
 * Needs the lab's install, not a running Ghost.
 */
type Middleware = (req: unknown, res: unknown, next: (err?: { status?: number }) => void) => void;
type GhostRead = { ok: true; body: unknown } | { ok: false; status: number };
const ADMIN_APP = 'core/server/web/api/endpoints/admin/app.js';

const fakeRequest = (headers: IncomingHttpHeaders, body: Buffer) =>
  Object.assign(Readable.from(body.length ? [body] : []), { headers, method: 'POST', url: '/' });

describe("bodies: the gateway's reading of a request body equals Ghost's body-parser", () => {
  let json: Middleware;
  let urlencoded: Middleware;
  let iconv: { encodingExists(e: string): boolean; encode(s: string, e: string): Buffer; encodings: Record<string, unknown> };

  before(async () => {
    const paths = labPaths();
    await ensureInstalled(paths, (line) => process.stderr.write(`${line}\n`));
    const app = join(paths.ghostDir, ADMIN_APP);
    // The options are Ghost's; the test stops if Ghost configures its parsers otherwise.
    const source = readFileSync(app, 'utf8');
    assert.ok(
      source.includes("apiApp.use(bodyParser.json({ limit: '50mb' }));") &&
        source.includes("apiApp.use(bodyParser.urlencoded({ extended: true, limit: '50mb' }));"),
      "Ghost's admin app configures body-parser as this test does",
    );
    const req = createRequire(app);
    const bodyParser = req('body-parser') as { json: (o: object) => Middleware; urlencoded: (o: object) => Middleware };
    assert.equal((req('body-parser/package.json') as { version: string }).version, '1.20.6');
    json = bodyParser.json({ limit: '50mb' });
    urlencoded = bodyParser.urlencoded({ extended: true, limit: '50mb' });
    // raw-body decodes the charset with its own iconv-lite (0.4.24).
    iconv = createRequire(createRequire(req.resolve('body-parser')).resolve('raw-body'))('iconv-lite') as typeof iconv;
    iconv.encodingExists('utf8'); // loads the encodings table
  });

  /** Ghost's reading: the two parsers in Ghost's order, as Express runs them. */
  const ghostRead = (headers: IncomingHttpHeaders, body: Buffer): Promise<GhostRead> =>
    new Promise((resolve) => {
      const req = fakeRequest(headers, body) as ReturnType<typeof fakeRequest> & { body?: unknown };
      const res = {};
      json(req, res, (err) => {
        if (err) {
          resolve({ ok: false, status: err.status ?? 500 });
          return;
        }
        urlencoded(req, res, (err2) => {
          resolve(err2 ? { ok: false, status: err2.status ?? 500 } : { ok: true, body: req.body });
        });
      });
    });

  interface Tally {
    accepted: number;
    refused: Map<string, number>;
    /** Refused by the gateway although Ghost would have parsed it: the differences the gateway closes. */
    ghostParsed: string[];
    disagreements: string[];
  }
  const tally = (): Tally => ({ accepted: 0, refused: new Map(), ghostParsed: [], disagreements: [] });

  async function compare(name: string, headers: IncomingHttpHeaders, body: Buffer, t: Tally): Promise<void> {
    const withLength = { 'content-length': String(body.length), ...headers };
    const gw = await readJsonBody(fakeRequest(withLength, body), 50 * 1024 * 1024);
    const ghost = await ghostRead(withLength, body);
    if ('code' in gw) {
      t.refused.set(gw.code, (t.refused.get(gw.code) ?? 0) + 1);
      if (ghost.ok) t.ghostParsed.push(name);
      return;
    }
    t.accepted++;
    // What Ghost receives is the gateway's request: the same bytes, with the type the gateway sets (forward.ts).
    const forwarded = await ghostRead({ 'content-type': 'application/json', 'content-length': String(gw.raw.length) }, gw.raw);
    for (const [which, read] of [
      ['client request', ghost],
      ['forwarded request', forwarded],
    ] as const) {
      if (!read.ok) t.disagreements.push(`${name}: gateway accepted, Ghost refused the ${which} (${read.status})`);
      else if (!isDeepStrictEqual(read.body, gw.json))
        t.disagreements.push(`${name}: gateway read ${JSON.stringify(gw.json)}, Ghost read ${JSON.stringify(read.body)} from the ${which}`);
    }
    if (!gw.raw.equals(body)) t.disagreements.push(`${name}: the gateway would forward other bytes than it read`);
  }

  const DRAFT = '{"posts":[{"title":"café ☃ \u{1F600}","status":"draft","tags":[{"slug":"partner"}]}]}';
  // The proven bypass: UTF-8 reads a draft, UTF-7 reads `"status":"published"` after it.
  const UTF7_EXPLOIT = '{"posts":[{"status":"draft","title":"x+ACI-,+ACI-status+ACI-:+ACI-published"}]}';

  test('every charset iconv-lite knows, in the spellings body-parser accepts: only UTF-8 is read, and read alike', async () => {
    const t = tally();
    const names = Object.keys(iconv.encodings).filter((n) => !n.startsWith('_'));
    assert.ok(names.length > 300, `${names.length} encodings`);
    const spellings = new Set<string>();
    for (const n of names) {
      spellings.add(n);
      if (n.startsWith('utf'))
        for (const s of [`utf-${n.slice(3)}`, `UTF-${n.slice(3).toUpperCase()}`, `"utf-${n.slice(3)}"`, `utf-${n.slice(3)}:1987`])
          spellings.add(s);
    }
    for (const charset of spellings) {
      const enc = charset.replace(/"/g, '');
      let encoded: Buffer;
      try {
        encoded = iconv.encode(DRAFT, enc);
      } catch {
        encoded = Buffer.from(DRAFT);
      }
      for (const [what, body] of [
        ['encoded', encoded],
        ['UTF-8 bytes', Buffer.from(DRAFT)],
        ['UTF-7 exploit', Buffer.from(UTF7_EXPLOIT)],
      ] as const) {
        await compare(`charset=${charset} (${what})`, { 'content-type': `application/json; charset=${charset}` }, body, t);
      }
    }
    assert.deepEqual(t.disagreements, []);
    // Ghost's body-parser decodes the declared UTF-7 and UTF-16: the gateway refuses them all.
    for (const c of ['utf-7', 'utf-16', 'utf-16le', 'utf-16be', 'utf-7imap'])
      assert.ok(t.ghostParsed.includes(`charset=${c} (UTF-7 exploit)`) || t.ghostParsed.includes(`charset=${c} (encoded)`), c);
    const published = await ghostRead(
      { 'content-type': 'application/json; charset=utf-7', 'content-length': String(UTF7_EXPLOIT.length) },
      Buffer.from(UTF7_EXPLOIT),
    );
    assert.deepEqual(
      published.ok && (published.body as { posts: { status: string }[] }).posts[0]!.status,
      'published',
      'Ghost reads the UTF-7 body as published',
    );
    assert.ok(t.accepted >= 6, `${t.accepted} accepted`); // utf-8 in its spellings
  });

  test('BOMs, Content-Encoding, invalid UTF-8, repeated and __proto__ keys, strict mode', async () => {
    const t = tally();
    const draft = Buffer.from(DRAFT);
    const cases: [string, IncomingHttpHeaders, Buffer][] = [
      ['plain', { 'content-type': 'application/json' }, draft],
      ['UTF-8 BOM', { 'content-type': 'application/json' }, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), draft])],
      ['UTF-8 BOM, utf-8', { 'content-type': 'application/json; charset=utf-8' }, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), draft])],
      [
        'UTF-16LE BOM',
        { 'content-type': 'application/json; charset=utf-16' },
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(DRAFT, 'utf16le')]),
      ],
      [
        'UTF-16BE BOM',
        { 'content-type': 'application/json; charset=utf-16' },
        Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(DRAFT, 'utf16le').swap16()]),
      ],
      ['UTF-16 without a type charset', { 'content-type': 'application/json' }, Buffer.from(DRAFT, 'utf16le')],
      ['gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(draft)],
      ['GZIP', { 'content-type': 'application/json', 'content-encoding': 'GZIP' }, gzipSync(draft)],
      ['deflate', { 'content-type': 'application/json', 'content-encoding': 'deflate' }, deflateSync(draft)],
      ['identity', { 'content-type': 'application/json', 'content-encoding': 'identity' }, draft],
      [
        'invalid UTF-8',
        { 'content-type': 'application/json' },
        Buffer.from([...Buffer.from('{"posts":[{"title":"'), 0xc3, 0x28, 0xff, ...Buffer.from('","status":"draft"}]}')]),
      ],
      ['overlong quote', { 'content-type': 'application/json' }, Buffer.from([...Buffer.from('{"a":"'), 0xc0, 0xa2, ...Buffer.from('"}')])],
      [
        'CESU surrogate',
        { 'content-type': 'application/json' },
        Buffer.from([...Buffer.from('{"a":"'), 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80, ...Buffer.from('"}')]),
      ],
      ['repeated key', { 'content-type': 'application/json' }, Buffer.from('{"posts":[{"status":"draft","status":"published"}]}')],
      [
        'repeated key, escaped',
        { 'content-type': 'application/json' },
        Buffer.from('{"posts":[{"status":"draft","st\\u0061tus":"published"}]}'),
      ],
      ['__proto__', { 'content-type': 'application/json' }, Buffer.from('{"posts":[{"__proto__":{"status":"published"},"title":"x"}]}')],
      [
        'constructor.prototype',
        { 'content-type': 'application/json' },
        Buffer.from('{"posts":[{"constructor":{"prototype":{"status":"published"}}}]}'),
      ],
      ['top-level string', { 'content-type': 'application/json' }, Buffer.from('"x"')],
      ['top-level number', { 'content-type': 'application/json' }, Buffer.from(' 1')],
      ['top-level array', { 'content-type': 'application/json' }, Buffer.from('[{"posts":[]}]')],
      ['leading NBSP', { 'content-type': 'application/json' }, Buffer.from('\u00a0{"a":1}')],
      ['leading RFC whitespace', { 'content-type': 'application/json' }, Buffer.from(' \t\r\n{"a":1}')],
      ['empty, JSON type', { 'content-type': 'application/json' }, Buffer.alloc(0)],
      ['empty, no type', {}, Buffer.alloc(0)],
      ['empty, text type', { 'content-type': 'text/plain' }, Buffer.alloc(0)],
      [
        'nested and escaped',
        { 'content-type': 'application/json' },
        Buffer.from('{"a":{"b":[1,2,{"c":"\\u2028\\ud83d\\ude00\\"\\\\"}]},"d":-0.0e-0,"e":1e400}'),
      ],
    ];
    for (const [name, headers, body] of cases) await compare(name, headers, body, t);
    assert.deepEqual(t.disagreements, []);
    for (const c of ['UTF-8 BOM', 'gzip', 'deflate', 'invalid UTF-8', 'repeated key', '__proto__', 'UTF-16LE BOM'])
      assert.ok(t.ghostParsed.includes(c), `Ghost parses "${c}"; the gateway refuses it`);
  });

  test('odd content types: Ghost parses, skips or refuses; the gateway accepts only what Ghost reads as the same JSON', async () => {
    const t = tally();
    const draft = Buffer.from(DRAFT);
    const types = [
      'application/json',
      'APPLICATION/JSON',
      'application/json;charset="UTF-8"',
      'application/json; charset=UTF-8',
      'application/json ; charset=utf-8',
      'application/json; charset=utf-8; charset=utf-16',
      'application/json; charset=utf-16; charset=utf-8',
      'application/json; foo=bar',
      'application/json;;',
      'application/json; charset',
      'application/json; charset=',
      'application/json, text/plain',
      'application/vnd.api+json',
      'application/ld+json',
      'application/json-patch+json',
      'application/jsonx',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '*/*',
      'json',
      '',
    ];
    for (const type of types) {
      await compare(`type "${type}"`, { 'content-type': type }, draft, t);
      await compare(`type "${type}", form body`, { 'content-type': type }, Buffer.from('posts[0][status]=published&posts[0][title]=x'), t);
    }
    await compare('no type', {}, draft, t);
    assert.deepEqual(t.disagreements, []);
    assert.ok(
      t.ghostParsed.includes('type "application/x-www-form-urlencoded", form body'),
      'Ghost parses a form body; the gateway refuses it',
    );
    assert.ok(t.accepted >= 5, `${t.accepted} accepted`);
  });

  test('property: random JSON objects, written with random spacing, read alike', async () => {
    const t = tally();
    const samples = fc.sample(fc.tuple(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom(undefined, 1, '\t', ' \r\n ')), {
      numRuns: 2000,
      seed: 1206,
    });
    for (const [value, space] of samples)
      await compare(
        JSON.stringify(value).slice(0, 60),
        { 'content-type': 'application/json' },
        Buffer.from(JSON.stringify(value, null, space)),
        t,
      );
    assert.deepEqual(t.disagreements.slice(0, 10), []);
    assert.ok(t.accepted > 1500, `${t.accepted} accepted`); // all but those with a __proto__ key
  });
});

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

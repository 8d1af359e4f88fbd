import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { gatherEscalation } from './gather-escalation.js';
import type { RecordFetcher } from './pipeline.js';

const PREFIX = '/ghost/api/admin/';
const AUTH = 'Ghost upstream-token';
const B = 'XyZboundary';

/** A strict fake of Ghost's reads: only the paths given, with the upstream credential, each counted. */
function ghost(answers: Record<string, unknown>): RecordFetcher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async fetchRecord(path, authorization) {
      calls.push(path);
      assert.equal(authorization, AUTH, 'read with the upstream credential');
      assert.ok(Object.hasOwn(answers, path), `unexpected read of ${path}`);
      const a = answers[path];
      if (a instanceof Error) throw a;
      return a as Record<string, unknown> | null;
    },
  };
}

/** A request whose body is `body`, sent in chunks, and which fails the test if read when it must not be. */
function request(body: Buffer | undefined, headers: Record<string, string> = {}): IncomingMessage {
  const r = body
    ? Readable.from([body.subarray(0, 10), body.subarray(10)])
    : new Readable({
        read() {
          assert.fail('the body was read');
        },
      });
  return Object.assign(r, { headers }) as unknown as IncomingMessage;
}

function theme(filename: string): Buffer {
  return Buffer.from(
    `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/zip\r\n\r\nPK-zip-bytes\r\n--${B}--\r\n`,
    'latin1',
  );
}
const MULTIPART = { 'content-type': `multipart/form-data; boundary=${B}` };

test("the roles are read once from Ghost's roles route, beside the facts already known; the body is left alone", async () => {
  const g = ghost({ [`${PREFIX}roles/`]: { roles: [{ id: 'r1', name: 'Editor', extra: 1 }] } });
  const r = await gatherEscalation(g, request(undefined), { roles: true }, PREFIX, AUTH, 1000, { activeTheme: 'casper' });
  assert.deepEqual(r, { facts: { activeTheme: 'casper', roles: [{ id: 'r1', name: 'Editor' }] } });
  assert.deepEqual(g.calls, [`${PREFIX}roles/`]);
});

test('the active theme is read from the theme settings', async () => {
  const g = ghost({ [`${PREFIX}settings/?group=theme`]: { settings: [{ key: 'active_theme', value: 'source' }] } });
  const r = await gatherEscalation(g, request(undefined), { activeTheme: true }, PREFIX, AUTH, 1000, undefined);
  assert.deepEqual(r, { facts: { activeTheme: 'source' } });
  assert.deepEqual(g.calls, [`${PREFIX}settings/?group=theme`]);
});

test("an answer of Ghost's that cannot be read, or a failed read, refuses the request (fail closed)", async () => {
  const cases: [string, Record<string, unknown>, { roles?: true; activeTheme?: true }][] = [
    ['roles without a list', { [`${PREFIX}roles/`]: { roles: null } }, { roles: true }],
    ['no roles answer', { [`${PREFIX}roles/`]: null }, { roles: true }],
    ['a failed roles read', { [`${PREFIX}roles/`]: new Error('socket hang up') }, { roles: true }],
    ['no active theme', { [`${PREFIX}settings/?group=theme`]: { settings: [] } }, { activeTheme: true }],
    ['a failed settings read', { [`${PREFIX}settings/?group=theme`]: new Error('timeout') }, { activeTheme: true }],
  ];
  for (const [name, answers, need] of cases) {
    const r = await gatherEscalation(ghost(answers), request(undefined), need, PREFIX, AUTH, 1000, undefined);
    assert.equal('code' in r && r.code, 'UPSTREAM_BAD_ANSWER', name);
  }
  // The roles' refusal comes before the theme is asked for.
  const g = ghost({ [`${PREFIX}roles/`]: {} });
  await gatherEscalation(g, request(undefined), { roles: true, activeTheme: true }, PREFIX, AUTH, 1000, undefined);
  assert.deepEqual(g.calls, [`${PREFIX}roles/`]);
});

test('an upload is read whole: its file name as multer gives it, and its bytes to forward unchanged', async () => {
  const body = theme('../mytheme.zip');
  const r = await gatherEscalation(ghost({}), request(body, MULTIPART), { upload: true }, PREFIX, AUTH, body.length, {
    activeTheme: 'casper',
  });
  assert.ok(!('code' in r), "!('code' in r)");
  assert.deepEqual(r.facts, { activeTheme: 'casper', upload: { originalname: 'mytheme.zip' } });
  assert.ok(r.body?.equals(body), 'r.body?.equals(body)');
});

test('an upload over the limit, or one without its file, is refused', async () => {
  const body = theme('mytheme.zip');
  const big = await gatherEscalation(ghost({}), request(body, MULTIPART), { upload: true }, PREFIX, AUTH, body.length - 1, undefined);
  assert.equal('code' in big && big.code, 'BODY_TOO_LARGE');
  const other = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="ref"\r\n\r\nx\r\n--${B}--\r\n`, 'latin1');
  const none = await gatherEscalation(ghost({}), request(other, MULTIPART), { upload: true }, PREFIX, AUTH, 1000, undefined);
  assert.equal('code' in none && none.code, 'BODY_INVALID');
});

test('nothing needed: nothing is read from Ghost or the request', async () => {
  const g = ghost({});
  assert.deepEqual(await gatherEscalation(g, request(undefined), {}, PREFIX, AUTH, 1000, undefined), { facts: {} });
  assert.deepEqual(g.calls, []);
});

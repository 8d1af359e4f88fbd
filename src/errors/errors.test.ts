import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, errorEnvelope, gatewayError, type ErrorCode } from './errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (\w+) \|/gm)].map((m) => [m[1]!, { status: Number(m[2]), type: m[3]! }]),
);

test('docs/errors.md documents every error code with its status and type, and nothing else', () => {
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERRORS).sort());
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.deepEqual(documented.get(code), { status: def.status, type: def.type }, code);
  }
});

test("errors are answered in Ghost's envelope with the stable code", () => {
  const { status, body } = errorEnvelope(gatewayError('SCOPE_MISSING', 'ctx', 'help', 'Missing scope posts:edit'), 'req-1');
  assert.equal(status, 403);
  const e = JSON.parse(body).errors[0];
  assert.deepEqual(Object.keys(e), ['message', 'context', 'type', 'details', 'property', 'help', 'code', 'id', 'ghostErrorCode']);
  assert.equal(e.code, 'SCOPE_MISSING');
  assert.equal(e.type, 'NoPermissionError');
  assert.equal(e.message, 'Missing scope posts:edit');
  assert.equal(e.id, 'req-1');
});

test('every code maps to a 4xx or 5xx status', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) assert.ok(ERRORS[code].status >= 400 && ERRORS[code].status < 600, code);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorEnvelope, gatewayError } from '../errors/errors.js';
import { toolResult } from './answer.js';

test("a 2xx answer is the tool's result, as text and structured content", () => {
  const r = toolResult({ status: 200, json: { posts: [{ id: 'x' }] } });
  assert.equal(r.isError, undefined);
  assert.deepEqual(r.structuredContent, { posts: [{ id: 'x' }] });
  assert.deepEqual(JSON.parse((r.content[0] as { text: string }).text), { posts: [{ id: 'x' }] });
  const gone = toolResult({ status: 204, json: undefined });
  assert.equal(gone.isError, undefined);
  assert.equal(gone.structuredContent, undefined);
});

test('a gateway refusal is a tool error keeping its code, the rule and what would allow it', () => {
  const { status, body } = errorEnvelope(
    gatewayError('SCOPE_MISSING', 'PUT /posts/:id needs posts:edit', 'Grant posts:edit', 'Missing scope posts:edit'),
    'r1',
  );
  const r = toolResult({ status, json: JSON.parse(body) });
  assert.equal(r.isError, true);
  assert.deepEqual(r.structuredContent, {
    error: {
      code: 'SCOPE_MISSING',
      status: 403,
      message: 'Missing scope posts:edit',
      context: 'PUT /posts/:id needs posts:edit',
      help: 'Grant posts:edit',
    },
  });
  assert.match((r.content[0] as { text: string }).text, /^SCOPE_MISSING: .*posts:edit/);
});

test("Ghost's own error without a code is named by its type; an answer without an envelope by its status", () => {
  const ghost = toolResult({ status: 409, json: { errors: [{ message: 'Saving failed!', type: 'UpdateCollisionError', code: null }] } });
  assert.equal(ghost.isError, true);
  assert.equal((ghost.structuredContent as { error: { code: string } }).error.code, 'UpdateCollisionError');
  const bare = toolResult({ status: 502, json: undefined });
  assert.equal(bare.isError, true);
  assert.equal((bare.structuredContent as { error: { code: string } }).error.code, 'HTTP_502');
});

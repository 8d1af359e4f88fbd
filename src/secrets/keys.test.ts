import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier } from 'fast-jwt';
import { adminTokenSigner, parseKey } from './keys.js';

test('adminTokenSigner signs as @tryghost/admin-api does: HS256, kid, the audience, 5 minutes from iat', () => {
  const key = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
  const now = Date.parse('2026-11-28T00:00:00Z');
  const token = adminTokenSigner(key)('/v4/admin/', now);
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT', kid: 'ab'.repeat(12) });
  const claims = createVerifier({ key: parseKey(key)!.secret, algorithms: ['HS256'], clockTimestamp: now })(token) as {
    aud: string;
    iat: number;
    exp: number;
  };
  assert.deepEqual(claims, { aud: '/v4/admin/', iat: now / 1000, exp: now / 1000 + 300 });
  assert.throws(() => adminTokenSigner('not-a-key'));
  assert.equal(
    adminTokenSigner(parseKey(key)!)('/admin/', now).split('.')[1],
    adminTokenSigner(key)('/admin/', now).split('.')[1],
    'a parsed key signs the same',
  );
});

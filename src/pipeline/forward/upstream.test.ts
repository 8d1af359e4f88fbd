import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamCredential } from './upstream.js';

const ID = 'a1'.repeat(12);
const SECRET = 'b2'.repeat(32);
const INFO = { kind: 'integration', role: 'Admin Integration' } as const;
const payload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud: string; iat: number };

test('a token is reused for 30 seconds per audience, then signed again', () => {
  const cred = new UpstreamCredential(`${ID}:${SECRET}`, INFO);
  const t0 = 1_800_000_000_000;
  const first = cred.token('/admin/', t0);
  assert.deepEqual([payload(first).aud, payload(first).iat], ['/admin/', t0 / 1000]);
  assert.equal(cred.token('/admin/', t0 + 29_999), first, 'reused inside the window');
  const other = cred.token('/v6.0/admin/', t0 + 1000);
  assert.equal(payload(other).aud, '/v6.0/admin/', 'one token per audience');
  const renewed = cred.token('/admin/', t0 + 30_000);
  assert.notEqual(renewed, first, 'signed again when the window ends');
  assert.equal(payload(renewed).iat, t0 / 1000 + 30);
  assert.equal(cred.token('/admin/', t0 + 30_001), renewed, 'the new token is reused in turn');
});

test('a credential that is not <id>:<secret> fails at start-up; its JSON form names the id, never the secret', () => {
  assert.throws(() => new UpstreamCredential('not-a-key', INFO));
  const cred = new UpstreamCredential(`${ID}:${SECRET}`, INFO);
  assert.equal(cred.id, ID);
  assert.equal(JSON.stringify({ cred }), JSON.stringify({ cred: `[upstream integration credential ${ID}]` }));
});

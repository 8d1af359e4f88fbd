import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkToken } from '../pipeline/authenticate/authenticate.js';
import { mcpCredential } from './credential.js';

const ID = 'ab'.repeat(12);
const SECRET = 'cd'.repeat(32);
const NOW = 1_800_000_000_000;

test('a Bearer ghostgate key becomes a token the authenticate stage accepts, signed with that key, for now', () => {
  const c = mcpCredential(`Bearer ${ID}:${SECRET}`, NOW);
  assert.ok(c.ok, 'c.ok');
  const t = checkToken(c.authorization, '/admin/', NOW, { clockSkewS: 0 });
  assert.ok(t.ok, 't.ok');
  assert.equal(t.keyId, ID);
  assert.deepEqual(t.verify(Buffer.from(SECRET, 'hex')), { ok: true });
  assert.equal(t.verify(Buffer.from('ef'.repeat(32), 'hex')).ok, false);
  const late = checkToken(c.authorization, '/admin/', NOW + 301_000, { clockSkewS: 0 });
  assert.ok(!late.ok && late.code === 'TOKEN_EXPIRED', "!late.ok && late.code === 'TOKEN_EXPIRED'");
});

test('a Ghost token is passed on as it came, for the pipeline to check', () => {
  assert.deepEqual(mcpCredential('Ghost abc.def.ghi', NOW), { ok: true, authorization: 'Ghost abc.def.ghi' });
});

test('no header, another scheme or a Bearer value that is not a ghostgate key is refused', () => {
  const code = (h: string | undefined) => {
    const c = mcpCredential(h, NOW);
    return c.ok ? 'ok' : c.code;
  };
  assert.equal(code(undefined), 'AUTH_MISSING');
  assert.equal(code(''), 'AUTH_MISSING');
  assert.equal(code(`Basic ${ID}:${SECRET}`), 'AUTH_SCHEME');
  assert.equal(code(`Bearer ${ID}`), 'AUTH_SCHEME');
  assert.equal(code(`Bearer ${ID.toUpperCase()}:${SECRET}`), 'AUTH_SCHEME');
  assert.equal(code(`Bearer  ${ID}:${SECRET}`), 'AUTH_SCHEME');
  assert.equal(code(`Bearer ${ID}:${SECRET} `), 'AUTH_SCHEME');
  assert.equal(code(`${ID}:${SECRET}`), 'AUTH_SCHEME');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createSigner } from 'fast-jwt';
import { MasterSecret, newKeyId } from '../../secrets/keys.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { authenticateKey, type PipelineDeps } from '../pipeline.js';
import { RateLimiter } from './lifecycle.js';

/**
 * Property: a child key authenticates only when it and every ancestor are
 * active and inside their validity windows (an expired, not-yet-valid or
 * revoked ancestor refuses the child, whatever the child's own window).
 */
const HOUR = 3_600_000;
const when = fc.constantFrom<'none' | 'past' | 'future'>('none', 'past', 'future');
const keySpec = fc.record({ expires: when, notBefore: when, revoked: fc.boolean() });

test('property: a key with ancestors authenticates exactly when every key of its chain is active and inside its window', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ghostgate-ancestors-')), 'k.db'));
  const master = new MasterSecret(MasterSecret.generateHex());
  const deps = { store, master, clockSkewS: 30, rateLimiter: new RateLimiter() } as unknown as PipelineDeps;
  let refused = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(keySpec, { minLength: 1, maxLength: 4 }), async (chain) => {
        const now = Date.now();
        const at = (w: 'none' | 'past' | 'future') => (w === 'none' ? null : w === 'past' ? now - HOUR : now + HOUR);
        let parentId: string | null = null;
        let leaf = '';
        for (const k of chain) {
          const id = newKeyId();
          await store.keys.create({
            id,
            name: 'k',
            grant: { version: 1, scopes: ['posts:browse'] },
            createdAt: now - 2 * HOUR,
            expiresAt: at(k.expires),
            notBefore: at(k.notBefore),
            parentId,
          });
          parentId = id;
          leaf = id;
        }
        // Revocation after creation (it reaches every descendant, as `token revoke` does).
        const ids: string[] = [];
        for (let p: string | null = leaf; p !== null; p = (await store.keys.get(p))!.parentId) ids.unshift(p);
        for (const [i, k] of chain.entries()) if (k.revoked) await store.keys.revoke(ids[i]!, now);
        const token = createSigner({ key: master.keySecret(leaf, 1), algorithm: 'HS256', kid: leaf, expiresIn: 300_000 })({
          aud: '/admin/',
        });
        const r = await authenticateKey(deps, `Ghost ${token}`, '/admin/', now, '127.0.0.1');
        const expected = chain.every((k) => !k.revoked && k.expires !== 'past' && k.notBefore !== 'future');
        assert.equal(r.ok, expected, JSON.stringify({ chain, got: r.ok ? 'ok' : r.refusal.code }));
        if (!r.ok) {
          refused++;
          assert.ok(['KEY_REVOKED', 'KEY_EXPIRED', 'KEY_NOT_YET_VALID'].includes(r.refusal.code), r.refusal.code);
        }
      }),
      { numRuns: 300 },
    );
  } finally {
    await store.close();
  }
  assert.ok(refused > 50, `only ${refused} refusals were compared`);
});

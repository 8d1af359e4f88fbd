import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { newKeyId } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { explainRequest } from './explain.js';

let dir: string;
let store: Store;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ghostgate-explain-'));
  store = openSqliteStore(join(dir, 'k.db'));
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Only what explainRequest reads of the configuration. */
const configFor = (url: string) => ({ ghostPath: 'ghost', upstream: { kind: 'integration', url } }) as unknown as Config;

test('explain refuses the tag slug a sub-directory Ghost rewrites, as the gateway in front of it does', async () => {
  const id = newKeyId();
  const grant = { version: 1 as const, scopes: ['posts:add'], constraints: { posts: { tags: [{ id: 'c'.repeat(24), slug: 'blog' }] } } };
  await store.keys.create({ id, name: 'blog writer', grant, createdAt: Date.now() - 1000 });
  const q = { keyId: id, method: 'POST', path: '/posts/', body: { posts: [{ title: 'x', tags: [{ slug: 'blog' }] }] } };
  const under = await explainRequest({ config: configFor('http://127.0.0.1:2368/blog/'), store }, q, Date.now());
  assert.deepEqual([under.decision, under.code], ['deny', 'REFERENCE_AMBIGUOUS'], JSON.stringify(under));
  const root = await explainRequest({ config: configFor('http://127.0.0.1:2368/'), store }, q, Date.now());
  assert.equal(root.decision, 'depends', 'at the root the slug is looked up in Ghost, as the gateway does');
});

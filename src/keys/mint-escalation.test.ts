import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterSecret } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { keyJson } from './key-json.js';
import { mintKey, MintError } from './mint.js';

describe('minting keys with escalation scopes', () => {
  let dir: string;
  let store: Store;
  const master = new MasterSecret(MasterSecret.generateHex());
  const policy = { requireExpiry: false };
  const mint = (scopes: string[], opts: { allowEscalation?: boolean; narrow?: object } = {}, parent?: Parameters<typeof mintKey>[5]) =>
    mintKey(
      store,
      master,
      policy,
      {
        name: 'k',
        grant: { version: 1, scopes, ...(opts.narrow ? { narrow: opts.narrow } : {}) },
        ...(opts.allowEscalation ? { allowEscalation: true } : {}),
      },
      Date.now(),
      parent,
    );

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-mint-'));
    store = openSqliteStore(join(dir, 'k.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an escalation scope is refused without allowEscalation, naming the scope and its narrower form', async () => {
    for (const scopes of [['invites:add'], ['*'], ['users:*'], ['posts:browse', 'themes:activate'], ['posts:*']]) {
      await assert.rejects(
        mint(scopes),
        (e: unknown) => e instanceof MintError && /equivalent to full access/.test(e.message),
        scopes.join(),
      );
    }
    await assert.rejects(mint(['invites:add']), /narrow\.invites\.maxRole/);
  });

  test('with allowEscalation it is created, and its JSON says it is equivalent to full access', async () => {
    const { record } = await mint(['*'], { allowEscalation: true });
    const j = keyJson(record) as { escalation: { full_access: boolean; summary: string } };
    assert.equal(j.escalation.full_access, true);
    assert.match(j.escalation.summary, /^equivalent to full access/);
  });

  test('a narrower form needs no flag and is not full access', async () => {
    const { record } = await mint(['invites:add', 'roles:browse', 'themes:upload'], {
      narrow: { invites: { maxRole: 'contributor' }, themes: { keepActive: true } },
    });
    const j = keyJson(record) as { escalation: { full_access: boolean; narrowed: { scope: string }[] } };
    assert.equal(j.escalation.full_access, false);
    assert.deepEqual(j.escalation.narrowed.map((n) => n.scope).sort(), ['invites:add', 'themes:upload']);
    await assert.rejects(mint(['invites:add'], { narrow: { invites: { maxRole: 'editor' } } }), /equivalent to full access/);
  });

  test('a child key may hold what its parent holds without the flag, and no more', async () => {
    const parent = (await mint(['invites:add', 'keys:mint'], { allowEscalation: true })).record;
    const child = await mint(['invites:add'], {}, parent);
    assert.equal((keyJson(child.record) as { escalation: { full_access: boolean } }).escalation.full_access, true);
    await assert.rejects(mint(['users:edit'], {}, parent), /subset/);
    const bounded = (await mint(['invites:add', 'keys:mint'], { narrow: { invites: { maxRole: 'author' } } })).record;
    const inherits = await mint(['invites:add'], {}, bounded);
    assert.deepEqual(inherits.record.grant.narrow, { invites: { maxRole: 'author' } });
    await assert.rejects(mint(['invites:add'], { narrow: { invites: { maxRole: 'administrator' } } }, bounded), /maxRole/);
  });
});

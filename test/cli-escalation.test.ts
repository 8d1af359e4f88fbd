import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';

const UPSTREAM = `${'12'.repeat(12)}:${'34'.repeat(32)}`;
const run = runCli;

describe('the CLI names escalation scopes as such', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-cli-esc-'));
    writeFileSync(join(dir, 'up.key'), `${UPSTREAM}\n`);
    assert.equal(run(dir, 'init', '--upstream-url', 'http://127.0.0.1:2368', '--upstream-key-file', 'up.key', '--offline').code, 0);
  });

  test('token create refuses an escalation scope without --allow-escalation, and says why', () => {
    for (const scope of ['invites:add', '*', 'themes:upload', 'users:edit']) {
      const r = run(dir, 'token', 'create', '--name', 'x', '--scope', scope);
      assert.equal(r.code, 1, scope);
      assert.match(r.err, /equivalent to full access/, scope);
      assert.match(r.err, /--allow-escalation/, scope);
    }
    assert.match(run(dir, 'token', 'create', '--name', 'x', '--preset', 'editor-strict').err, /posts:bulkDestroy/);
  });

  test('with --allow-escalation the key is created, and token create, show, list and explain say it is equivalent to full access', () => {
    const created = run(dir, 'token', 'create', '--name', 'everything', '--scope', '*', '--allow-escalation');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /equivalent to full access/);
    const k = JSON.parse(run(dir, 'token', 'create', '--name', 'inviter', '--scope', 'invites:add', '--allow-escalation', '--json').out);
    assert.equal(k.escalation.full_access, true);
    assert.deepEqual(k.escalation.scopes, [{ scope: 'invites:add', categories: ['identity'] }]);
    assert.match(
      run(dir, 'token', 'show', k.id).out,
      /^escalation +equivalent to full access: 1 escalation scope \(identity\): invites:add$/m,
    );
    const list = run(dir, 'token', 'list').out.split('\n');
    assert.match(
      list.find((l) => l.startsWith(k.id))!,
      /equivalent to full access$/,
    );
    const explained = JSON.parse(run(dir, 'explain', '--key', k.id, 'GET', '/posts/', '--json').out);
    assert.match(explained.access, /^equivalent to full access/);
  });

  test('a narrower form needs no flag; show names what it still allows; explain names the facts fetched at request time', () => {
    writeFileSync(join(dir, 'narrow.json'), JSON.stringify({ narrow: { invites: { maxRole: 'contributor' } } }));
    const r = run(dir, 'token', 'create', '--name', 'bounded', '--scope', 'invites:add,roles:browse', '--grant', 'narrow.json', '--json');
    assert.equal(r.code, 0, r.err);
    const k = JSON.parse(r.out);
    assert.equal(k.escalation.full_access, false);
    const shown = run(dir, 'token', 'show', k.id).out;
    assert.match(shown, /^escalation +no escalation scope$/m);
    assert.match(shown, /invites:add \(narrowed\): invites staff up to Contributor/);
    assert.match(
      run(dir, 'token', 'list')
        .out.split('\n')
        .find((l) => l.startsWith(k.id))!,
      / -$/,
    );
    writeFileSync(join(dir, 'invite.json'), JSON.stringify({ invites: [{ email: 'a@example.com', role_id: 'a'.repeat(24) }] }));
    const d = JSON.parse(run(dir, 'explain', '--key', k.id, 'POST', '/invites/', '--body', 'invite.json', '--json').out);
    assert.equal(d.decision, 'depends');
    assert.match(d.needs.join(), /roles/);
  });

  test('explain refuses the gateway’s own identity routes for every key', () => {
    const k = JSON.parse(run(dir, 'token', 'create', '--name', 'all', '--scope', '*', '--allow-escalation', '--json').out);
    for (const path of ['/users/me/token/', '/users/password/']) {
      const m = path === '/users/password/' ? 'PUT' : 'GET';
      const r = run(dir, 'explain', '--key', k.id, m, path, '--json');
      assert.equal(r.code, 1);
      assert.equal(JSON.parse(r.out).code, 'IDENTITY_PROTECTED', path);
    }
  });

  test('token presets names the escalation of each preset', () => {
    const rows = run(dir, 'token', 'presets').out.split('\n');
    assert.match(
      rows.find((l) => l.startsWith('editor-strict'))!,
      /equivalent to full access: posts:bulkDestroy/,
    );
    assert.match(
      rows.find((l) => l.startsWith('publisher'))!,
      /^publisher +- /,
    );
  });
});

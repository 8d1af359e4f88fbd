import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from './catalog.js';
import { readFileSync } from 'node:fs';
import { escalationFile, loadEscalation, parseEscalation } from './escalation.js';

const HEADER = 'scope\tcategories\tnarrower\twhy\tsource';

test('every escalation scope is a catalog scope, with a category, a reason and a Ghost source', () => {
  const catalog = loadCatalog();
  // Parsed against the catalog: a scope no route needs fails the load.
  const table = parseEscalation(readFileSync(escalationFile(), 'utf8'), catalog);
  assert.ok(table.size >= 50, 'table.size >= 50');
  for (const e of table.values()) {
    assert.ok(e.categories.length > 0, e.scope);
    assert.ok(e.why.length > 20, e.scope);
    assert.match(e.source, /core\/|admin bundle/, e.scope);
  }
});

test('the escalation scopes named by the issue are marked, with their categories', () => {
  const t = loadEscalation();
  const expect: [string, string][] = [
    ['invites:add', 'identity'],
    ['users:edit', 'identity'],
    ['users:changePassword', 'identity'],
    ['users:destroy', 'identity'],
    ['users:readStaffToken', 'secrets'],
    ['themes:upload', 'code'],
    ['themes:install', 'code'],
    ['themes:activate', 'code'],
    ['integrations:add', 'identity'],
    ['integrations:edit', 'secrets'],
    ['integrations:browse', 'secrets'],
    ['settings:edit', 'code'],
    ['db:exportContent', 'full_access'],
    ['db:importContent', 'full_access'],
    ['exports:download', 'full_access'],
    ['members:importCSV', 'bulk_loss'],
    ['links:bulkEdit', 'code'],
    ['automations:edit', 'code'],
    ['automated_emails:edit', 'code'],
    ['newsletters:add', 'bulk_loss'],
    ['notifications:add', 'code'],
    ['posts:bulkDestroy', 'bulk_loss'],
  ];
  for (const [scope, category] of expect) assert.ok(t.get(scope)?.categories.includes(category as never), `${scope} is ${category}`);
});

test('scopes that only read a record or write one record are not escalation scopes', () => {
  const t = loadEscalation();
  for (const scope of [
    'posts:browse',
    'posts:add',
    'posts:edit',
    'tags:edit',
    'webhooks:add',
    'members:browse',
    'roles:browse',
    'images:upload',
    'users:browse',
  ]) {
    assert.equal(t.has(scope), false, scope);
  }
});

test('only invites:add and the theme upload and install have a narrower form', () => {
  const narrowed = [...loadEscalation().values()]
    .filter((e) => e.narrower)
    .map((e) => `${e.scope}=${e.narrower}`)
    .sort();
  assert.deepEqual(narrowed, ['invites:add=invites.maxRole', 'themes:install=themes.keepActive', 'themes:upload=themes.keepActive']);
});

test('an unknown category, narrower form, missing column, duplicate or unknown scope fails the load (fail closed)', () => {
  const catalog = loadCatalog();
  const row = (s: string) => `${HEADER}\n${s}\n`;
  assert.throws(() => parseEscalation(row('users:edit\tmagic\t-\twhy\tcore/x.js'), catalog), /unknown category/);
  assert.throws(() => parseEscalation(row('users:edit\tidentity\tusers.maxRole\twhy\tcore/x.js'), catalog), /unknown narrower/);
  assert.throws(() => parseEscalation(row('users:edit\tidentity\t-\twhy'), catalog), /expected scope/);
  assert.throws(() => parseEscalation(row('users:edti\tidentity\t-\twhy\tcore/x.js'), catalog), /no route needs/);
  assert.throws(
    () => parseEscalation(`${HEADER}\nusers:edit\tidentity\t-\twhy\tcore/x.js\nusers:edit\tidentity\t-\twhy\tcore/x.js\n`),
    /duplicate/,
  );
  assert.throws(() => parseEscalation(`${HEADER}\n`), /empty/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEscalation } from '../catalog/escalation.js';
import { subGrantProblems } from './attenuate.js';
import { describeEscalation, escalationOf, describeEscalationRefusal } from './escalation.js';
import { parseGrant, type Grant } from './grant.js';
import { IDENTITY_RULES } from './identity.js';
import { PRESETS } from './presets.js';

const g = (scopes: string[], narrow?: Grant['narrow']): Grant => (narrow ? { version: 1, scopes, narrow } : { version: 1, scopes });
const held = (grant: Grant) =>
  escalationOf(grant)
    .held.map((h) => h.scope)
    .sort();

test('which escalation scopes a grant holds, directly, by resource:* and by *', () => {
  const table: [string, Grant, string[]][] = [
    ['a reader holds none', g(['posts:browse', 'posts:read', 'tags:browse']), []],
    ['invites:add alone', g(['invites:add']), ['invites:add']],
    [
      'users:* holds every users escalation',
      g(['users:*']),
      [
        'users:changePassword',
        'users:destroy',
        'users:edit',
        'users:readStaffToken',
        'users:regenerateStaffToken',
        'users:transferOwnership',
      ],
    ],
    ['themes:* holds upload, install and activate', g(['themes:*']), ['themes:activate', 'themes:install', 'themes:upload']],
    ['* holds every escalation scope', g(['*']), [...loadEscalation().keys()].sort()],
  ];
  for (const [name, grant, want] of table) {
    assert.deepEqual(held(grant), want, name);
    assert.equal(escalationOf(grant).fullAccess, want.length > 0, name);
  }
});

test('a narrower form takes a scope out of escalation only when it bounds it', () => {
  const table: [string, Grant, string[], string[]][] = [
    ['invites up to contributor', g(['invites:add'], { invites: { maxRole: 'contributor' } }), [], ['invites:add']],
    ['invites up to author', g(['invites:add'], { invites: { maxRole: 'author' } }), [], ['invites:add']],
    ['invites up to editor: still an escalation', g(['invites:add'], { invites: { maxRole: 'editor' } }), ['invites:add'], []],
    [
      'invites up to administrator: still an escalation',
      g(['invites:add'], { invites: { maxRole: 'administrator' } }),
      ['invites:add'],
      [],
    ],
    [
      'theme upload keeping the active theme',
      g(['themes:upload', 'themes:install'], { themes: { keepActive: true } }),
      [],
      ['themes:install', 'themes:upload'],
    ],
    [
      'keepActive does not bound activate',
      g(['themes:*'], { themes: { keepActive: true } }),
      ['themes:activate'],
      ['themes:install', 'themes:upload'],
    ],
    [
      'a narrow form of another scope changes nothing',
      g(['themes:upload'], { invites: { maxRole: 'contributor' } }),
      ['themes:upload'],
      [],
    ],
  ];
  for (const [name, grant, wantHeld, wantNarrowed] of table) {
    const e = escalationOf(grant);
    assert.deepEqual(e.held.map((h) => h.scope).sort(), wantHeld, name);
    assert.deepEqual(e.narrowed.map((n) => n.scope).sort(), wantNarrowed, name);
  }
});

test('escalation keys are described as equivalent to full access, with each scope and its narrower form', () => {
  const e = escalationOf(g(['invites:add', 'posts:browse']));
  assert.match(describeEscalation(e), /^equivalent to full access: 1 escalation scope \(identity\): invites:add$/);
  assert.match(describeEscalationRefusal(e), /invites:add \(identity\): .*narrower form: narrow\.invites\.maxRole/);
  assert.match(describeEscalationRefusal(e), /--allow-escalation/);
  assert.equal(describeEscalation(escalationOf(g(['posts:browse']))), 'no escalation scope');
  assert.match(describeEscalation(escalationOf(g(['*']))), /and \d+ more$/);
});

test('no preset holds an escalation scope without saying so', () => {
  for (const [name, p] of Object.entries(PRESETS)) {
    assert.deepEqual(held(p.grant), [...(p.escalation ?? [])].sort(), name);
    if (p.escalation?.length) assert.match(p.description, /Escalation/, name);
  }
});

test('the grant schema accepts the narrower forms and nothing else under narrow', () => {
  assert.equal(parseGrant({ version: 1, scopes: ['invites:add'], narrow: { invites: { maxRole: 'super-editor' } } }).ok, true);
  assert.equal(parseGrant({ version: 1, scopes: ['themes:upload'], narrow: { themes: { keepActive: true } } }).ok, true);
  for (const narrow of [
    { invites: { maxRole: 'owner' } },
    { invites: { maxRole: 'Contributor' } },
    { themes: { keepActive: false } },
    { users: {} },
    { invites: { maxRole: 'author', extra: 1 } },
  ]) {
    assert.equal(parseGrant({ version: 1, scopes: ['invites:add'], narrow }).ok, false, JSON.stringify(narrow));
  }
});

test('a child key keeps its parent’s narrower forms: no higher ceiling, keepActive stays', () => {
  const parent = g(['invites:add', 'themes:upload'], { invites: { maxRole: 'author' }, themes: { keepActive: true } });
  assert.deepEqual(subGrantProblems(g(['invites:add'], { invites: { maxRole: 'contributor' }, themes: { keepActive: true } }), parent), []);
  assert.match(
    subGrantProblems(g(['invites:add'], { invites: { maxRole: 'editor' }, themes: { keepActive: true } }), parent).join(),
    /maxRole/,
  );
  assert.match(subGrantProblems(g(['invites:add'], { themes: { keepActive: true } }), parent).join(), /maxRole/);
  assert.match(subGrantProblems(g(['themes:upload'], { invites: { maxRole: 'author' } }), parent).join(), /keepActive/);
});

test('docs/security.md lists every escalation scope and every identity-protected route, with its Ghost source', () => {
  const doc = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
  for (const e of loadEscalation().values()) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${e.scope}\` |`));
    assert.ok(row, `${e.scope} is listed`);
    assert.ok(row.includes(e.source.split('; ')[0]!), `${e.scope} cites ${e.source}`);
  }
  for (const r of IDENTITY_RULES) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${r.route}\` |`));
    assert.ok(row, `${r.route} is listed`);
    assert.ok(row.includes(r.source.split('; ')[0]!), `${r.route} cites ${r.source}`);
  }
});

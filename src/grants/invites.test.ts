import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideInvite, rolesFrom, type GhostRole } from './invites.js';
import type { RoleCeiling } from './narrow.js';

const ROLES: GhostRole[] = [
  { id: 'a00000000000000000000001', name: 'Administrator' },
  { id: 'a00000000000000000000002', name: 'Editor' },
  { id: 'a00000000000000000000003', name: 'Author' },
  { id: 'a00000000000000000000004', name: 'Contributor' },
  { id: 'a00000000000000000000005', name: 'Owner' },
  { id: 'a00000000000000000000006', name: 'Admin Integration' },
  { id: 'a00000000000000000000007', name: 'Super Editor' },
];
const id = (name: string) => ROLES.find((r) => r.name === name)!.id;
const invite = (role_id: unknown) => ({ invites: [{ email: 'x@example.com', role_id }] });

test('an invite is allowed up to the ceiling and refused above it', () => {
  const table: [RoleCeiling, string, boolean][] = [
    ['contributor', 'Contributor', true],
    ['contributor', 'Author', false],
    ['contributor', 'Super Editor', false],
    ['contributor', 'Administrator', false],
    ['author', 'Author', true],
    ['author', 'Editor', false],
    ['editor', 'Editor', true],
    ['editor', 'Super Editor', false],
    ['super-editor', 'Super Editor', true],
    ['super-editor', 'Administrator', false],
    ['administrator', 'Administrator', true],
    ['administrator', 'Owner', false],
    ['administrator', 'Admin Integration', false],
  ];
  for (const [ceiling, role, ok] of table) {
    const v = decideInvite(invite(id(role)), ROLES, ceiling);
    assert.equal(v.ok, ok, `${role} under ${ceiling}`);
    if (!v.ok) assert.equal(v.code, 'INVITE_ROLE_REFUSED', `${role} under ${ceiling}`);
  }
});

test('a body Ghost could read another way is refused', () => {
  const table: [string, unknown, string][] = [
    ['no body', null, 'BODY_INVALID'],
    ['no invites', { invite: [] }, 'BODY_INVALID'],
    [
      'two invites (Ghost uses the first only)',
      { invites: [{ role_id: id('Contributor') }, { role_id: id('Administrator') }] },
      'BODY_INVALID',
    ],
    ['role_id a number', invite(4), 'BODY_INVALID'],
    ['role_id an object', invite({ id: id('Contributor') }), 'BODY_INVALID'],
    ['role_id missing', { invites: [{ email: 'x@example.com' }] }, 'BODY_INVALID'],
    ['role_id in another letter case (MySQL would match it)', invite(id('Contributor').toUpperCase()), 'INVITE_ROLE_REFUSED'],
    ['role_id a role name', invite('Contributor'), 'INVITE_ROLE_REFUSED'],
    ['role_id unknown', invite('f'.repeat(24)), 'INVITE_ROLE_REFUSED'],
  ];
  for (const [name, body, code] of table) {
    const v = decideInvite(body, ROLES, 'administrator');
    assert.equal(v.ok, false, name);
    if (!v.ok) assert.equal(v.code, code, name);
  }
});

test("Ghost's roles answer is read strictly", () => {
  assert.deepEqual(rolesFrom({ roles: [{ id: 'x', name: 'Author', description: 'd' }] }), [{ id: 'x', name: 'Author' }]);
  assert.equal(rolesFrom({ roles: [{ id: 1, name: 'Author' }] }), undefined);
  assert.equal(rolesFrom({ errors: [] }), undefined);
  assert.equal(rolesFrom(null), undefined);
  assert.equal(rolesFrom({ roles: [null] }), undefined);
  assert.equal(rolesFrom({ roles: [{ id: 'x' }] }), undefined, 'a role without a name');
});

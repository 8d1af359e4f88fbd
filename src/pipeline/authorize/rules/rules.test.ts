import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRANT_PARTS } from '../../../grants/parts.js';
import { AUTHORIZE_STEPS } from './index.js';

test('every rule kind of the grant registry is enforced by at least one authorize step', () => {
  const kinds = new Set(AUTHORIZE_STEPS.map((s) => s.kind));
  const unenforced = GRANT_PARTS.map((p) => p.part).filter((part) => !kinds.has(part));
  assert.deepEqual(unenforced, []);
});

test('every authorize step enforces a grant part or a rule of the route, under a name of its own', () => {
  const parts = new Set<string>(GRANT_PARTS.map((p) => p.part));
  for (const s of AUTHORIZE_STEPS) assert.ok(s.kind === 'route' || parts.has(s.kind), `${s.name}: unknown kind ${s.kind}`);
  const names = AUTHORIZE_STEPS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(
    names.filter((n) => !/^[a-z][a-z-]*$/.test(n)),
    [],
  );
});

test('the scope is asked first, and every step for all keys comes before the steps for grants with rules', () => {
  assert.equal(AUTHORIZE_STEPS[0]!.name, 'scope');
  const firstWithRules = AUTHORIZE_STEPS.findIndex((s) => s.withRules);
  assert.ok(firstWithRules > 0, 'firstWithRules > 0');
  assert.ok(
    AUTHORIZE_STEPS.slice(firstWithRules).every((s) => s.withRules),
    'a step for all keys after one for rules only',
  );
});

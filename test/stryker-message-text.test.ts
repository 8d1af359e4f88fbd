import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Instrumenter } from '@stryker-mutator/instrumenter';
import type { Ignorer } from '@stryker-mutator/api/ignore';

// The message-text ignorer of `npm run mutate` (scripts/stryker-message-text.mjs), run through Stryker's own
// instrumenter as a mutation run does: words in message positions are Ignored, everything else is mutated.
const plugin = '../scripts/stryker-message-text.mjs';
const { messageTextIgnorer } = (await import(plugin)) as { messageTextIgnorer: Ignorer };
const quiet = {
  isDebugEnabled: () => false,
  isTraceEnabled: () => false,
  isInfoEnabled: () => false,
  isWarnEnabled: () => false,
  isErrorEnabled: () => true,
  isFatalEnabled: () => true,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
};

/** The string-literal mutants of `source`, by the literal they replace, with whether each was ignored. */
async function stringMutants(source: string, name = 'x.ts'): Promise<Map<string, boolean>> {
  const result = await new Instrumenter(quiet).instrument([{ name, content: source, mutate: true }], {
    plugins: null,
    excludedMutations: [],
    ignorers: [messageTextIgnorer],
    noHeader: true,
  });
  const out = new Map<string, boolean>();
  for (const m of result.mutants) {
    if (m.mutatorName !== 'StringLiteral') continue;
    // Stryker locations: lines from 0, columns from 0.
    const lines = source.split('\n');
    const text = lines[m.location.start.line]!.slice(m.location.start.column, m.location.end.column);
    out.set(text, m.status === 'Ignored');
  }
  return out;
}

test('an argument for a message parameter of an arrow function declared in the file is not mutated; its code is', async () => {
  // Stryker wraps the arrow in its mutant switch when it leaves the declaration, before the call is visited.
  const m = await stringMutants(
    [
      `const refuse = (code: string, context: string) => ({ code, context });`,
      `export function check(x: string) {`,
      `  if (x === 'a') return refuse('BAD_INPUT', 'the words of it');`,
      `  return undefined;`,
      `}`,
    ].join('\n'),
  );
  assert.equal(m.get("'the words of it'"), true);
  assert.equal(m.get("'BAD_INPUT'"), false);
  assert.equal(m.get("'a'"), false);
});

test('the same through a function declaration, and a message property; other properties are mutated', async () => {
  const m = await stringMutants(
    [
      `function fail(code: string, context: string) { return { code, context }; }`,
      `export const a = (x: string) => (x ? fail('CODE_ONE', 'first words') : { code: 'CODE_TWO', message: 'second words' });`,
    ].join('\n'),
  );
  assert.equal(m.get("'first words'"), true);
  assert.equal(m.get("'second words'"), true);
  assert.equal(m.get("'CODE_ONE'"), false);
  assert.equal(m.get("'CODE_TWO'"), false);
});

test('the same for a function exported by a module of the project that the file imports with a relative path', async () => {
  // src/pipeline/authorize/rules/*.ts call deny(code, message, context, help) of ../step.ts.
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-ignorer-'));
  writeFileSync(
    join(dir, 'step.ts'),
    'export function deny(code: string, message: string, context: string) { return { code, message, context }; }\n',
  );
  const m = await stringMutants(
    [`import { deny } from './step.js';`, `export const rule = (x: string) => (x ? deny('SCOPE_MISSING', 'one', 'two') : undefined);`].join(
      '\n',
    ),
    join(dir, 'rule.ts'),
  );
  assert.equal(m.get("'one'"), true);
  assert.equal(m.get("'two'"), true);
  assert.equal(m.get("'SCOPE_MISSING'"), false);
});

test('a problem property and what is pushed onto a list of problems are words; the condition that finds one is mutated', async () => {
  // src/pipeline/audit/continuity.ts returns { code, problem }; trail.ts collects problems.push(...).
  const m = await stringMutants(
    [
      `export function verify(head: string, last: string) {`,
      `  const problems: string[] = [];`,
      `  const names: string[] = [];`,
      `  if (head !== 'signed') problems.push('the head does not verify');`,
      `  names.push('kept');`,
      `  return { code: 'AUDIT_DISCONTINUITY', problem: 'the file was replaced', problems: problems.map((p) => 'chain: ' + p), names, last };`,
      `}`,
    ].join('\n'),
  );
  assert.equal(m.get("'the head does not verify'"), true);
  assert.equal(m.get("'the file was replaced'"), true);
  assert.equal(m.get("'chain: '"), true);
  assert.equal(m.get("'signed'"), false);
  assert.equal(m.get("'kept'"), false);
  assert.equal(m.get("'AUDIT_DISCONTINUITY'"), false);
});

test("the same for a method of the enclosing class called on this; another object's method is mutated", async () => {
  // src/pipeline/forward/forward.ts: this.failed(code, context, responseStarted, status).
  const m = await stringMutants(
    [
      `export class Forwarder {`,
      `  private failed(code: string, context: string) { return { code, context }; }`,
      `  run(x: string, other: Forwarder) {`,
      `    if (x === 'big') return this.failed('UPSTREAM_BAD_ANSWER', 'answer too large');`,
      `    return (other as unknown as { failed(a: string, b: string): unknown }).failed('OTHER_CODE', 'other words');`,
      `  }`,
      `}`,
    ].join('\n'),
  );
  assert.equal(m.get("'answer too large'"), true);
  assert.equal(m.get("'UPSTREAM_BAD_ANSWER'"), false);
  assert.equal(m.get("'big'"), false);
  assert.equal(m.get("'other words'"), false);
});

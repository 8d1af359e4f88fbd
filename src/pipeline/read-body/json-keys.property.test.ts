import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findKeyProblem } from './json-keys.js';

/** A JSON document written out by hand, so objects can repeat keys; `entries` keep every key as written. */
type Doc = null | boolean | number | string | Doc[] | { entries: [string, Doc][] };

const key = fc.oneof(
  fc.constantFrom('a', 'b', 'status', 'posts', '__proto__', 'constructor', 'a"b', 'a\\b', 'é', '\u2028', ''),
  fc.string({ maxLength: 4 }),
);
const { doc } = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1.5e3, '', 'x', '{"a":1,"a":2}', '\\', '"'),
    fc.string({ maxLength: 6 }),
    fc.array(tie('doc'), { maxLength: 4 }),
    fc.record({ entries: fc.array(fc.tuple(key, tie('doc')), { maxLength: 5 }) }),
  ),
}));

/** Writes a key with a random mix of escapes: every spelling must compare equal to the plain one. */
function writeKey(k: string, escapeMask: number): string {
  let out = '"';
  [...k].forEach((ch, i) => {
    const code = ch.codePointAt(0)!;
    if ((escapeMask >> i) & 1 && code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += JSON.stringify(ch).slice(1, -1);
  });
  return `${out}"`;
}

function write(d: Doc, mask: number, ws: string): string {
  if (d === null || typeof d !== 'object') return JSON.stringify(d);
  if (Array.isArray(d)) return `[${ws}${d.map((x) => write(x, mask, ws)).join(`${ws},${ws}`)}${ws}]`;
  return `{${ws}${d.entries.map(([k, v]) => `${writeKey(k, mask)}${ws}:${ws}${write(v, mask, ws)}`).join(`${ws},`)}${ws}}`;
}

/** The reference answer: any object with a repeated key, or a __proto__ key, anywhere. */
function expected(d: Doc): boolean {
  if (d === null || typeof d !== 'object') return false;
  if (Array.isArray(d)) return d.some(expected);
  const keys = d.entries.map(([k]) => k);
  return new Set(keys).size !== keys.length || keys.includes('__proto__') || d.entries.some(([, v]) => expected(v));
}

test('property: finds a repeated or __proto__ key exactly when the document has one, whatever the escapes and spacing', () => {
  fc.assert(
    fc.property(doc, fc.nat(), fc.constantFrom('', ' ', '\n\t', '\r\n  '), (d, mask, ws) => {
      const text = write(d, mask, ws);
      JSON.parse(text); // well-formed
      assert.equal(findKeyProblem(text) !== undefined, expected(d), text);
    }),
    { numRuns: 20_000 },
  );
});

test('property: JSON.stringify output never has a repeated key', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v);
      const p = findKeyProblem(text);
      assert.ok(p === undefined || p.kind === 'proto', text);
    }),
    { numRuns: 5000 },
  );
});

test('names the key and the kind of problem', () => {
  assert.deepEqual(findKeyProblem('{"posts":[{"status":"draft","st\\u0061tus":"published"}]}'), { kind: 'duplicate', key: 'status' });
  assert.deepEqual(findKeyProblem('{"posts":[{"__proto__":{"status":"published"}}]}'), { kind: 'proto', key: '__proto__' });
  assert.equal(findKeyProblem('{"a":{"b":1},"b":{"a":2},"c":["a","a"],"d":"\\"a\\":1,\\"a\\":2"}'), undefined);
  assert.equal(findKeyProblem('{"c":["a","b","b"],"d":[1,"x","x"]}'), undefined, 'strings in an array are values, not keys');
});

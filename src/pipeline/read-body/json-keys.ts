/**
 * Object keys that make one JSON text mean different things to different
 * readers. `JSON.parse` keeps the last of two equal keys, other parsers the
 * first or both; and a `__proto__` key is an own property after `JSON.parse`
 * but sets the prototype when the object is later copied with assignment
 * (`Object.assign`, `obj[key] = value`), so a field the gateway reads as
 * absent can be present for Ghost's code. Both are refused.
 *
 * Keys are compared after decoding their escapes (`"a"` and `"\u0061"` are
 * the same key). Call only on text `JSON.parse` has accepted: the scanner
 * relies on it being well-formed.
 */
export type KeyProblem = { readonly kind: 'duplicate' | 'proto'; readonly key: string } | { readonly kind: 'depth' };

/**
 * How deep a body the gateway reads may nest. Ghost's own bodies nest a few levels (`posts[0].tags[0]`;
 * `lexical` and `mobiledoc` are JSON strings); Ghost 6.65 recurses over a body's objects after parsing it
 * and, on one nested about 100,000 deep, throws in an unhandled rejection and never answers.
 */
export const MAX_JSON_DEPTH = 64;

interface Frame {
  readonly keys: Set<string> | undefined; // undefined: an array
  expectKey: boolean;
}

export function findKeyProblem(text: string): KeyProblem | undefined {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Find the closing quote, skipping escaped characters.
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        const b = text.indexOf('\\', j);
        if (b !== -1 && b < q) j = b + 2;
        else {
          j = q;
          break;
        }
      }
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (key === '__proto__') return { kind: 'proto', key };
        if (top.keys.has(key)) return { kind: 'duplicate', key };
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      // After the push the stack holds every level around this one: it is at depth stack.length + 1.
      if (top) stack.push(top);
      if (stack.length >= MAX_JSON_DEPTH) return { kind: 'depth' };
      top = { keys: c === 0x7b ? new Set() : undefined, expectKey: c === 0x7b };
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      top = stack.pop();
    } else if (c === 0x2c /* , */ && top?.keys) {
      top.expectKey = true;
    }
  }
  return undefined;
}

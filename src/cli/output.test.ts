import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtTime, safeText, table } from './output.js';

test('a table shows control characters in cells as escapes, so a terminal escape in a cell cannot hide what follows', () => {
  const out = table([['a\u001b[8mhidden', 'x\ny']], ['A', 'B']);
  // eslint-disable-next-line no-control-regex -- no raw control character but the line ends
  assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(out), JSON.stringify(out));
  assert.ok(out.includes('a\\u001b[8mhidden'), out);
  assert.ok(out.includes('x\\u000ay'), out);
  assert.equal(out.split('\n').length, 4, 'header, rule, one row, end');
});

test('text a person reads shows characters that print as nothing or reorder text as escapes', () => {
  assert.equal(safeText('"status\u200b": "draft"'), '"status\\u200b": "draft"');
  assert.equal(safeText('a\u202eb\u2066c\ufeffd\u00ade\u2060f'), 'a\\u202eb\\u2066c\\ufeffd\\u00ade\\u2060f');
  assert.equal(safeText('a\u3164b\u034fc\ufe0fd\u{e0041}e'), 'a\\u3164b\\u034fc\\ufe0fd\\u{e0041}e');
  // Letters of other scripts are kept as they are.
  assert.equal(safeText('Café Ωμέγα 日本'), 'Café Ωμέγα 日本');
});

test('fmtTime prints a time a Date cannot hold as its number (a key stored before such times were refused still lists)', () => {
  assert.equal(fmtTime(0), '1970-01-01T00:00:00Z');
  assert.equal(fmtTime(8641795834335333), '8641795834335333');
  assert.equal(fmtTime(null), '-');
});

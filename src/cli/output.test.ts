import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table } from './output.js';

test('a table shows control characters in cells as escapes, so a terminal escape in a cell cannot hide what follows', () => {
  const out = table([['a\u001b[8mhidden', 'x\ny']], ['A', 'B']);
  // eslint-disable-next-line no-control-regex -- no raw control character but the line ends
  assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(out), JSON.stringify(out));
  assert.ok(out.includes('a\\u001b[8mhidden'), out);
  assert.ok(out.includes('x\\u000ay'), out);
  assert.equal(out.split('\n').length, 4, 'header, rule, one row, end');
});

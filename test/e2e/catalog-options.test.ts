import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { compareOptions, readGhostControllerOptions } from '../../src/catalog/check-options.js';
import { ensureInstalled } from '../../src/lab/install.js';
import { labPaths } from '../../src/lab/paths.js';

// The query options the gateway forwards are the ones Ghost's own controllers read (the lab's install; no Ghost runs).
test('the catalog’s options table equals the options and data lists of the installed Ghost’s controllers', async () => {
  const p = labPaths();
  await ensureInstalled(p, (l) => process.stderr.write(`${l}\n`));
  const ghost = readGhostControllerOptions(p.ghostDir);
  assert.ok(ghost.size > 200, `read ${ghost.size} controller methods`);
  assert.deepEqual(compareOptions(loadCatalog(), ghost), []);
  // And the comparison can fail: a catalog that forwards an option Ghost does not read is caught.
  const wrong = loadCatalog();
  const edit = wrong.routes.find((r) => r.method === 'PUT' && r.path === '/posts/:id')!;
  const tampered = {
    ...wrong,
    routes: wrong.routes.map((r) =>
      r === edit ? { ...r, options: { options: new Set([...(r.options.options ?? []), 'god_mode']), data: r.options.data } } : r,
    ),
  };
  assert.deepEqual(compareOptions(tampered, ghost), [
    'PUT /posts/:id: options are ' + [...(edit.options.options ?? [])].sort().join(',') + ' in Ghost',
  ]);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../store.contract.js';
import { openSqliteStore } from './sqlite-store.js';

// Each store opens a fresh file; the second opener reaches the same file through another connection.
const paths = new WeakMap<object, string>();
storeContract(
  'sqlite',
  async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ghostgate-store-')), 'test.db');
    const store = openSqliteStore(path);
    paths.set(store, path);
    return store;
  },
  async (first) => openSqliteStore(paths.get(first)!),
);

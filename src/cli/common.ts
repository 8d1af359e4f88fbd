import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '../config/config.js';
import { openStore } from '../main.js';
import type { Store } from '../store/store.js';
import { CliError } from './output.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

export function configFrom(opts: GlobalOpts): Config {
  return loadConfig(opts.config).config;
}

export async function withStore<T>(opts: GlobalOpts, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const store = openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** Reads a credential from a file, or from standard input when the path is `-`; never from argv. */
export function readSecretInput(path: string): string {
  const text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  const value = text.trim();
  if (!/^[0-9a-f]{24}:[0-9a-f]{64}$/.test(value)) throw new CliError('the credential must be <24 hex id>:<64 hex secret>');
  return value;
}

import { KEY_PATTERN } from '../secrets/keys.js';
import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '../config/config.js';
import { openStore } from '../admin/context.js';
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
  const store = await openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** Reads a file the user named, with a plain message instead of a raw ENOENT when it cannot. */
export function readUserFile(path: string | 0, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'there is no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (e as Error).message;
    throw new CliError(`${what} ${path === 0 ? '(standard input)' : path} cannot be read: ${why}`);
  }
}

/** Reads a credential from a file, or from standard input when the path is `-`; never from argv. */
export function readSecretInput(path: string, what = 'the credential file'): string {
  const text = readUserFile(path === '-' ? 0 : path, what);
  const value = text.trim();
  if (!KEY_PATTERN.test(value)) throw new CliError('the credential must be <24 hex id>:<64 hex secret>');
  return value;
}

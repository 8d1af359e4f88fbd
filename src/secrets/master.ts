import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { MasterSecret } from './keys.js';

/**
 * Loads the master secret: GHOSTGATE_MASTER_SECRET, else the file, which must
 * be readable by its owner only (like ssh refuses a world-readable key).
 */
export function loadMasterSecret(config: Config): MasterSecret {
  if (config.masterSecret) return new MasterSecret(config.masterSecret);
  const file = config.masterSecretFile;
  if (!existsSync(file))
    throw new Error(`master secret file ${file} does not exist (run \`ghostgate init\`, or set GHOSTGATE_MASTER_SECRET)`);
  const mode = statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new Error(`master secret file ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  }
  return new MasterSecret(readFileSync(file, 'utf8'));
}

export function writeMasterSecretFile(file: string): void {
  writeFileSync(file, MasterSecret.generateHex() + '\n', { mode: 0o600, flag: 'wx' });
}

/**
 * The upstream credential is kept in the store sealed with AES-256-GCM under a
 * key derived from the master secret, so neither the database nor the config
 * file holds it in plain text.
 */
const SEAL_PURPOSE = 'upstream-credential';

/** `purpose` separates keys (the upstream credential, webhook secrets); `aad` binds a sealed value to its row. */
export interface SealOptions {
  readonly purpose?: string;
  readonly aad?: string;
}

export function seal(master: MasterSecret, plaintext: string, o: SealOptions = {}): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master.subKey(o.purpose ?? SEAL_PURPOSE), iv);
  if (o.aad !== undefined) cipher.setAAD(Buffer.from(o.aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

export function unseal(master: MasterSecret, sealed: string, o: SealOptions = {}): string {
  const [v, iv, tag, ct] = sealed.split(':');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('sealed value has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', master.subKey(o.purpose ?? SEAL_PURPOSE), Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  if (o.aad !== undefined) decipher.setAAD(Buffer.from(o.aad, 'utf8'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`the sealed ${o.purpose ?? 'upstream credential'} does not open with this master secret`);
  }
}

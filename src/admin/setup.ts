import { existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import type { UpstreamCredentialInfo } from '../catalog/permissions.js';
import { configFromDocument, storeLabel, type Config } from '../config/config.js';
import { loadMasterSecret, seal, writeMasterSecretFile } from '../secrets/master.js';
import type { Store } from '../store/store.js';
import { discoverUpstreamRole, openStore, UPSTREAM_SETTING } from './context.js';
import { AdminError } from './errors.js';

/**
 * Setting a gateway up and changing the credential it holds: `ghostgate init`
 * and `ghostgate upstream set|rotate`. Everything is validated (the config,
 * the folders, the credential with Ghost) before anything is written, so a
 * refused command leaves nothing behind.
 */
export interface InitInput {
  /** The config file to write (absolute). */
  readonly file: string;
  readonly upstreamUrl: string;
  readonly upstreamKind: string;
  /** The upstream credential, read by the caller (never from argv). */
  readonly upstreamKey?: string;
  readonly db: string;
  readonly host: string;
  readonly port: number;
  /** Do not ask Ghost whether the credential works (no network at set-up time). */
  readonly offline?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export async function initWorkspace(input: InitInput) {
  if (existsSync(input.file)) throw new AdminError('INVALID', `${input.file} exists already; remove it or pass --config to write another`);
  const doc = {
    listen: { host: input.host, port: input.port },
    upstream: { url: input.upstreamUrl, kind: input.upstreamKind },
    store: { driver: 'sqlite', path: input.db },
    masterSecretFile: 'master.key',
  };
  const config = configFromDocument(doc, dirname(input.file), input.env ?? process.env, input.file);
  for (const dir of new Set([dirname(input.file), dirname(config.store.path), dirname(config.masterSecretFile)])) {
    if (!existsSync(dir)) throw new AdminError('INVALID', `the folder ${dir} does not exist`);
  }
  const upstream = input.upstreamKey && !input.offline ? await checkWithGhost(config, input.upstreamKey) : undefined;
  writeFileSync(input.file, stringify(doc), { flag: 'wx' });
  if (!config.masterSecret && !existsSync(config.masterSecretFile)) writeMasterSecretFile(config.masterSecretFile);
  const master = loadMasterSecret(config);
  const store = await openStore(config);
  try {
    if (input.upstreamKey) await store.settings.set(UPSTREAM_SETTING, seal(master, input.upstreamKey));
  } finally {
    await store.close();
  }
  return {
    config: input.file,
    masterSecretFile: config.masterSecretFile,
    database: storeLabel(config.store),
    upstreamStored: input.upstreamKey !== undefined,
    upstream: upstream ?? null,
  };
}

/** The credential's kind and role as Ghost reports them; AdminError when Ghost refuses it or cannot be reached. */
export async function checkWithGhost(config: Config, key: string): Promise<UpstreamCredentialInfo> {
  try {
    return await discoverUpstreamRole(config, key, true);
  } catch (e) {
    throw new AdminError(
      'INVALID',
      `Ghost at ${config.upstream.url} did not accept the credential: ${(e as Error).message} (use --offline to skip this check)`,
    );
  }
}

export interface UpstreamContext {
  readonly config: Config;
  readonly store: Store;
}

/** Stores a credential, sealed; running gateways reload it within upstreamReloadMs unless the configuration pins a key. */
export async function setUpstream(ctx: UpstreamContext, key: string) {
  await ctx.store.settings.set(UPSTREAM_SETTING, seal(loadMasterSecret(ctx.config), key));
  const pinned = Boolean(ctx.config.upstream.key);
  return { stored: true, id: key.split(':')[0]!, reloadMs: pinned ? null : ctx.config.upstreamReloadMs, pinnedByConfig: pinned };
}

/** Checks a new credential with Ghost first, then stores it: a credential Ghost refuses is never installed. */
export async function rotateUpstream(ctx: UpstreamContext, key: string) {
  let info: UpstreamCredentialInfo;
  try {
    info = await discoverUpstreamRole(ctx.config, key, true);
  } catch (e) {
    throw new AdminError('INVALID', `the new credential was not installed: ${(e as Error).message}`);
  }
  const stored = await setUpstream(ctx, key);
  return { rotated: true, id: stored.id, kind: info.kind, role: info.role, reloadMs: ctx.config.upstreamReloadMs };
}

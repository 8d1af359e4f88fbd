import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { ensureInstalled, LabError, type Progress } from './install.js';
import { freePort, isAlive, startGhost, stopGhost, waitForGhost } from './ghost-process.js';
import { GHOST_VERSION, labPaths, type LabPaths } from './paths.js';
import { login, provision, type LabState } from './provision.js';
import { KEY_PATTERN } from '../secrets/keys.js';

/**
 * `ghostgate lab up|down|reset|status`: a real Ghost 6.65 on 127.0.0.1 with
 * SQLite. `up` installs once (cached), starts Ghost, provisions a fresh site,
 * and keeps what it made in a state file; a second `up` reuses all of it.
 */
export { LabError };
export type { LabState };

export function readState(p: LabPaths): LabState | undefined {
  try {
    return JSON.parse(readFileSync(p.state, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function writeState(p: LabPaths, s: LabState): void {
  const tmp = `${p.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, p.state);
}

/** One lab operation at a time per machine (tests and a shell may race). */
async function withLock<T>(p: LabPaths, fn: () => Promise<T>): Promise<T> {
  mkdirSync(p.home, { recursive: true });
  const until = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(p.lock);
      writeFileSync(`${p.lock}/pid`, String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(`${p.lock}/pid`, 'utf8'));
      } catch {
        /* being written */
      }
      const age = Date.now() - (existsSync(p.lock) ? statSync(p.lock).mtimeMs : 0);
      if ((holder && !isAlive(holder)) || (!holder && age > 10_000)) rmSync(p.lock, { recursive: true, force: true });
      else if (Date.now() > until)
        throw new LabError(`another lab operation holds ${p.lock}`, 'wait for it, or remove the folder if no lab command runs');
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(p.lock, { recursive: true, force: true });
  }
}

async function healthy(s: LabState): Promise<boolean> {
  if (!isAlive(s.pid)) return false;
  try {
    return (await fetch(`${s.url}/ghost/api/admin/site/`, { signal: AbortSignal.timeout(3000) })).status === 200;
  } catch {
    return false;
  }
}

export async function labUp(progress: Progress, p: LabPaths = labPaths()): Promise<LabState> {
  return withLock(p, async () => {
    await ensureInstalled(p, progress);
    const existing = readState(p);
    if (existing && (await healthy(existing))) return existing;
    if (existing) await stopGhost(existing.pid);
    const provisioned = existing !== undefined && existsSync(p.db);
    if (!provisioned) rmSync(p.siteDir, { recursive: true, force: true });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    progress(
      `lab: starting Ghost ${GHOST_VERSION} on ${url}${provisioned ? ' (existing site)' : ' (new site; the first boot creates the database, about 20s)'}`,
    );
    const pid = startGhost(p, port);
    await waitForGhost(p, url, pid, 180_000, progress);
    const base = {
      ghostVersion: GHOST_VERSION,
      url,
      adminApiUrl: `${url}/ghost/api/admin/`,
      port,
      pid,
      ghostDir: p.ghostDir,
      nodeBin: p.nodeBin,
      siteDir: p.siteDir,
      db: p.db,
      log: p.log,
    };
    let state: LabState;
    try {
      state = provisioned ? { ...existing, ...base } : await provision(p, url, base, progress);
    } catch (e) {
      await stopGhost(pid);
      throw e;
    }
    writeState(p, state);
    progress(`lab: Ghost is up at ${url}`);
    return state;
  });
}

/**
 * Regenerates the lab integration's Admin API key in Ghost, as a site owner
 * does in Ghost Admin (core/server/models/api-key.js refreshSecret: same key id, new secret, webhooks kept),
 * and records the new key in the lab state. Returns it.
 */
export async function regenerateIntegrationKey(p: LabPaths = labPaths()): Promise<string> {
  return withLock(p, async () => {
    const s = readState(p);
    if (!s) throw new LabError('the lab is not provisioned', 'run `ghostgate lab up`');
    const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
    const keyId = s.integration.adminKey.split(':')[0];
    // CASE: no ?include here: Ghost passes it on to ApiKey.edit, which fails ("api_keys is not defined on the model").
    const r = await owner.call('POST', `/integrations/${s.integration.id}/api_key/${keyId}/refresh/`, {
      integrations: [{ id: s.integration.id }],
    });
    const admin = (r.json.integrations?.[0]?.api_keys ?? []).find((k: { type: string }) => k.type === 'admin') as
      { secret?: string } | undefined;
    if (!admin?.secret || !KEY_PATTERN.test(admin.secret))
      throw new LabError('Ghost did not return the regenerated key', '`ghostgate lab reset`');
    writeState(p, { ...s, integration: { ...s.integration, adminKey: admin.secret } });
    return admin.secret;
  });
}

export async function labDown(p: LabPaths = labPaths()): Promise<{ stopped: boolean }> {
  return withLock(p, async () => {
    const s = readState(p);
    const was = isAlive(s?.pid);
    await stopGhost(s?.pid);
    return { stopped: was };
  });
}

export async function labReset(progress: Progress, p: LabPaths = labPaths()): Promise<LabState> {
  await withLock(p, async () => {
    await stopGhost(readState(p)?.pid);
    rmSync(p.siteDir, { recursive: true, force: true });
  });
  return labUp(progress, p);
}

export async function labStatus(
  p: LabPaths = labPaths(),
): Promise<{ installed: boolean; running: boolean; state: LabState | undefined; home: string }> {
  const { isInstalled } = await import('./install.js');
  const s = readState(p);
  return { installed: isInstalled(p), running: s ? await healthy(s) : false, state: s, home: p.home };
}

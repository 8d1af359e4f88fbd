import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the lab keeps Node 22, Ghost and the site: outside the repository,
 * under the user's cache directory, reused across runs.
 * GHOSTGATE_LAB_DIR overrides the whole folder; GHOSTGATE_LAB_SITE names the
 * site folder inside it (default `site`), so several independent sites (each
 * its own Ghost process, database and state) share one install.
 */
export const GHOST_VERSION = '6.65.0';
export const NODE_VERSION = '22.23.3';

export interface LabPaths {
  readonly home: string;
  readonly nodeDir: string;
  readonly nodeBin: string;
  readonly ghostRoot: string;
  readonly ghostDir: string;
  readonly installedMarker: string;
  readonly siteDir: string;
  readonly db: string;
  readonly contentDir: string;
  readonly log: string;
  readonly state: string;
  readonly lock: string;
}

export function labHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GHOSTGATE_LAB_DIR) return env.GHOSTGATE_LAB_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ghostgate', 'lab');
}

export function labSite(env: NodeJS.ProcessEnv = process.env): string {
  const site = env.GHOSTGATE_LAB_SITE || 'site';
  if (!/^[a-z0-9][a-z0-9_-]{0,40}$/.test(site)) throw new Error(`GHOSTGATE_LAB_SITE "${site}" is not a folder name (a-z, 0-9, - and _)`);
  return site;
}

export function labPaths(home = labHome(), site = labSite()): LabPaths {
  const nodeDir = join(home, `node-${NODE_VERSION}`, 'package');
  const ghostRoot = join(home, `ghost-${GHOST_VERSION}`);
  const siteDir = join(home, site);
  return {
    home,
    nodeDir,
    nodeBin: join(nodeDir, 'bin', 'node'),
    ghostRoot,
    ghostDir: join(ghostRoot, 'package'),
    installedMarker: join(ghostRoot, '.ghostgate-installed'),
    siteDir,
    db: join(siteDir, 'ghost.db'),
    contentDir: join(siteDir, 'content'),
    log: join(siteDir, 'ghost.log'),
    state: join(siteDir, 'state.json'),
    lock: join(home, '.lock'),
  };
}

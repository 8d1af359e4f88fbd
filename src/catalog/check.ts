import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from './catalog.js';

/**
 * Reads the routes an installed Ghost registers (its admin routes file) and
 * compares them with the catalog. This is how a new Ghost version is caught:
 * until a route is in the catalog, the gateway refuses it.
 */
export const ADMIN_ROUTES_FILE = 'core/server/web/api/endpoints/admin/routes.js';

export interface RegisteredRoute {
  readonly method: string;
  readonly path: string;
  /** `controller.method` from `http(api.controller.method)`, when the call names one. */
  readonly controller: string | undefined;
}

const CALL = /\b([A-Za-z_$][\w$]*)\.(get|post|put|delete|del)\(\s*(['"`])([^'"`]+)\3/g;
const MOUNT = /\b([A-Za-z_$][\w$]*)\.use\(\s*(['"`])([^'"`]+)\2\s*,\s*([A-Za-z_$][\w$]*)\s*\)/g;
const CONTROLLER = /http\(\s*api\.([\w$]+)\.([\w$]+)\s*\)/;

/** Parses Ghost's routes.js: `router.get('/posts', mw..., http(api.posts.browse))`, including sub-routers mounted with `router.use('/prefix', sub)`. */
export function parseGhostRoutes(source: string): RegisteredRoute[] {
  const prefixes = new Map<string, string>();
  for (const m of source.matchAll(MOUNT)) prefixes.set(m[4]!, m[3]!);
  const calls = [...source.matchAll(CALL)];
  return calls.map((m, i) => {
    const end = i + 1 < calls.length ? calls[i + 1]!.index : source.length;
    const body = source.slice(m.index, end);
    const c = CONTROLLER.exec(body);
    const method = m[2] === 'del' ? 'DELETE' : m[2]!.toUpperCase();
    const prefix = prefixes.get(m[1]!) ?? '';
    return { method, path: normalise(prefix + m[4]!), controller: c ? `${c[1]}.${c[2]}` : undefined };
  });
}

function normalise(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

export interface CheckResult {
  readonly ghostVersion: string | undefined;
  readonly registered: number;
  /** Registered by Ghost, absent from the catalog. */
  readonly missing: RegisteredRoute[];
  /** In the catalog, not registered by Ghost. */
  readonly stale: { method: string; path: string }[];
}

export function compareRoutes(catalog: Catalog, registered: readonly RegisteredRoute[]): Omit<CheckResult, 'ghostVersion'> {
  const inCatalog = new Set(catalog.routes.map((r) => `${r.method} ${normalise(r.path)}`));
  const inGhost = new Set(registered.map((r) => `${r.method} ${r.path}`));
  return {
    registered: inGhost.size,
    missing: registered.filter((r) => !inCatalog.has(`${r.method} ${r.path}`)),
    stale: catalog.routes.filter((r) => !inGhost.has(`${r.method} ${normalise(r.path)}`)).map((r) => ({ method: r.method, path: r.path })),
  };
}

export function checkGhostDir(catalog: Catalog, ghostDir: string): CheckResult {
  const file = join(ghostDir, ADMIN_ROUTES_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: --ghost-dir must be an installed Ghost (the npm package ghost, i.e. ghost/core)`);
  let ghostVersion: string | undefined;
  try {
    ghostVersion = (JSON.parse(readFileSync(join(ghostDir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    ghostVersion = undefined;
  }
  return { ghostVersion, ...compareRoutes(catalog, parseGhostRoutes(readFileSync(file, 'utf8'))) };
}

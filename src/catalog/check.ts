import type { Catalog } from './catalog.js';
import { loadGhostAdminRouter, type RegisteredRoute } from './ghost-router.js';

/**
 * Compares the catalog with the routes an installed Ghost registers, read by
 * loading Ghost's own router (ghost-router.ts) rather than by parsing its
 * source. This is how a new Ghost version is caught: until a route is in the
 * catalog, the gateway refuses it; and since Ghost runs the first matching
 * route, the catalog must also keep Ghost's registration order and name the
 * controller Ghost runs.
 */
export type { RegisteredRoute };

export interface CheckResult {
  readonly ghostVersion: string | undefined;
  readonly registered: number;
  /** Registered by Ghost, absent from the catalog. */
  readonly missing: RegisteredRoute[];
  /** In the catalog, not registered by Ghost. */
  readonly stale: { method: string; path: string }[];
  /** In both, but the catalog lists it before a route that can match the same paths and that Ghost registers ahead of it. */
  readonly misordered: { method: string; path: string }[];
  /** In both, but the catalog's `resource:action` is not the controller Ghost runs. */
  readonly mismatched: { method: string; path: string; scope: string; controller: string | undefined }[];
}

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** Ghost's controller `commentReplies.read` as a catalog scope: `comment_replies:read`. */
export function controllerScope(controller: string): string {
  const [name, method] = controller.split('.');
  return `${(name ?? '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}:${method ?? ''}`;
}

/** Whether two route patterns can match the same path (each parameter matches one segment). */
function overlap(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s.startsWith(':') || b[i]!.startsWith(':') || s === b[i]);
}

export function compareRoutes(catalog: Catalog, registered: readonly RegisteredRoute[]): Omit<CheckResult, 'ghostVersion'> {
  const inCatalog = new Set(catalog.routes.map(key));
  const position = new Map(registered.map((r, i) => [key(r), i] as const));
  const misordered: CheckResult['misordered'] = [];
  const mismatched: CheckResult['mismatched'] = [];
  const both = catalog.routes.filter((r) => position.has(key(r)));
  both.forEach((r, n) => {
    const i = position.get(key(r))!;
    // The first matching route runs: order matters between routes that can match one path.
    if (
      both.slice(n + 1).some((later) => position.get(key(later))! < i && overlap(r.segments, later.segments) && r.method === later.method)
    ) {
      misordered.push({ method: r.method, path: r.path });
    }
    const controller = registered[i]!.controller;
    if (controller === undefined || controllerScope(controller) !== r.scope)
      mismatched.push({ method: r.method, path: r.path, scope: r.scope, controller });
  });
  return {
    registered: position.size,
    missing: registered.filter((r) => !inCatalog.has(key(r))),
    stale: catalog.routes.filter((r) => !position.has(key(r))).map((r) => ({ method: r.method, path: r.path })),
    misordered,
    mismatched,
  };
}

export function checkGhostDir(catalog: Catalog, ghostDir: string): CheckResult {
  const ghost = loadGhostAdminRouter(ghostDir);
  return { ghostVersion: ghost.ghostVersion, ...compareRoutes(catalog, ghost.routes) };
}

import { loadCatalog, type RouteEntry } from '../catalog/catalog.js';
import { loadEscalation } from '../catalog/escalation.js';

/**
 * The route catalog as the admin side shows it: `ghostgate catalog` and the
 * management API's /catalog routes (the console's scope picker groups scopes
 * by resource as Ghost Admin groups its settings).
 */
export function routeJson(r: RouteEntry) {
  return {
    method: r.method,
    path: r.path,
    scope: r.scope,
    resource: r.resource,
    action: r.action,
    ghost_permission: r.permission.kind === 'check' ? `${r.permission.object}.${r.permission.action}` : r.permission.kind,
    unsafe_attrs: [...r.unsafeAttrs],
    integration_key: r.integrationKey as string,
    staff_token: r.staffToken as string,
    flags: [...r.flags] as string[],
  };
}

export function catalogRoutes() {
  const c = loadCatalog();
  return { ghost_version: c.ghostVersion, routes: c.routes.map(routeJson) };
}

/** Every scope, grouped by resource (sorted), with the routes it allows and whether it escalates (docs/security.md). */
export function scopesByResource() {
  const c = loadCatalog();
  const escalation = loadEscalation();
  return c.resources.map((resource) => {
    const routes = c.routes.filter((r) => r.resource === resource);
    const scopes = [...new Set(routes.map((r) => r.scope))].sort();
    return {
      resource,
      scopes: scopes.map((scope) => ({
        scope,
        action: scope.split(':')[1]!,
        routes: routes.filter((r) => r.scope === scope).map((r) => `${r.method} ${r.path}`),
        escalation: escalation.has(scope),
      })),
    };
  });
}

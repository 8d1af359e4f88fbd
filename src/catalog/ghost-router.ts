import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';

/**
 * Ghost's own Admin API router, loaded from an installed Ghost without
 * booting it: its routes file (ghost/core/core/server/web/api/endpoints/admin/routes.js)
 * and its Express wrapper (ghost/core/core/shared/express.js) run unchanged,
 * with Ghost's own Express; what they require besides Express is answered
 * with stubs: every middleware passes the request on, and `http(api.x.y)`
 * becomes a handler that reports that controller `x.y` ran, with the params
 * Express decoded. Nothing of Ghost's services, database or config starts.
 *
 * Used by `ghostgate catalog check` (the routes Ghost registers, in order)
 * and by the routing differential test (which controller Ghost runs for a path).
 */
export const ADMIN_ROUTES_FILE = 'core/server/web/api/endpoints/admin/routes.js';
const SHARED_EXPRESS_FILE = 'core/shared/express.js';
const API_INDEX_FILE = 'core/server/api/index.js';
const VERSION_REWRITES_FILE = 'core/server/services/api-version-compatibility/mw-version-rewrites.js';
/** The files of Ghost (besides its node_modules) the loader reads. */
export const GHOST_ROUTER_FILES = [
  ADMIN_ROUTES_FILE,
  SHARED_EXPRESS_FILE,
  API_INDEX_FILE,
  VERSION_REWRITES_FILE,
  'core/server/services/api-version-compatibility/legacy-api-path-match.js',
  'package.json',
] as const;

export interface RegisteredRoute {
  readonly method: string;
  /** As registered, sub-router prefixes joined, without a trailing slash. */
  readonly path: string;
  /** `controller.method` of `http(api.controller.method)`, when the route ends in one. */
  readonly controller: string | undefined;
}

export type Dispatched =
  | { readonly ran: true; readonly controller: string; readonly params: Readonly<Record<string, string>> }
  | { readonly ran: false; readonly status: number };

export interface GhostAdminRouter {
  readonly ghostVersion: string | undefined;
  /** Every route in registration order; a mounted sub-router's routes at its mount position. */
  readonly routes: readonly RegisteredRoute[];
  /** Runs a request target (`/ghost/api/...`) through Ghost's mounts, its version rewrite and its admin router. */
  dispatch(method: string, url: string): Promise<Dispatched>;
}

type AnyFn = (...args: unknown[]) => unknown;
type Require = (request: string) => unknown;
interface RouterLike extends AnyFn {
  stack: Layer[];
  use: AnyFn;
}
interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: { handle: AnyFn & { ghostController?: string } }[] };
  handle: AnyFn & { stack?: Layer[] };
  regexp: RegExp & { fast_slash?: boolean };
}

/** Runs one CommonJS file of Ghost with Node's module wrapper and a `require` that `resolve` answers. */
function runGhostFile(file: string, resolve: (request: string, real: NodeJS.Require) => unknown): unknown {
  const wrapper = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, 'utf8')}\n})`;
  const fn = runInThisContext(wrapper, { filename: file }) as (
    e: unknown,
    r: Require,
    m: { exports: unknown },
    f: string,
    d: string,
  ) => void;
  const real = createRequire(file);
  const module = { exports: {} as unknown };
  fn.call(module.exports, module.exports, (request) => resolve(request, real), module, file, dirname(file));
  return module.exports;
}

/** A stub for any of Ghost's middleware modules: called as middleware it calls next(); called any other way it is a factory. */
function passthrough(): unknown {
  const target = function stub(_req: unknown, _res: unknown, _next: unknown): void {};
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'symbol' || prop in t) return Reflect.get(t, prop) as unknown;
      if (prop === 'then') return undefined;
      return passthrough();
    },
    apply(_t, _this, args: unknown[]) {
      if (args.length === 3 && typeof args[2] === 'function') {
        (args[2] as () => void)();
        return;
      }
      return passthrough();
    },
  });
}

const REPORT = Symbol('ghostgate.report');

/** The path a mount layer was registered with, read back from its pattern (`^\/members\/metafields\/?(?=\/|$)`). */
function mountPath(re: RegExp): string {
  const m = /^\^((?:\\\/[A-Za-z0-9_-]+)+)\\\/\?\(\?=\\\/\|\$\)$/i.exec(re.source);
  if (!m) throw new Error(`cannot read the mount path of ${re.source}`);
  return m[1]!.replace(/\\\//g, '/');
}

function walk(stack: readonly Layer[], prefix: string, out: RegisteredRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const handlers = layer.route.stack;
      const controller = handlers[handlers.length - 1]?.handle.ghostController;
      const path = (prefix + layer.route.path).replace(/(.)\/+$/, '$1');
      for (const m of Object.keys(layer.route.methods)) out.push({ method: m.toUpperCase(), path, controller });
    } else if (Array.isArray(layer.handle.stack) && !layer.regexp.fast_slash) {
      walk(layer.handle.stack, prefix + mountPath(layer.regexp), out);
    }
  }
}

export function loadGhostAdminRouter(ghostDir: string): GhostAdminRouter {
  const routesFile = join(ghostDir, ADMIN_ROUTES_FILE);
  if (!existsSync(routesFile))
    throw new Error(`${routesFile} not found: the folder must be an installed Ghost (the npm package ghost, i.e. ghost/core)`);
  let ghostVersion: string | undefined;
  try {
    ghostVersion = (JSON.parse(readFileSync(join(ghostDir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    ghostVersion = undefined;
  }

  // Ghost's Express wrapper, unchanged: express.Router(options) plus Sentry's error handler.
  const sharedExpress = runGhostFile(join(ghostDir, SHARED_EXPRESS_FILE), (request, real) => {
    if (request === 'express') return real('express');
    if (request === './sentry') return { errorHandler: (err: unknown, _req: unknown, _res: unknown, next: AnyFn) => next(err) };
    if (request.endsWith('/config')) return { get: () => undefined };
    return passthrough();
  }) as { Router: (name: string, options?: unknown) => RouterLike; _express: { Router: (options?: unknown) => RouterLike } };

  const endpoints = new Proxy(
    {},
    {
      get: (_t, ctrl) =>
        typeof ctrl === 'string'
          ? new Proxy({}, { get: (_u, method) => (typeof method === 'string' ? `${ctrl}.${method}` : undefined) })
          : undefined,
    },
  );
  const http = (controller: unknown) => {
    const handler = (req: { params: Record<string, string> }, res: { [REPORT]?: (d: Dispatched) => void }) => {
      res[REPORT]?.({ ran: true, controller: String(controller), params: { ...req.params } });
    };
    return Object.assign(handler, { ghostController: String(controller) });
  };
  const apiIndex = join(ghostDir, API_INDEX_FILE);
  const routesFactory = runGhostFile(routesFile, (request, real) => {
    if (request === '@tryghost/api-framework') return { http };
    let file: string;
    try {
      file = real.resolve(request);
    } catch {
      return passthrough();
    }
    if (file === join(ghostDir, SHARED_EXPRESS_FILE)) return sharedExpress;
    if (file === apiIndex) return { endpoints };
    return passthrough();
  }) as () => RouterLike;
  const admin = routesFactory();
  const routes: RegisteredRoute[] = [];
  walk(admin.stack, '', routes);

  // The mounts in front of it: backendApp.lazyUse('/ghost/api', ...) (core/server/web/parent/backend.js),
  // then versionRewrites and apiApp.lazyUse('/admin/', ...) (core/server/web/api/app.js). Express apps
  // mount through their router exactly as a Router does, with Express's defaults (case-insensitive).
  const versionRewrites = runGhostFile(join(ghostDir, VERSION_REWRITES_FILE), (request, real) => {
    if (request.endsWith('url-utils')) return { default: { urlJoin: (...p: string[]) => p.join('/'), urlFor: () => '/ghost/' } };
    if (request === './legacy-api-path-match') return runGhostFile(real.resolve(request), (r, realInner) => realInner(r));
    return real(request);
  });
  const express = sharedExpress._express;
  const top = express.Router();
  const api = express.Router();
  top.use('/ghost/api', api);
  api.use(versionRewrites);
  api.use('/admin/', admin);

  return {
    ghostVersion,
    routes,
    dispatch(method, url) {
      return new Promise<Dispatched>((resolve) => {
        const req = { method, url, originalUrl: url, headers: {} as Record<string, string> };
        const res = { locals: {}, [REPORT]: resolve, header: () => res, set: () => res, setHeader: () => undefined };
        top(req, res, (err?: { status?: number; statusCode?: number }) => {
          resolve({ ran: false, status: err ? (err.status ?? err.statusCode ?? 500) : 404 });
        });
      });
    },
  };
}

import type { z } from 'zod';
import type { AdminActor } from '../admin/actor.js';
import type { ApiDeps } from './deps.js';

/**
 * The management API's routes as data: each declares its method, path,
 * zod schemas (path parameters, query, body, answer) and the admin service
 * it calls. The dispatcher (handler.ts) validates with these schemas and the
 * OpenAPI document (openapi.ts) is generated from the same ones, so the two
 * cannot drift; openapi.test.ts checks every route against the document.
 *
 * Why a router of our own (about 40 lines) rather than a framework's: the
 * API lives inside the gateway's node:http server beside the proxy, the
 * health probes, MCP and the webhook relay, which dispatch by path before
 * any of them; a framework (Fastify, Hono) would bring a second request
 * lifecycle and body parser into that server. What a router must do here is
 * small: match `/segment/:param` paths, tell 404 from 405, and expose its
 * table to the OpenAPI generator.
 */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly actor: AdminActor;
  readonly now: number;
}

/** What a handler answers: a JSON body, or text (the audit export); `target` is the id acted on, for the audit. */
export type ApiResult<R> =
  | { readonly body: R; readonly target?: string | null }
  | { readonly text: string; readonly type: string; readonly headers?: Record<string, string> };

export interface ApiRoute<P = unknown, Q = unknown, B = unknown, R = unknown> {
  readonly method: ApiMethod;
  /** Relative to /ghostgate/v1, e.g. `/keys/:id/rotate`. */
  readonly path: string;
  /** `resource.verb`, as the audit and the OpenAPI operationId name it. */
  readonly action: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  /** The success answer's JSON body; absent for a text answer (`produces`). */
  readonly response?: z.ZodType<R>;
  /** Media types of a text answer, instead of JSON. */
  readonly produces?: readonly string[];
  readonly status?: 200 | 201;
  handle(deps: ApiDeps, input: ApiInput<P, Q, B>): Promise<ApiResult<R>>;
}

/** Declares a route with its types inferred from its schemas. */
export function route<P, Q, B, R>(r: ApiRoute<P, Q, B, R>): ApiRoute {
  return r;
}

export const API_PREFIX = '/ghostgate/v1';

export type Match =
  | { readonly ok: true; readonly route: ApiRoute; readonly params: Record<string, string> }
  | { readonly ok: false; readonly code: 'API_ROUTE_UNKNOWN' }
  | { readonly ok: false; readonly code: 'API_METHOD_NOT_ALLOWED'; readonly allow: string[] };

const segments = (path: string) => path.split('/').filter((s) => s !== '');

/** The route for a method and a path under /ghostgate/v1 (a trailing slash is the same path, as in Ghost). */
export function matchRoute(routes: readonly ApiRoute[], method: string, pathname: string): Match {
  if (!pathname.startsWith(`${API_PREFIX}/`) && pathname !== API_PREFIX) return { ok: false, code: 'API_ROUTE_UNKNOWN' };
  const want = segments(pathname.slice(API_PREFIX.length));
  const allow: string[] = [];
  for (const r of routes) {
    const have = segments(r.path);
    if (have.length !== want.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < have.length && ok; i++) {
      const h = have[i]!;
      let w: string;
      try {
        w = decodeURIComponent(want[i]!);
      } catch {
        return { ok: false, code: 'API_ROUTE_UNKNOWN' };
      }
      if (h.startsWith(':')) params[h.slice(1)] = w;
      else ok = h === w;
    }
    if (!ok) continue;
    if (r.method === method) return { ok: true, route: r, params };
    allow.push(r.method);
  }
  return allow.length > 0 ? { ok: false, code: 'API_METHOD_NOT_ALLOWED', allow } : { ok: false, code: 'API_ROUTE_UNKNOWN' };
}

import type { IncomingHttpHeaders } from 'node:http';
import type { RouteEntry } from '../catalog/catalog.js';
import type { RouteMatcher } from '../catalog/matcher.js';
import type { UpstreamReach } from '../catalog/permissions.js';
import type { ErrorCode } from '../errors/errors.js';
import { compileGrant, type CompiledGrant } from '../grants/grant.js';
import type { MasterSecret } from '../secrets/keys.js';
import type { KeyRecord, Store } from '../store/store.js';
import { audienceFor, checkToken } from './authenticate/authenticate.js';
import { authorize } from './authorize/authorize.js';
import type { UpstreamCredential } from './forward/upstream.js';
import { resolveRoute, type ResolvedRoute } from './resolve-route/resolve.js';

/**
 * The request pipeline, in order (see README.md beside this file):
 *   resolve route -> authenticate -> authorize -> (forward, by the server)
 * Each stage returns a value; a refusal is `{ forward: false, code }`, never
 * an exception. Anything thrown is turned into a refusal by the server.
 */
export interface PipelineDeps {
  readonly matcher: RouteMatcher;
  readonly store: Store;
  readonly master: MasterSecret;
  /** Holder of the current upstream credential (replaced on upstream rotation). */
  readonly upstream: { current: UpstreamCredential; reach: (route: RouteEntry) => UpstreamReach };
  readonly ghostPath: string;
  readonly clockSkewS: number;
}

export type PipelineResult =
  | {
      forward: true;
      resolved: ResolvedRoute;
      key: KeyRecord | undefined;
      /** Authorization header for Ghost; undefined on Ghost's public routes. */
      upstreamAuthorization: string | undefined;
      pathAndQuery: string;
    }
  | {
      forward: false;
      code: ErrorCode;
      context: string;
      message?: string;
      help?: string;
      resolved?: ResolvedRoute;
      key?: KeyRecord;
    };

// Compiled grants, keyed by the grant document object of a key record.
const compiled = new WeakMap<object, CompiledGrant>();
function grantOf(key: KeyRecord): CompiledGrant {
  let g = compiled.get(key.grant);
  if (!g) compiled.set(key.grant, (g = compileGrant(key.grant)));
  return g;
}

export async function runPipeline(
  deps: PipelineDeps,
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  nowMs: number,
): Promise<PipelineResult> {
  // 1. Resolve: one canonical reading of the target; unknown routes stop here.
  const r = resolveRoute(deps.matcher, method, rawUrl, headers, deps.ghostPath);
  if (!r.ok) return { forward: false, code: r.code, context: r.context };
  const resolved = r.resolved;
  const { route, target } = resolved;
  const pathAndQuery = target.rawQuery === '' ? target.path : `${target.path}?${target.rawQuery}`;

  // CASE: GET /site is public in Ghost (publicAdminApi) and stays public here.
  if (route.flags.has('public')) {
    return { forward: true, resolved, key: undefined, upstreamAuthorization: undefined, pathAndQuery };
  }

  // 2. Authenticate: claims first (no I/O), then the key row, then the signature.
  const auth = headers.authorization;
  const t = checkToken(auth, target.version, nowMs, { clockSkewS: deps.clockSkewS });
  if (!t.ok) return { forward: false, code: t.code, context: t.context, resolved };
  const key = await deps.store.keys.get(t.keyId);
  if (!key) return { forward: false, code: 'KEY_UNKNOWN', context: 'no ghostgate key has this id', resolved };
  const sig = t.verify(deps.master.keySecret(key.id, key.generation));
  if (!sig.ok) return { forward: false, code: sig.code, context: sig.context, resolved };
  // Revocation is checked after the signature so that an unknown party learns nothing about a key id.
  if (key.status !== 'active') return { forward: false, code: 'KEY_REVOKED', context: 'the key was revoked', resolved, key };

  // 3. Authorize: the one decision function.
  const d = authorize({ grant: grantOf(key), route, upstream: deps.upstream.reach(route) });
  if (!d.allow) {
    const out: PipelineResult = { forward: false, code: d.code, message: d.message, context: d.context, resolved, key };
    if (d.help !== undefined) out.help = d.help;
    return out;
  }

  const upstreamAuthorization = `Ghost ${deps.upstream.current.token(audienceFor(target.version), nowMs)}`;
  return { forward: true, resolved, key, upstreamAuthorization, pathAndQuery };
}

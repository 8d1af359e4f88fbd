import type { IncomingMessage } from 'node:http';
import type { RouteEntry } from '../catalog/catalog.js';
import type { RouteMatcher } from '../catalog/matcher.js';
import type { UpstreamReach } from '../catalog/permissions.js';
import type { ErrorCode } from '../errors/errors.js';
import { compileGrant, type CompiledGrant } from '../grants/grant.js';
import type { MasterSecret } from '../secrets/keys.js';
import type { KeyRecord, Store } from '../store/store.js';
import { audienceFor, checkToken } from './authenticate/authenticate.js';
import { authorize, type Effects, type Need, type RequestFacts } from './authorize/authorize.js';
import { gatherEscalation } from './gather-escalation.js';
import type { UpstreamCredential } from './forward/upstream.js';
import { resolveRoute, type ResolvedRoute } from './resolve-route/resolve.js';
import { checkIp, checkWindow, secondsToUtcMidnight, utcDay, type RateLimiter } from './lifecycle/lifecycle.js';
import type { BlockList } from 'node:net';

/**
 * The request pipeline, in order (see README.md beside this file):
 *   resolve route -> authenticate -> authorize (gathering the facts it asks for)
 *   -> (forward, by the server)
 * Each stage returns a value; a refusal is `{ forward: false, code }`, never
 * an exception. Anything thrown is turned into a refusal by the server.
 */
export interface RecordFetcher {
  /** GET a record with the upstream credential: its JSON, null on 404; throws on anything else. */
  fetchRecord(path: string, authorization: string): Promise<Record<string, unknown> | null>;
}

export interface PipelineDeps {
  readonly matcher: RouteMatcher;
  readonly store: Store;
  readonly master: MasterSecret;
  /** Holder of the current upstream credential (replaced on upstream rotation). */
  readonly upstream: { current: UpstreamCredential; reach: (route: RouteEntry) => UpstreamReach };
  readonly records: RecordFetcher;
  readonly ghostPath: string;
  readonly clockSkewS: number;
  /** Largest JSON body the gateway reads to check it. */
  readonly maxInspectedBody: number;
  readonly rateLimiter: RateLimiter;
  /** Proxies whose X-Forwarded-For is believed. */
  readonly trustedProxies?: BlockList;
}

export type PipelineResult =
  | {
      forward: true;
      resolved: ResolvedRoute;
      key: KeyRecord | undefined;
      /** Authorization header for Ghost; undefined on Ghost's public routes. */
      upstreamAuthorization: string | undefined;
      pathAndQuery: string;
      /** The body as read and checked, when the gateway read it; else it is streamed. */
      body?: Buffer;
      effects: Effects;
      /** A use of a max-uses key taken for this request: settle it after Ghost answers. */
      reservedUse?: boolean;
      /** The key's parent, grandparent...: records a child creates are theirs too. */
      ancestors?: KeyRecord[];
    }
  | {
      forward: false;
      code: ErrorCode;
      context: string;
      message?: string;
      help?: string;
      resolved?: ResolvedRoute;
      key?: KeyRecord;
      retryAfterS?: number;
    };

// Compiled grants, keyed by the grant document object of a key record.
const compiled = new WeakMap<object, CompiledGrant>();
function grantOf(key: KeyRecord): CompiledGrant {
  let g = compiled.get(key.grant);
  if (!g) compiled.set(key.grant, (g = compileGrant(key.grant)));
  return g;
}

type Refusal = Extract<PipelineResult, { forward: false }>;
const refuse = (code: ErrorCode, context: string, resolved?: ResolvedRoute, key?: KeyRecord): Refusal => {
  const r: Refusal = { forward: false, code, context };
  if (resolved) r.resolved = resolved;
  if (key) r.key = key;
  return r;
};

/** `ip` is the client address the server resolved once (undefined: a trusted proxy sent one that does not parse). */
export async function runPipeline(deps: PipelineDeps, req: IncomingMessage, nowMs: number, ip: string | undefined): Promise<PipelineResult> {
  const method = req.method ?? '';
  const headers = req.headers;
  // 1. Resolve: one canonical reading of the target; unknown routes stop here.
  const r = resolveRoute(deps.matcher, method, req.url ?? '', headers, deps.ghostPath);
  if (!r.ok) return refuse(r.code, r.context);
  const resolved = r.resolved;
  const { route, target } = resolved;
  const pathAndQuery = target.rawQuery === '' ? target.path : `${target.path}?${target.rawQuery}`;

  // CASE: GET /site is public in Ghost (publicAdminApi) and stays public here.
  if (route.flags.has('public')) {
    return { forward: true, resolved, key: undefined, upstreamAuthorization: undefined, pathAndQuery, effects: {} };
  }

  // 2. Authenticate, then the key's lifecycle (and its ancestors').
  const auth = await authenticateKey(deps, req, audienceFor(target.version), nowMs, ip);
  if (!auth.ok) return { ...auth.refusal, resolved };
  const { key, ancestors } = auth;

  // 3. Authorize: the one decision function, asked again as the facts it needs come in.
  const upstreamAuthorization = `Ghost ${deps.upstream.current.token(audienceFor(target.version), nowMs)}`;
  const grant = grantOf(key);
  const upstream = deps.upstream.reach(route);
  let facts: RequestFacts = { query: target.query, params: resolved.params };
  let body: Buffer | undefined;
  for (let round = 0; round < 4; round++) {
    const d = authorize({ grant, route, upstream, request: facts, identity: deps.upstream.current.info });
    if (d.allow === true) {
      // Max uses: taken atomically now, counted only if Ghost answers with success.
      if (key.maxUses !== null && !(await deps.store.keys.reserveUse(key.id))) {
        return refuse('KEY_USES_EXHAUSTED', `all ${key.maxUses} uses of this key are taken`, resolved, key);
      }
      const out: PipelineResult = { forward: true, resolved, key, ancestors, upstreamAuthorization, pathAndQuery, effects: d.effects, reservedUse: key.maxUses !== null };
      if (d.effects.query !== undefined) out.pathAndQuery = `${target.path}?${d.effects.query}`;
      if (body) out.body = body;
      return out;
    }
    if (d.allow === false) {
      const out: Refusal = { forward: false, code: d.code, message: d.message, context: d.context, resolved, key };
      if (d.help !== undefined) out.help = d.help;
      return out;
    }
    const gathered = await gather(deps, req, key, d.need, target.prefix, upstreamAuthorization, facts);
    if ('code' in gathered) return refuse(gathered.code, gathered.context, resolved, key);
    facts = gathered.facts;
    if (gathered.body) body = gathered.body;
  }
  return refuse('INTERNAL', 'authorization did not settle', resolved, key);
}

export type AuthResult = { ok: true; key: KeyRecord; ancestors: KeyRecord[] } | { ok: false; refusal: Refusal };

const MAX_KEY_DEPTH = 8;

/**
 * Who is calling: the JWT's claims first (no I/O), then the key row, then the
 * signature (the previous secret during a rotation's grace window), then the
 * lifecycle of the key and of every ancestor: a child key is never more than
 * its parent, also in time, address and rate.
 */
export async function authenticateKey(deps: PipelineDeps, req: IncomingMessage, expectedAud: string, nowMs: number, ip: string | undefined): Promise<AuthResult> {
  const no = (code: ErrorCode, context: string, key?: KeyRecord, retryAfterS?: number): AuthResult => {
    const refusal = refuse(code, context, undefined, key);
    if (retryAfterS !== undefined) refusal.retryAfterS = retryAfterS;
    return { ok: false, refusal };
  };
  const t = checkToken(req.headers.authorization, expectedAud, nowMs, { clockSkewS: deps.clockSkewS });
  if (!t.ok) return no(t.code, t.context);
  const key = await deps.store.keys.get(t.keyId);
  if (!key) return no('KEY_UNKNOWN', 'no ghostgate key has this id');
  let sig = t.verify(deps.master.keySecret(key.id, key.generation));
  // CASE: rotated with a grace window: the previous secret works until it ends.
  if (!sig.ok && key.previousGeneration !== null && key.graceUntil !== null && nowMs < key.graceUntil) {
    const old = t.verify(deps.master.keySecret(key.id, key.previousGeneration));
    if (old.ok) sig = old;
  }
  if (!sig.ok) return no(sig.code, sig.context);
  const ancestors: KeyRecord[] = [];
  for (let p = key.parentId; p !== null; ) {
    const parent = await deps.store.keys.get(p);
    if (!parent || ancestors.length >= MAX_KEY_DEPTH) return no('KEY_REVOKED', 'the key’s parent is gone', key);
    ancestors.push(parent);
    p = parent.parentId;
  }
  for (const k of [key, ...ancestors]) {
    const whose = k === key ? '' : ' (a parent key)';
    // Revocation is checked after the signature so that an unknown party learns nothing about a key id.
    if (k.status !== 'active') return no('KEY_REVOKED', `the key was revoked${whose}`, key);
    const window = checkWindow(k, nowMs);
    if (!window.ok) return no(window.code, window.context + whose, key);
    const allowed = checkIp(k.limits, ip);
    if (!allowed.ok) return no(allowed.code, allowed.context + whose, key);
    const rate = deps.rateLimiter.take(k.id, k.limits.rate, nowMs);
    if (!rate.ok) return no(rate.code, rate.context + whose, key, rate.retryAfterS ?? 1);
    if (k.limits.dailyQuota !== undefined && (await deps.store.keys.countDaily(k.id, utcDay(nowMs))) > k.limits.dailyQuota) {
      return no('QUOTA_EXCEEDED', `over ${k.limits.dailyQuota} requests today (UTC)${whose}`, key, secondsToUtcMidnight(nowMs));
    }
  }
  return { ok: true, key, ancestors };
}

async function gather(
  deps: PipelineDeps,
  req: IncomingMessage,
  key: KeyRecord,
  need: Need,
  apiPrefix: string,
  authorization: string,
  facts: RequestFacts,
): Promise<{ facts: RequestFacts; body?: Buffer } | { code: ErrorCode; context: string }> {
  let next: RequestFacts = facts;
  let body: Buffer | undefined;
  if (need.body) {
    const read = await readJsonBody(req, deps.maxInspectedBody);
    if ('code' in read) return read;
    body = read.raw;
    next = { ...next, body: read.json };
  }
  if (need.ownedIds) next = { ...next, ownedIds: new Set(await deps.store.ledger.ids(key.id, need.ownedIds)) };
  if (need.escalation) {
    const g = await gatherEscalation(deps.records, req, need.escalation, apiPrefix, authorization, deps.maxInspectedBody, next.escalation);
    if ('code' in g) return g;
    next = { ...next, escalation: g.facts };
    if (g.body) body = g.body;
  }
  if (need.record) {
    const n = need.record;
    const path = `${apiPrefix}${n.resource}/${n.by === 'slug' ? 'slug/' : ''}${n.value}/${n.include ? `?include=${n.include}` : ''}`;
    let json: Record<string, unknown> | null;
    try {
      json = await deps.records.fetchRecord(path, authorization);
    } catch (e) {
      return { code: 'UPSTREAM_BAD_ANSWER', context: `checking the record: ${(e as Error).message}` };
    }
    const list = json?.[n.resource];
    next = { ...next, record: json === null ? null : Array.isArray(list) && list[0] && typeof list[0] === 'object' ? (list[0] as Record<string, unknown>) : null };
  }
  return body ? { facts: next, body } : { facts: next };
}

/** Reads a JSON body the gateway must check; the bytes read are the bytes forwarded. */
async function readJsonBody(req: IncomingMessage, limit: number): Promise<{ raw: Buffer; json: unknown } | { code: ErrorCode; context: string }> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if ((req.headers['content-length'] === undefined || req.headers['content-length'] === '0') && req.headers['transfer-encoding'] === undefined) {
    return { raw: Buffer.alloc(0), json: null };
  }
  if (type !== 'application/json') return { code: 'BODY_INVALID', context: 'the body must be application/json' };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return { code: 'BODY_TOO_LARGE', context: `over ${limit} bytes` };
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  try {
    return { raw, json: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { code: 'BODY_INVALID', context: 'the body is not valid JSON' };
  }
}

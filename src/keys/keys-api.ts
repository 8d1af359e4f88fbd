import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError } from '../errors/errors.js';
import { GATEWAY_AUDIENCE } from '../pipeline/authenticate/authenticate.js';
import { authenticateKey, type PipelineDeps } from '../pipeline/pipeline.js';
import { anchorPath } from '../grants/anchors.js';
import { keyJson } from './key-json.js';
import { mintKey, MintError, type KeyPolicy } from './mint.js';

/**
 * The gateway's own API, beside Ghost's: `POST /ghostgate/v1/keys/` lets a
 * key's holder mint a child key, narrower than itself and expiring no later.
 * Authenticated like the Admin API but with aud "/ghostgate/", and only for
 * keys holding the scope `keys:mint`.
 *
 *   {"keys": [{"name": "...", "grant": {...}, "expires_at": "ISO", "max_uses": 1}]}
 *   -> 201 {"keys": [{"id", "name", "key", "grant", "expires_at", "parent_id", ...}]}
 */
export const KEYS_API_PATH = '/ghostgate/v1/keys/';
const MAX_BODY = 64 * 1024;

type Send = (res: ServerResponse, status: number, body: unknown) => void;
type Fail = (res: ServerResponse, err: ReturnType<typeof gatewayError>) => void;

/** Returns the authenticated parent key, when there was one, for the audit record. */
export async function handleKeysApi(deps: PipelineDeps & { policy: KeyPolicy }, req: IncomingMessage, res: ServerResponse, nowMs: number, ip: string | undefined, send: Send, fail: Fail): Promise<{ id: string; name: string } | undefined> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== KEYS_API_PATH && path !== KEYS_API_PATH.slice(0, -1)) return void fail(res, gatewayError('ROUTE_UNKNOWN', 'the gateway API has only /ghostgate/v1/keys/'));
  if (req.method !== 'POST') return void fail(res, gatewayError('ROUTE_UNKNOWN', 'only POST /ghostgate/v1/keys/ (mint a child key)'));
  const auth = await authenticateKey(deps, req, GATEWAY_AUDIENCE, nowMs, ip);
  if (!auth.ok) {
    const e = gatewayError(auth.refusal.code, auth.refusal.context);
    if (auth.refusal.retryAfterS !== undefined) e.headers = { 'retry-after': String(auth.refusal.retryAfterS) };
    fail(res, e);
    return undefined;
  }
  const parent = auth.key;
  const who = { id: parent.id, name: parent.name };
  if (!parent.grant.scopes.includes('keys:mint') && !parent.grant.scopes.includes('*')) {
    fail(res, gatewayError('SCOPE_MISSING', 'minting a child key needs the scope keys:mint', 'Grant keys:mint to this key.', 'Missing scope keys:mint: this key may not mint child keys.'));
    return who;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return (fail(res, gatewayError('BODY_TOO_LARGE', `over ${MAX_BODY} bytes`)), who);
    chunks.push(c as Buffer);
  }
  let spec: Record<string, unknown> | undefined;
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys?: unknown };
    spec = Array.isArray(body.keys) && body.keys.length === 1 ? (body.keys[0] as Record<string, unknown>) : undefined;
  } catch {
    spec = undefined;
  }
  if (!spec || typeof spec !== 'object') return (fail(res, gatewayError('BODY_INVALID', 'send {"keys": [{"name": ..., "grant": {...}}]}')), who);
  const expires = spec.expires_at === undefined || spec.expires_at === null ? null : Date.parse(String(spec.expires_at));
  if (Number.isNaN(expires)) return (fail(res, gatewayError('BODY_INVALID', 'expires_at must be an ISO 8601 time')), who);
  try {
    const { record, key } = await mintKey(
      deps.store,
      deps.master,
      deps.policy,
      { name: String(spec.name ?? ''), grant: spec.grant, expiresAt: expires, maxUses: spec.max_uses === undefined ? null : Number(spec.max_uses) },
      nowMs,
      parent,
      async (kind, slug) => {
        // The gateway's own pool and credential, as for every record it checks.
        const json = await deps.records.fetchRecord(`/${deps.ghostPath}/api/admin/${anchorPath(kind, slug)}`, `Ghost ${deps.upstream.current.token('/admin/', nowMs)}`);
        const id = (json?.[kind] as { id?: unknown }[] | undefined)?.[0]?.id;
        return typeof id === 'string' ? id : undefined;
      },
    );
    send(res, 201, { keys: [{ ...keyJson(record), key }] });
  } catch (e) {
    if (e instanceof MintError) return (fail(res, gatewayError('CHILD_NOT_SUBSET', e.message)), who);
    throw e;
  }
  return who;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError, type ErrorCode } from '../errors/errors.js';
import { GATEWAY_AUDIENCE } from '../pipeline/authenticate/authenticate.js';
import { authenticateKey, type PipelineDeps } from '../pipeline/pipeline.js';
import { contentEncodingRefusal, readJsonBody } from '../pipeline/read-body/read-body.js';
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
type Who = { id: string; name: string };

/**
 * A mint is a write: its intent is made durable before the key is minted
 * (nothing is minted when it cannot be), and its outcome is recorded after,
 * also when minting throws. Both carry the parent key.
 */
export interface MintAudit {
  intent(parent: Who): Promise<void>;
  outcome(parent: Who, o: { decision: 'allow' | 'deny' | 'error'; code: ErrorCode | null; status: number | null }): void;
}

/**
 * Returns the authenticated parent key, when there was one, and whether the
 * request's audit records were written here (a mint's intent and outcome);
 * otherwise the caller records the refusal.
 */
export async function handleKeysApi(
  deps: PipelineDeps & { policy: KeyPolicy },
  req: IncomingMessage,
  res: ServerResponse,
  nowMs: number,
  ip: string | undefined,
  send: Send,
  fail: Fail,
  audit: MintAudit,
): Promise<{ who: Who | undefined; audited: boolean }> {
  const refused = (who?: Who) => ({ who, audited: false });
  const path = (req.url ?? '').split('?')[0];
  if (path !== KEYS_API_PATH && path !== KEYS_API_PATH.slice(0, -1))
    return (fail(res, gatewayError('ROUTE_UNKNOWN', 'the gateway API has only /ghostgate/v1/keys/')), refused());
  if (req.method !== 'POST')
    return (fail(res, gatewayError('ROUTE_UNKNOWN', 'only POST /ghostgate/v1/keys/ (mint a child key)')), refused());
  const encoding = contentEncodingRefusal(req.headers);
  if (encoding) return (fail(res, gatewayError(encoding.code, encoding.context)), refused());
  const auth = await authenticateKey(deps, req.headers.authorization, GATEWAY_AUDIENCE, nowMs, ip);
  if (!auth.ok) {
    const e = gatewayError(auth.refusal.code, auth.refusal.context);
    if (auth.refusal.retryAfterS !== undefined) e.headers = { 'retry-after': String(auth.refusal.retryAfterS) };
    fail(res, e);
    return refused();
  }
  const parent = auth.key;
  const who = { id: parent.id, name: parent.name };
  if (!parent.grant.scopes.includes('keys:mint') && !parent.grant.scopes.includes('*')) {
    fail(
      res,
      gatewayError(
        'SCOPE_MISSING',
        'minting a child key needs the scope keys:mint',
        'Grant keys:mint to this key.',
        'Missing scope keys:mint: this key may not mint child keys.',
      ),
    );
    return refused(who);
  }
  // The same reader as the Admin API's checked bodies: UTF-8 JSON, one reading.
  const read = await readJsonBody(req, MAX_BODY);
  if ('code' in read) return (fail(res, gatewayError(read.code, read.context)), refused(who));
  const body = read.json as { keys?: unknown };
  const spec = Array.isArray(body.keys) && body.keys.length === 1 ? (body.keys[0] as Record<string, unknown>) : undefined;
  if (!spec || typeof spec !== 'object')
    return (fail(res, gatewayError('BODY_INVALID', 'send {"keys": [{"name": ..., "grant": {...}}]}')), refused(who));
  const expires =
    spec.expires_at === undefined || spec.expires_at === null
      ? null
      : typeof spec.expires_at === 'string'
        ? Date.parse(spec.expires_at)
        : NaN;
  if (Number.isNaN(expires)) return (fail(res, gatewayError('BODY_INVALID', 'expires_at must be an ISO 8601 time')), refused(who));
  try {
    await audit.intent(who);
  } catch {
    fail(res, gatewayError('AUDIT_UNAVAILABLE', 'the audit intent could not be written; no key was minted'));
    return { who, audited: true };
  }
  try {
    const { record, key } = await mintKey(
      deps.store,
      deps.master,
      deps.policy,
      {
        name: typeof spec.name === 'string' ? spec.name : '',
        grant: spec.grant,
        expiresAt: expires,
        maxUses: spec.max_uses === undefined ? null : Number(spec.max_uses),
      },
      nowMs,
      parent,
      async (kind, slug) => {
        // The gateway's own pool and credential, as for every record it checks.
        const json = await deps.records.fetchRecord(
          `/${deps.ghostPath}/api/admin/${anchorPath(kind, slug)}`,
          `Ghost ${deps.upstream.current.token('/admin/', nowMs)}`,
        );
        const id = (json?.[kind] as { id?: unknown }[] | undefined)?.[0]?.id;
        return typeof id === 'string' ? id : undefined;
      },
    );
    send(res, 201, { keys: [{ ...keyJson(record), key }] });
    audit.outcome(who, { decision: 'allow', code: null, status: 201 });
  } catch (e) {
    // A MintError is a refusal decided before anything is stored; anything else may have failed half-way.
    if (e instanceof MintError) {
      fail(res, gatewayError('CHILD_NOT_SUBSET', e.message));
      audit.outcome(who, { decision: 'deny', code: 'CHILD_NOT_SUBSET', status: 403 });
      return { who, audited: true };
    }
    audit.outcome(who, { decision: 'error', code: 'INTERNAL', status: null });
    throw e;
  }
  return { who, audited: true };
}

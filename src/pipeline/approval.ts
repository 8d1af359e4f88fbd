import { createHash, randomUUID } from 'node:crypto';
import type { RouteEntry } from '../catalog/catalog.js';
import type { ErrorCode } from '../errors/errors.js';
import type { ApprovalCall, KeyRecord, Store } from '../store/store.js';

/**
 * The approval gate of a grant's `confirm` (src/grants/confirm.ts), after
 * authorize() allowed the call: the call, exactly (method, path, query, the
 * body's bytes), is held as a pending approval until a person approves it
 * (`ghostgate approvals approve ID`, admin/approvals.ts); the same call by the
 * same key is then let through once. The approval is marked used atomically
 * before forwarding, so two retries cannot both pass.
 */
export const APPROVAL_TTL_MS = 24 * 3600_000;
/** Pending approvals a key may have open at once (APPROVAL_LIMIT beyond). */
export const MAX_PENDING_APPROVALS = 10;

export interface ConfirmedCall {
  readonly key: KeyRecord;
  readonly item: string;
  readonly route: RouteEntry;
  readonly pathAndQuery: string;
  readonly params: Readonly<Record<string, string>>;
  /** The body's bytes as the gateway read them (what will be forwarded), or null for a bodiless call. */
  readonly body: Buffer | null;
  /** The record's title, for the person deciding. */
  readonly title?: string;
  /** The version (a hash of the whole record) of the record the call acts on as Ghost has it now: an approval holds for it only. */
  readonly recordVersion?: string | null;
  /** The root of the key's chain (itself for a root key): a denial and the pending cap cover the whole family. */
  readonly family: string;
}

export type ApprovalGate = { ok: true; approval: string } | { ok: false; code: ErrorCode; context: string; help: string };

/**
 * The call, exactly, on the record as it is: an approval lets through this and nothing else. With the
 * record's version in it (a hash of the record: pipeline.ts recordVersion), an approval given for a record
 * as the person saw it does not let the call through once the record changed (an agent's edit of a draft
 * after the approval, say, with a future `updated_at` that passes Ghost's collision check:
 * ghost/core/core/server/models/base/plugins/collision, or an edit of its tags or meta fields only).
 */
export function fingerprint(c: Pick<ConfirmedCall, 'route' | 'pathAndQuery' | 'body' | 'recordVersion'>): string {
  const call: unknown[] = [c.route.method, c.pathAndQuery, c.body?.toString('base64') ?? null];
  if (c.recordVersion !== undefined) call.push(c.recordVersion);
  return createHash('sha256').update(JSON.stringify(call)).digest('hex');
}

/**
 * What a denial covers beyond the exact call: a call of this route on this record under this item by any
 * key of the family (a child key inherits its parent's confirm), whatever its body's bytes or query (keys
 * reordered, an option added), for a day after the denial.
 */
export function subject(c: Pick<ConfirmedCall, 'family' | 'item' | 'route' | 'params'>): string {
  // Parameter names are unique strings: the default sort (by UTF-16 code units) is a canonical order, whatever order
  // the parameters were built in, with no comparator whose ties could matter.
  const params = Object.keys(c.params)
    .sort()
    .map((k) => [k, c.params[k]]);
  return createHash('sha256')
    .update(JSON.stringify([c.family, c.item, c.route.method, c.route.path, params]))
    .digest('hex');
}

/** The call as it will be forwarded, for the person deciding: the body as text when it is UTF-8 (JSON always is). */
export function heldCall(c: Pick<ConfirmedCall, 'route' | 'pathAndQuery' | 'body' | 'recordVersion'>): ApprovalCall {
  const base = {
    method: c.route.method,
    pathAndQuery: c.pathAndQuery,
    ...(c.recordVersion !== undefined ? { recordVersion: c.recordVersion } : {}),
  };
  if (c.body === null) return { ...base, body: null, bodyEncoding: 'utf8' };
  const text = c.body.toString('utf8');
  return Buffer.from(text, 'utf8').equals(c.body)
    ? { ...base, body: text, bodyEncoding: 'utf8' }
    : { ...base, body: c.body.toString('base64'), bodyEncoding: 'base64' };
}

/**
 * Opens (or finds) the call's approval; passes only an approved one, which the pipeline then marks
 * used (`approvals.use`). A denied call stays refused; a key with MAX_PENDING_APPROVALS pending opens no more.
 */
export async function approvalGate(store: Store, c: ConfirmedCall, nowMs: number): Promise<ApprovalGate> {
  const id = Object.entries(c.params)
    .map(([k, v]) => ` ${k}=${v}`)
    .join('');
  // JSON-quoted: a title is the agent's text, so its quotes and control characters (terminal escapes) are escaped.
  const title = c.title === undefined ? '' : ` title ${JSON.stringify(c.title.slice(0, 80))}`;
  const a = await store.approvals.open({
    id: randomUUID(),
    keyId: c.key.id,
    fingerprint: fingerprint(c),
    family: c.family,
    subject: subject(c),
    deniedSince: nowMs - APPROVAL_TTL_MS,
    summary: `${c.route.method} ${c.route.path}${id}${title} (${c.item}) by key ${c.key.name}`.slice(0, 300),
    call: heldCall(c),
    now: nowMs,
    expiresAt: nowMs + APPROVAL_TTL_MS,
    maxPending: MAX_PENDING_APPROVALS,
  });
  if (a === undefined) {
    return {
      ok: false,
      code: 'APPROVAL_LIMIT',
      context: `this key and the keys of its family already have ${MAX_PENDING_APPROVALS} calls pending approval (${c.item}); none was opened for this one`,
      help: 'Ask the key’s owner to decide the pending ones: ghostgate approvals list --status pending',
    };
  }
  if (a.status === 'approved') return { ok: true, approval: a.id };
  if (a.status === 'denied') {
    return {
      ok: false,
      code: 'APPROVAL_DENIED',
      context: `approval ${a.id} (${c.item}) was denied: this call stays refused, and any call of this route on this record under ${c.item} for a day after the denial`,
      help: 'A person denied this exact call; do not retry it. Ask the key’s owner what would be acceptable.',
    };
  }
  return {
    ok: false,
    code: 'APPROVAL_PENDING',
    context: `approval ${a.id} (${c.item}) is pending; once a person approves it, the same call succeeds once (until ${new Date(a.expiresAt).toISOString()})`,
    help: `Ask the key's owner to run: ghostgate approvals approve ${a.id}`,
  };
}

import { createHash, randomUUID } from 'node:crypto';
import type { RouteEntry } from '../catalog/catalog.js';
import type { ErrorCode } from '../errors/errors.js';
import type { KeyRecord, Store } from '../store/store.js';

/**
 * The approval gate of a grant's `confirm` (src/grants/confirm.ts), after
 * authorize() allowed the call: the call, exactly (method, path, query, the
 * body's bytes), is held as a pending approval until a person approves it
 * (`ghostgate approvals approve ID`, admin/approvals.ts); the same call by the
 * same key is then let through once. The approval is marked used atomically
 * before forwarding, so two retries cannot both pass.
 */
export const APPROVAL_TTL_MS = 24 * 3600_000;

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
}

export type ApprovalGate = { ok: true; approval: string } | { ok: false; code: ErrorCode; context: string; help: string };

/** The call, exactly: an approval lets through this and nothing else. */
export function fingerprint(c: Pick<ConfirmedCall, 'route' | 'pathAndQuery' | 'body'>): string {
  return createHash('sha256')
    .update(JSON.stringify([c.route.method, c.pathAndQuery, c.body?.toString('base64') ?? null]))
    .digest('hex');
}

/** Opens (or finds) the call's approval; passes only an approved one, which the pipeline then marks used (`approvals.use`). */
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
    summary: `${c.route.method} ${c.route.path}${id}${title} (${c.item}) by key ${c.key.name}`.slice(0, 300),
    now: nowMs,
    expiresAt: nowMs + APPROVAL_TTL_MS,
  });
  if (a.status === 'approved') return { ok: true, approval: a.id };
  return {
    ok: false,
    code: 'APPROVAL_PENDING',
    context: `approval ${a.id} (${c.item}) is pending; once a person approves it, the same call succeeds once (until ${new Date(a.expiresAt).toISOString()})`,
    help: `Ask the key's owner to run: ghostgate approvals approve ${a.id}`,
  };
}

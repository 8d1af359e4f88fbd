import { randomUUID } from 'node:crypto';
import type { AuditDecision, AuditEntry } from '../store/audit.js';

/**
 * Who performed an admin action: an admin API token (the management API,
 * src/api/auth.ts) or a person's account (the console). Every admin action
 * (each change, and every refused attempt) leaves one audit record like a
 * request's, with this identity in its detail and never a secret.
 */
export interface AdminActor {
  readonly kind: 'token' | 'account';
  readonly id: string;
  readonly name: string;
}

/** One admin action, as the audit records it. */
export interface AdminAction {
  /**
   * `request` (a refusal, or a read); a change leaves an `intent`, durable before anything is changed,
   * then its `request` record with the outcome.
   */
  readonly kind?: 'request' | 'intent';
  /** null when the caller was not identified (no token, a token refused). */
  readonly actor: AdminActor | null;
  readonly requestId: string;
  readonly at: number;
  readonly clientIp: string | null;
  readonly method: string;
  /** The route as the API declares it: `POST /ghostgate/v1/keys/:id/revoke` (never the raw path with its ids). */
  readonly route: string;
  /** `keys.create`, `approvals.approve`…; null when no route matched. */
  readonly action: string | null;
  /** The id of what was acted on (a key, an approval, a token), when there is one. */
  readonly target?: string | null;
  readonly decision: AuditDecision;
  /** The error code of a refusal or failure; null when allowed. */
  readonly code: string | null;
  readonly status: number | null;
  readonly latencyMs: number | null;
}

/** The gateway's audit writer as admin actions use it: `durable` waits until the record is committed. */
export type AdminAuditWriter = (entry: AuditEntry, durable: boolean) => Promise<void>;

/** The audit record of an admin action: keyId null, the actor and the action in `detail`. */
export function adminAuditEntry(a: AdminAction): AuditEntry {
  const [resource, verb] = a.action ? a.action.split('.') : [null, null];
  return {
    at: a.at,
    requestId: a.requestId,
    kind: a.kind ?? 'request',
    keyId: null,
    keyName: null,
    clientIp: a.clientIp,
    method: a.method,
    route: a.route,
    resource: resource ?? null,
    action: verb ?? null,
    decision: a.decision,
    code: a.code,
    status: a.status,
    latencyMs: a.latencyMs,
    bytesIn: null,
    bytesOut: null,
    detail: JSON.stringify({
      via: 'admin',
      actor: a.actor ? { kind: a.actor.kind, id: a.actor.id, name: a.actor.name } : null,
      action: a.action,
      target: a.target ?? null,
    }),
  };
}

/**
 * Writes one audit record of an admin action through the gateway's audit writer. A change that was
 * made waits for its record to be durable before it is answered; a refusal is written within the
 * writer's window, like the gateway's other refusals.
 */
export async function auditAdminAction(write: AdminAuditWriter, a: AdminAction): Promise<void> {
  await write(adminAuditEntry(a), a.kind === 'intent' || (a.decision === 'allow' && a.method !== 'GET'));
}

/** The part of the audit writer (pipeline/audit/audit-log.ts AuditLog) an admin action needs: a durable write. */
export interface AdminEventWriter {
  intent(entry: AuditEntry): Promise<void>;
}

/**
 * An admin action that is no route of the management API: a console form, a sign-in. Recorded with
 * the route `ADMIN <action>`, and the same detail as the API's actions.
 */
export interface AdminEvent {
  /** `intent` for a change about to be made (durable before it is), `request` for its outcome or a refusal. */
  readonly kind?: 'request' | 'intent';
  /** One id for a change's intent and its outcome; a new one when not given. */
  readonly requestId?: string;
  /** null when nobody was identified (a form refused before its session was known, a set-up link). */
  readonly actor: AdminActor | null;
  /** `keys.create`, `keys.revoke`, `approvals.approve`, `session.signin`, … */
  readonly action: string;
  /** What it acted on (a key id, an approval id, an account id); null when nothing. */
  readonly target: string | null;
  readonly at: number;
  readonly clientIp?: string | null;
  /** `deny` for a refused attempt (a failed sign-in), with its code. */
  readonly decision?: 'allow' | 'deny';
  readonly code?: string | null;
}

/** The one audit row of an admin action: keyId null, detail {"via":"admin","actor":…,"action":…,"target":…}. */
export function adminEventEntry(a: AdminEvent): AuditEntry {
  const [resource = a.action, verb = null] = a.action.split('.');
  return {
    at: a.at,
    requestId: a.requestId ?? randomUUID(),
    kind: a.kind ?? 'request',
    keyId: null,
    keyName: null,
    clientIp: a.clientIp ?? null,
    method: 'ADMIN',
    route: `ADMIN ${a.action}`,
    resource,
    action: verb,
    decision: a.decision ?? 'allow',
    code: a.code ?? null,
    status: null,
    latencyMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: JSON.stringify({
      via: 'admin',
      actor: a.actor ? { kind: a.actor.kind, id: a.actor.id, name: a.actor.name } : null,
      action: a.action,
      target: a.target,
    }),
  };
}

/** Writes the record and waits until it is durable (it rejects when the audit cannot be written). */
export async function auditAdminEvent(writer: AdminEventWriter | undefined, a: AdminEvent): Promise<void> {
  await writer?.intent(adminEventEntry(a));
}

import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '../store/audit.js';

/**
 * Who did an admin action: a person signed in to the console (`account`) or
 * an admin API token (`token`). Every admin action leaves one audit record
 * naming its actor, through the gateway's own audit writer, so it is chained
 * and signed like every request; never a secret.
 */
export interface AdminActor {
  readonly kind: 'token' | 'account';
  readonly id: string;
  readonly name: string;
}

/** The part of the audit writer (pipeline/audit/audit-log.ts AuditLog) an admin action needs: a durable write. */
export interface AdminAuditWriter {
  intent(entry: AuditEntry): Promise<void>;
}

export interface AdminAction {
  readonly actor: AdminActor;
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
export function adminAuditEntry(a: AdminAction): AuditEntry {
  const [resource = a.action, verb = null] = a.action.split('.');
  return {
    at: a.at,
    requestId: randomUUID(),
    kind: 'request',
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
      actor: { kind: a.actor.kind, id: a.actor.id, name: a.actor.name },
      action: a.action,
      target: a.target,
    }),
  };
}

/** Writes the record and waits until it is durable (it rejects when the audit cannot be written). */
export async function auditAdminAction(writer: AdminAuditWriter | undefined, a: AdminAction): Promise<void> {
  await writer?.intent(adminAuditEntry(a));
}

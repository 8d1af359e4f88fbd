import { describeEscalation, escalationOf } from '../grants/escalation.js';
import type { KeyRecord } from '../store/store.js';

/**
 * A stored time in ISO 8601 to the second; one a Date cannot hold (a key written before mint.ts refused them) as
 * its number, so the key still lists. Also the CLI's `fmtTime`.
 */
export const isoSeconds = (ms: number): string =>
  Number.isNaN(new Date(ms).getTime()) ? String(ms) : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const iso = (ms: number | null) => (ms === null ? null : isoSeconds(ms));

/** A key as JSON for the CLI and the key API: never its secret. */
export function keyJson(k: KeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    status: k.status,
    grant: k.grant,
    escalation: escalationJson(k),
    parent_id: k.parentId,
    created_at: iso(k.createdAt),
    expires_at: iso(k.expiresAt),
    not_before: iso(k.notBefore),
    max_uses: k.maxUses,
    limits: k.limits,
    generation: k.generation,
    grace_until: iso(k.graceUntil),
    revoked_at: iso(k.revokedAt),
    last_used_at: iso(k.lastUsedAt),
    use_count: k.useCount,
  };
}

/** Whether the key's grant is equivalent to full access, and through which escalation scopes (docs/security.md). */
function escalationJson(k: KeyRecord): Record<string, unknown> {
  const e = escalationOf(k.grant);
  return {
    full_access: e.fullAccess,
    summary: describeEscalation(e),
    scopes: e.held.map((h) => ({ scope: h.scope, categories: h.categories })),
    narrowed: e.narrowed,
  };
}

import { ceilingRole, STAFF_ROLE_ORDER, type RoleCeiling } from './narrow.js';

/**
 * `narrow.invites.maxRole`: POST /invites only for a staff role up to the
 * ceiling. Ghost reads the role from the first invite of the body only:
 * the permission check takes `frame.data.invites[0].role_id` as its unsafe
 * attribute (core/server/api/endpoints/utils/permissions.js:37-40,
 * core/server/api/endpoints/invites.js:75-108), `Invite.permissible` loads the
 * Role by that id (core/server/models/invite.js:79-98), and the invites
 * service creates `invites[0]` (core/server/services/invites/invites.js:22-36).
 * Role ids are ObjectIds made per site, so the gateway resolves them with
 * Ghost's `GET /roles/` (core/server/api/endpoints/roles.js:6-20).
 *
 * Stricter than Ghost where Ghost could be read two ways: exactly one
 * invite, a string role_id equal to a listed role's id (MySQL would also
 * match another letter case), and only Ghost's staff roles.
 */
export interface GhostRole {
  readonly id: string;
  readonly name: string;
}

export type InviteVerdict = { ok: true; role: string } | { ok: false; code: 'BODY_INVALID' | 'INVITE_ROLE_REFUSED'; why: string };

export function decideInvite(body: unknown, roles: readonly GhostRole[], maxRole: RoleCeiling): InviteVerdict {
  const list = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).invites : undefined;
  if (!Array.isArray(list) || list.length !== 1 || !list[0] || typeof list[0] !== 'object' || Array.isArray(list[0])) {
    return {
      ok: false,
      code: 'BODY_INVALID',
      why: 'the body must be {"invites": [ { "email": …, "role_id": … } ]} with exactly one invite',
    };
  }
  const roleId = (list[0] as Record<string, unknown>).role_id;
  if (typeof roleId !== 'string') return { ok: false, code: 'BODY_INVALID', why: 'role_id must be a string' };
  const role = roles.find((r) => r.id === roleId);
  if (!role) return { ok: false, code: 'INVITE_ROLE_REFUSED', why: `role_id ${roleId.slice(0, 40)} is not one of the roles Ghost lists` };
  const rank = (STAFF_ROLE_ORDER as readonly string[]).indexOf(role.name);
  const ceiling = STAFF_ROLE_ORDER.indexOf(ceilingRole(maxRole));
  if (rank < 0) return { ok: false, code: 'INVITE_ROLE_REFUSED', why: `${role.name} is not a staff role this key may invite` };
  if (rank > ceiling)
    return { ok: false, code: 'INVITE_ROLE_REFUSED', why: `${role.name} is above this key's ceiling, ${ceilingRole(maxRole)}` };
  return { ok: true, role: role.name };
}

/** Ghost's answer to GET /roles/: {"roles": [{"id", "name", …}]}. Anything else is refused by the caller. */
export function rolesFrom(json: unknown): GhostRole[] | undefined {
  const list = json && typeof json === 'object' ? (json as Record<string, unknown>).roles : undefined;
  if (!Array.isArray(list)) return undefined;
  const out: GhostRole[] = [];
  for (const r of list) {
    if (!r || typeof r !== 'object' || typeof (r as GhostRole).id !== 'string' || typeof (r as GhostRole).name !== 'string')
      return undefined;
    out.push({ id: (r as GhostRole).id, name: (r as GhostRole).name });
  }
  return out;
}

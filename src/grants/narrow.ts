import { z } from 'zod';
import type { GrantPart } from './grant.js';

/**
 * Narrower forms of escalation scopes (docs/grants.md, `narrow`): a grant
 * field that turns a scope which would amount to full access into one the
 * gateway can bound.
 *   invites.maxRole     POST /invites only for staff roles up to this one
 *                       (src/grants/invites.ts)
 *   themes.keepActive   theme uploads and installs never replace the active
 *                       theme (src/grants/themes.ts)
 */
export const ROLE_CEILINGS = ['contributor', 'author', 'editor', 'super-editor', 'administrator'] as const;
export type RoleCeiling = (typeof ROLE_CEILINGS)[number];

/** Ghost's staff role names, lowest first (core/server/data/schema/fixtures/fixtures.json "Role"). */
export const STAFF_ROLE_ORDER = ['Contributor', 'Author', 'Editor', 'Super Editor', 'Administrator'] as const;

export function ceilingRole(c: RoleCeiling): (typeof STAFF_ROLE_ORDER)[number] {
  return STAFF_ROLE_ORDER[ROLE_CEILINGS.indexOf(c)]!;
}

/**
 * Ceilings up to which an invite stays bounded: a Contributor or an Author
 * reaches only posts (their own to write), tags and the staff list. From
 * Editor up the invitee edits every post and invites others, and a Super
 * Editor or an Administrator reads every member: still an escalation.
 */
export const BOUNDED_CEILINGS: readonly RoleCeiling[] = ['contributor', 'author'];

export const NarrowSchema = z
  .object({
    invites: z
      .object({ maxRole: z.enum(ROLE_CEILINGS) })
      .strict()
      .optional(),
    themes: z
      .object({ keepActive: z.literal(true) })
      .strict()
      .optional(),
  })
  .strict();
export type Narrow = z.infer<typeof NarrowSchema>;

/** Why a child's narrow forms are wider than its parent's (empty when they are not). */
export function narrowProblems(child: Narrow | undefined, parent: Narrow | undefined): string[] {
  const problems: string[] = [];
  const pr = parent?.invites?.maxRole;
  const cr = child?.invites?.maxRole;
  if (pr !== undefined && (cr === undefined || ROLE_CEILINGS.indexOf(cr) > ROLE_CEILINGS.indexOf(pr))) {
    problems.push(`narrow.invites.maxRole must be at most the parent's (${pr})`);
  }
  if (parent?.themes?.keepActive === true && child?.themes?.keepActive !== true) problems.push('narrow.themes.keepActive must stay true');
  return problems;
}

/** Narrower forms of escalation scopes: a child's are no wider than its parent's. */
export const narrowPart: GrantPart<'narrow'> = {
  part: 'narrow',
  subset: (child, parent) => narrowProblems(child.narrow, parent.narrow),
  inherit: (child, parent) => (!child.narrow && parent.narrow ? structuredClone(parent.narrow) : undefined),
  describe: (g) => [
    ...(g.narrow?.invites ? [`invites staff up to ${ceilingRole(g.narrow.invites.maxRole)}`] : []),
    ...(g.narrow?.themes?.keepActive ? ['may not replace the active theme'] : []),
  ],
};

import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { ConfirmSchema } from './confirm.js';
import { NarrowSchema } from './narrow.js';

/**
 * A key's grant: a versioned JSON document (docs/grants.md).
 *   scopes       `resource:action` as Ghost names them, `resource:*`, or `*`
 *   constraints  which records the key may touch (posts/pages by tag, author,
 *                status, visibility, "created by this key"; members by label
 *                and status; webhooks only its own)
 *   fields       per resource: fields the key may not set or change, an
 *                allowlist, and the statuses it may set
 *   redact       per object type: response fields removed
 *   narrow       narrower forms of escalation scopes (src/grants/narrow.ts)
 */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_]*:(\*|[a-z][A-Za-z0-9_]*))$/;
const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a slug: lower-case letters, digits, - and _');
/**
 * A record a constraint is anchored on (a tag, an author, a label). Written by
 * people as a slug; pinned to the record's id when the key is created
 * (src/grants/anchors.ts), so renaming tags cannot move a key's boundary: Ghost's
 * slugs and names are editable (tags:edit, users:edit, labels:edit), its ids are not.
 */
export const AnchorSchema = z.union([slug, z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'a Ghost id: 24 hex'), slug }).strict()]);
export type Anchor = z.infer<typeof AnchorSchema>;
const fieldName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a field name');
export const POST_STATUSES = ['draft', 'published', 'scheduled', 'sent'] as const;
export const VISIBILITIES = ['public', 'members', 'paid', 'tiers'] as const;

const PostConstraint = z
  .object({
    tags: z.array(AnchorSchema).min(1).optional(),
    authors: z.array(AnchorSchema).min(1).optional(),
    status: z.array(z.enum(POST_STATUSES)).min(1).optional(),
    visibility: z.array(z.enum(VISIBILITIES)).min(1).optional(),
    createdByKey: z.boolean().optional(),
  })
  .strict();
const MemberConstraint = z
  .object({
    labels: z.array(AnchorSchema).min(1).optional(),
    status: z
      .array(z.enum(['free', 'paid', 'comped']))
      .min(1)
      .optional(),
  })
  .strict();
const WebhookConstraint = z.object({ createdByKey: z.boolean() }).strict();

const FieldRule = z
  .object({
    /** Fields the key may not set or change (body fields or query parameters such as `newsletter`). */
    deny: z.array(fieldName).optional(),
    /** If present, the only body fields the key may send. */
    allow: z.array(fieldName).optional(),
    /** The statuses the key may set. `["draft"]` means it may never publish or schedule. */
    status: z.array(z.enum(POST_STATUSES)).min(1).optional(),
  })
  .strict();

export const GrantSchema = z
  .object({
    version: z.literal(1),
    scopes: z.array(z.string().regex(SCOPE_PATTERN, 'a scope is resource:action, resource:* or *')).max(1000),
    constraints: z
      .object({
        posts: PostConstraint.optional(),
        pages: PostConstraint.optional(),
        members: MemberConstraint.optional(),
        webhooks: WebhookConstraint.optional(),
      })
      .strict()
      .optional(),
    fields: z.partialRecord(z.enum(['posts', 'pages', 'members', 'tags', 'newsletters', 'webhooks', 'users']), FieldRule).optional(),
    redact: z
      .partialRecord(z.enum(['users', 'members', 'posts', 'pages', 'tags', 'newsletters', 'settings']), z.array(fieldName).min(1))
      .optional(),
    /**
     * false: the key may never make Ghost send email, by any route or state change (src/grants/email.ts).
     * A field rule denying `newsletter` or `email_segment` (older grants) means the same.
     */
    sendEmail: z.boolean().optional(),
    /** true: settings answers show secrets (the private site's password, webhook URLs, keys), which every other key gets blanked. */
    revealSettingSecrets: z.boolean().optional(),
    narrow: NarrowSchema.optional(),
    /** Calls a person must approve, once per call, before they are forwarded (src/grants/confirm.ts). */
    confirm: ConfirmSchema.optional(),
  })
  .strict();

export type Grant = z.infer<typeof GrantSchema>;
export type PostConstraint = z.infer<typeof PostConstraint>;
export type MemberConstraint = z.infer<typeof MemberConstraint>;
export type FieldRule = z.infer<typeof FieldRule>;

export function parseGrant(doc: unknown): { ok: true; grant: Grant } | { ok: false; errors: string[] } {
  const r = GrantSchema.safeParse(doc);
  if (r.success) return { ok: true, grant: r.data };
  return { ok: false, errors: r.error.issues.map((i) => `${i.path.join('.') || '(grant)'}: ${i.message}`) };
}

/** Scopes of the gateway itself, not of a Ghost route. `keys:mint`: the key's holder may mint child keys. */
export const GATEWAY_SCOPES: readonly string[] = ['keys:mint'];

/** Checks scopes against the catalog: a scope that names no route is a typo, not a wish. */
export function validateScopes(scopes: readonly string[], catalog: Catalog): string[] {
  const errors: string[] = [];
  scopes = scopes.filter((s) => !GATEWAY_SCOPES.includes(s));
  const resources = new Set(catalog.resources);
  const known = new Set(catalog.scopes);
  for (const s of scopes) {
    if (!SCOPE_PATTERN.test(s)) errors.push(`"${s}" is not resource:action, resource:* or *`);
    else if (s === '*') continue;
    else if (s.endsWith(':*')) {
      if (!resources.has(s.slice(0, -2)))
        errors.push(`"${s}": no resource "${s.slice(0, -2)}" in the Ghost ${catalog.ghostVersion} catalog`);
    } else if (!known.has(s))
      errors.push(`"${s}": no route needs this scope in the Ghost ${catalog.ghostVersion} catalog (see \`ghostgate catalog\`)`);
  }
  return errors;
}

export function parseScopeList(list: string): string[] {
  return [
    ...new Set(
      list
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

/**
 * Whether held scopes cover a scope: `*` covers everything, `posts:*` covers
 * `posts:*` and every `posts:<action>`, an exact scope covers itself. The one
 * scope-matching rule (authorization, attenuation, escalation, advice).
 */
export function scopeCovers(held: ReadonlySet<string>, scope: string): boolean {
  if (held.has('*')) return true;
  if (scope === '*') return false;
  return held.has(scope) || held.has(`${scope.slice(0, scope.indexOf(':'))}:*`);
}

/** Compiled form used on the hot path. */
export interface CompiledGrant {
  readonly grant: Grant;
  holds(scope: string, resource: string): boolean;
  /** True when anything beyond scopes applies to this resource's routes. */
  readonly hasRules: boolean;
  /** True when the grant has record constraints (posts, pages or members). */
  readonly hasConstraints: boolean;
}

export function compileGrant(grant: Grant): CompiledGrant {
  const set = new Set(grant.scopes);
  const all = set.has('*');
  const hasConstraints = Boolean(grant.constraints?.posts || grant.constraints?.pages || grant.constraints?.members);
  const hasRules =
    Object.keys(grant.constraints ?? {}).length > 0 ||
    Object.keys(grant.fields ?? {}).length > 0 ||
    Object.keys(grant.redact ?? {}).length > 0 ||
    grant.sendEmail === false ||
    (grant.confirm?.length ?? 0) > 0;
  return {
    grant,
    holds: (scope, resource) => all || set.has(scope) || set.has(`${resource}:*`),
    hasRules,
    hasConstraints,
  };
}

/**
 * One kind of rule of a grant, as the rest of the gateway sees it: the part of
 * the grant document it owns, how a child key's part must relate to its
 * parent's, what a child inherits when it names none, and the rule in words.
 * Every part is listed once in src/grants/parts.ts; attenuation and
 * descriptions loop over that list (a new kind of rule is one module and one
 * line there; attenuate.test.ts checks that every part of GrantSchema is listed).
 */
export interface GrantPart<K extends keyof Grant = keyof Grant> {
  readonly part: K;
  /** Why the child's part is wider than the parent's (empty when it is not). */
  subset(child: Grant, parent: Grant): string[];
  /** The child's part when it names none (undefined: nothing inherited). */
  inherit?(child: Grant, parent: Grant): Grant[K] | undefined;
  /** The rule in words, one line per rule (empty when the grant has none of it). */
  describe(grant: Grant): string[];
}

export const isSubset = (a: readonly string[] | undefined, b: readonly string[]): boolean =>
  a !== undefined && a.every((x) => b.includes(x));

export const scopesPart: GrantPart<'scopes'> = {
  part: 'scopes',
  subset: (child, parent) => {
    const ps = new Set(parent.scopes);
    return child.scopes.filter((s) => !scopeCovers(ps, s)).map((s) => `scope ${s} is not in the parent's grant`);
  },
  describe: (g) => [g.scopes.length === 0 ? 'no scopes: every route is refused' : `scopes: ${g.scopes.join(', ')}`],
};

import { z } from 'zod';
import type { Catalog, RouteEntry } from '../catalog/catalog.js';
import type { Grant, GrantPart } from './grant.js';

/**
 * `confirm`: calls a person must approve first (docs/grants.md, docs/mcp.md). Each item is a
 * scope (`posts:destroy`, `members:edit`, `members:*`) or `posts:publish` / `pages:publish`: an add
 * or edit whose body sets `status` to published, scheduled or sent, or sets a `published_at` time
 * (Ghost's scheduler publishes a scheduled post at it), or an edit carrying `newsletter` (the ways
 * ghost/core/core/server/api/endpoints/posts.js publishes and sends), or an edit of a record that is
 * live or scheduled now (it changes what readers see, or will see: the record is read from Ghost). A
 * matching request is
 * answered APPROVAL_PENDING with an approval id; once a person approves it (`ghostgate approvals
 * approve ID`), the same request by the same key is forwarded once.
 */
export const CONFIRM_PATTERN = /^[a-z][a-z0-9_]*:(\*|[a-z][A-Za-z0-9_]*)$/;
export const ConfirmSchema = z.array(z.string().regex(CONFIRM_PATTERN, 'resource:action, resource:* or posts:publish')).max(100);

/** `sent` is stored as published for a post that is not email-only (ghost/core/core/server/models/post.js onSaving). */
const PUBLISHING = new Set(['published', 'scheduled', 'sent']);

/** The facts a confirm item is judged on: the route, the query, and the body when the gateway read it. */
export interface ConfirmFacts {
  readonly route: RouteEntry;
  readonly query: ReadonlyMap<string, string>;
  /** The JSON body, or undefined when none was read. */
  readonly body: unknown;
  /** The record the call acts on as Ghost has it now (null: none), or undefined when not read. */
  readonly record?: unknown;
}

/**
 * Whether the pipeline must read the record this call acts on (an edit or delete of one post, page or
 * member by id, under an item of its resource): a held call is bound to the record's version, so that an
 * approval cannot let it through after the record changed under it; and a `publish` item holds an edit of
 * a live record.
 */
export function confirmNeedsRecord(grant: Grant, route: RouteEntry): boolean {
  const r = route.resource;
  if (r !== 'posts' && r !== 'pages' && r !== 'members') return false;
  if ((route.action !== 'edit' && route.action !== 'destroy') || route.path !== `/${r}/:id`) return false;
  return (grant.confirm ?? []).some((c) => c.startsWith(`${r}:`));
}

/** Whether a `publish` item must see the body of this route (the pipeline reads it then). */
export function confirmNeedsBody(grant: Grant, route: RouteEntry): boolean {
  return Boolean(grant.confirm?.includes(`${route.resource}:publish`) && isWrite(route));
}

const isWrite = (route: RouteEntry) =>
  (route.resource === 'posts' || route.resource === 'pages') && (route.action === 'add' || route.action === 'edit');

/** The confirm item this request falls under, or undefined. */
export function confirmItem(grant: Grant, f: ConfirmFacts): string | undefined {
  for (const item of grant.confirm ?? []) {
    const [resource, action] = item.split(':') as [string, string];
    if (resource !== f.route.resource) continue;
    if (action === '*' || action === f.route.action) return item;
    if (action === 'publish' && isWrite(f.route)) {
      const record = ((f.body as Record<string, unknown> | undefined)?.[resource] as unknown[] | undefined)?.[0] as
        Record<string, unknown> | undefined;
      if (PUBLISHING.has(String(record?.status))) return item;
      if (record?.published_at !== undefined && record.published_at !== null) return item;
      if (f.route.action === 'edit' && f.query.has('newsletter')) return item;
      // CASE: an edit of what readers see now, or will see at its publication time.
      const now = f.record as Record<string, unknown> | null | undefined;
      if (f.route.action === 'edit' && PUBLISHING.has(String(now?.status))) return item;
    }
  }
  return undefined;
}

/** Confirm items that name no route of the catalog (a typo would leave the call unguarded). */
export function validateConfirm(items: readonly string[], catalog: Catalog): string[] {
  const scopes = new Set(catalog.scopes);
  const resources = new Set(catalog.resources);
  return items
    .filter((c) => {
      const [resource, action] = c.split(':') as [string, string];
      if (action === 'publish') return resource !== 'posts' && resource !== 'pages';
      return action === '*' ? !resources.has(resource) : !scopes.has(c);
    })
    .map((c) => `confirm "${c}": no route needs it in the Ghost ${catalog.ghostVersion} catalog (publish is for posts and pages)`);
}

export const confirmPart: GrantPart<'confirm'> = {
  part: 'confirm',
  // A child may ask for more approvals, never fewer.
  subset: (child, parent) =>
    (parent.confirm ?? [])
      .filter((c) => !(child.confirm ?? []).includes(c))
      .map((c) => `confirm must keep ${c}: the parent needs a person's approval for it`),
  inherit: (child, parent) => (child.confirm === undefined && parent.confirm?.length ? [...parent.confirm] : undefined),
  describe: (g) => (g.confirm?.length ? [`needs a person's approval, once per call, for: ${g.confirm.join(', ')}`] : []),
};

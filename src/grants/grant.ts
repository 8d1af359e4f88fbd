import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';

/**
 * A key's grant: a versioned document. Version 1 holds scopes; constraints,
 * field rules and redaction extend it without changing its shape.
 *
 * A scope is `resource:action` as Ghost names them (`posts:browse`,
 * `webhooks:add`), `resource:*` for every action on a resource, or `*`.
 */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_]*:(\*|[a-z][A-Za-z0-9_]*))$/;

export const GrantSchema = z
  .object({
    version: z.literal(1),
    scopes: z.array(z.string().regex(SCOPE_PATTERN, 'a scope is resource:action, resource:* or *')).max(1000),
  })
  .strict();

export type Grant = z.infer<typeof GrantSchema>;

/** Checks scopes against the catalog: a scope that names no route is a typo, not a wish. */
export function validateScopes(scopes: readonly string[], catalog: Catalog): string[] {
  const errors: string[] = [];
  const resources = new Set(catalog.resources);
  const known = new Set(catalog.scopes);
  for (const s of scopes) {
    if (!SCOPE_PATTERN.test(s)) errors.push(`"${s}" is not resource:action, resource:* or *`);
    else if (s === '*') continue;
    else if (s.endsWith(':*')) {
      if (!resources.has(s.slice(0, -2))) errors.push(`"${s}": no resource "${s.slice(0, -2)}" in the Ghost ${catalog.ghostVersion} catalog`);
    } else if (!known.has(s)) errors.push(`"${s}": no route needs this scope in the Ghost ${catalog.ghostVersion} catalog (see \`ghostgate catalog\`)`);
  }
  return errors;
}

export function parseScopeList(list: string): string[] {
  return [...new Set(list.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

/** Compiled form used on the hot path. */
export interface CompiledGrant {
  readonly grant: Grant;
  holds(scope: string, resource: string): boolean;
}

export function compileGrant(grant: Grant): CompiledGrant {
  const set = new Set(grant.scopes);
  const all = set.has('*');
  return {
    grant,
    holds: (scope, resource) => all || set.has(scope) || set.has(`${resource}:*`),
  };
}

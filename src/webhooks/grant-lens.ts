import { constraintFor, needsOwnedIds, recordBreaks, type ConstrainedResource } from '../grants/constraints.js';
import type { Grant } from '../grants/grant.js';
import { redact, redactionsOf } from '../grants/personal-data.js';

/**
 * The one place the webhook relay touches the grant's record rules: whether a
 * record is inside the key's constraint, and its redaction. It calls the same
 * functions the proxy uses on Ghost's answers (grants/constraints.ts
 * `recordBreaks`, grants/personal-data.ts `redact`), so a delivery shows exactly what
 * a read through the gateway would; when those change, only this adapter does.
 */
type Json = Record<string, unknown>;
export type DeliveredResource = 'posts' | 'pages' | 'tags' | 'members';

export interface GrantLens {
  /** The constrained resource needs the ids this key created (a `createdByKey` constraint). */
  needsOwned(resource: DeliveredResource): boolean;
  /** True when the record (Ghost's Admin API JSON) is inside the key's constraint; a field it lacks counts against it. */
  inside(resource: DeliveredResource, record: Json, owned: ReadonlySet<string>): boolean;
  /** Removes the key's redacted fields, in place, from a record of the resource and everything nested in it. */
  redact(resource: DeliveredResource, record: Json): void;
}

const constrained = (r: DeliveredResource): r is ConstrainedResource => r === 'posts' || r === 'pages' || r === 'members';

export function grantLens(grant: Grant): GrantLens {
  const rules = redactionsOf(grant);
  return {
    needsOwned(resource) {
      const c = constrained(resource) ? constraintFor(grant, resource) : undefined;
      return c !== undefined && needsOwnedIds(c);
    },
    inside(resource, record, owned) {
      const c = constrained(resource) ? constraintFor(grant, resource) : undefined;
      try {
        return c === undefined || recordBreaks(c, record, (id) => owned.has(id), true) === undefined;
      } catch {
        return false; // fail closed: an anchor not pinned yet (the key's first request pins it) delivers nothing
      }
    },
    redact(resource, record) {
      if (rules) redact(record, rules, resource);
    },
  };
}

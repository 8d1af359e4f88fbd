import type { Grant } from './grant.js';
import { GRANT_PARTS } from './parts.js';

/**
 * Child keys hold a checked subset of their parent's grant. Returns why a
 * child grant is not a subset (empty when it is): each rule kind of the
 * registry (parts.ts) says how its part must relate to the parent's. Scopes
 * covered; every parent constraint present and at least as tight; every
 * denied field still denied, allowlists and statuses no wider; every
 * redaction kept; narrow forms, "never send email" and blanked settings
 * secrets kept.
 */
/**
 * Every top-level part of a grant: `version` and each rule kind of the registry. attenuate.test.ts
 * compares this list with the schema, so a child can never gain through a part the registry forgot.
 */
export const SUBSET_CHECKED: readonly string[] = ['version', ...GRANT_PARTS.map((p) => p.part)];

export function subGrantProblems(child: Grant, parent: Grant): string[] {
  return GRANT_PARTS.flatMap((p) => p.subset(child, parent));
}

/** A child defaults to its parent's rules: scopes are what it names, everything else is inherited unless tightened. */
export function inheritRules(child: Grant, parent: Grant): Grant {
  const out: Record<string, unknown> = { ...child };
  for (const p of GRANT_PARTS) {
    const v = p.inherit?.(child, parent);
    if (v !== undefined) out[p.part] = v;
  }
  return out as Grant;
}

import { anchorSlug, isPinned } from './anchors.js';
import { constraintFor, grantSendsNoEmail } from './constraints.js';
import { scopeCovers, type Anchor, type Grant } from './grant.js';
import { narrowProblems } from './narrow.js';

/**
 * Child keys hold a checked subset of their parent's grant. Returns why a
 * child grant is not a subset (empty when it is). The rule for each part:
 * scopes covered; every parent constraint present and at least as tight;
 * every denied field still denied, allowlists and statuses no wider;
 * every redaction kept.
 */
const covers = scopeCovers;

const subset = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.every((x) => b.includes(x));
/** Anchors are the same record when their ids are equal; two unpinned anchors, when their slugs are. */
const sameAnchor = (a: Anchor, b: Anchor) => (isPinned(a) && isPinned(b) ? a.id === b.id : !isPinned(a) && !isPinned(b) && anchorSlug(a) === anchorSlug(b));
const anchorSubset = (a: readonly Anchor[] | undefined, b: readonly Anchor[]) => a !== undefined && a.every((x) => b.some((y) => sameAnchor(x, y)));
const ANCHOR_KEYS = new Set(['tags', 'authors', 'labels']);

/**
 * Every top-level part of a grant, each with its subset rule below. A new part of the grant schema
 * must be added here (attenuate.test.ts compares this list with the schema), so a child can never
 * gain through a part the subset check forgot.
 */
export const SUBSET_CHECKED = ['version', 'scopes', 'constraints', 'fields', 'redact', 'sendEmail', 'revealSettingSecrets', 'narrow'] as const;

export function subGrantProblems(child: Grant, parent: Grant): string[] {
  const problems: string[] = [];
  const ps = new Set(parent.scopes);
  for (const s of child.scopes) if (!covers(ps, s)) problems.push(`scope ${s} is not in the parent's grant`);

  for (const resource of ['posts', 'pages', 'members'] as const) {
    const pc = constraintFor(parent, resource);
    if (!pc) continue;
    const cc = constraintFor(child, resource);
    if (!cc || cc.kind !== pc.kind) {
      problems.push(`the parent is limited to ${resource} by a constraint the child must keep`);
      continue;
    }
    const p = pc.c as Record<string, unknown>;
    const c = cc.c as Record<string, unknown>;
    for (const k of ['tags', 'authors', 'status', 'visibility', 'labels']) {
      if (p[k] === undefined) continue;
      const ok = ANCHOR_KEYS.has(k) ? anchorSubset(c[k] as Anchor[] | undefined, p[k] as Anchor[]) : subset(c[k] as string[] | undefined, p[k] as string[]);
      if (!ok) problems.push(`constraints.${resource}.${k} must be a subset of the parent's`);
    }
    if (p.createdByKey === true && c.createdByKey !== true) problems.push(`constraints.${resource}.createdByKey must stay true`);
  }
  if (parent.constraints?.webhooks?.createdByKey !== false && child.constraints?.webhooks?.createdByKey === false) {
    problems.push('constraints.webhooks.createdByKey must stay true');
  }

  for (const [resource, pr] of Object.entries(parent.fields ?? {})) {
    const cr = child.fields?.[resource as keyof NonNullable<Grant['fields']>];
    if (pr.deny && !pr.deny.every((f) => cr?.deny?.includes(f))) problems.push(`fields.${resource}.deny must keep the parent's denied fields`);
    if (pr.allow && !subset(cr?.allow, pr.allow)) problems.push(`fields.${resource}.allow must be a subset of the parent's`);
    if (pr.status && !subset(cr?.status, pr.status)) problems.push(`fields.${resource}.status must be a subset of the parent's`);
  }
  problems.push(...narrowProblems(child.narrow, parent.narrow));
  for (const [type, fields] of Object.entries(parent.redact ?? {})) {
    const cf = child.redact?.[type as keyof NonNullable<Grant['redact']>] ?? [];
    if (!fields.every((f) => cf.includes(f))) problems.push(`redact.${type} must keep the parent's redactions`);
  }
  if (grantSendsNoEmail(parent) && !grantSendsNoEmail(child)) problems.push('sendEmail must stay false: the parent may not make Ghost send email');
  if (child.revealSettingSecrets === true && parent.revealSettingSecrets !== true) problems.push('revealSettingSecrets: the parent sees settings secrets blanked, so must the child');
  return problems;
}

/** A child defaults to its parent's rules: scopes are what it names, everything else is inherited unless tightened. */
export function inheritRules(child: Grant, parent: Grant): Grant {
  const out: Grant = { ...child };
  if (!child.constraints && parent.constraints) out.constraints = structuredClone(parent.constraints);
  if (!child.fields && parent.fields) out.fields = structuredClone(parent.fields);
  if (!child.redact && parent.redact) out.redact = structuredClone(parent.redact);
  if (!child.narrow && parent.narrow) out.narrow = structuredClone(parent.narrow);
  if (child.sendEmail === undefined && grantSendsNoEmail(parent)) out.sendEmail = false;
  return out;
}

import { loadEscalation, type EscalationCategory, type EscalationTable, type NarrowerForm } from '../catalog/escalation.js';
import { scopeCovers, type Grant } from './grant.js';
import { BOUNDED_CEILINGS, ceilingRole } from './narrow.js';

/**
 * Which escalation scopes a grant holds (src/catalog/data/ghost-*-escalation.tsv),
 * directly, through `resource:*` or through `*`, after its narrower forms.
 * A grant holding any of them is "equivalent to full access": `token create`
 * refuses it without --allow-escalation, and `token show`, `token list` and
 * `explain` say so.
 */
export const FULL_ACCESS_WORDS = 'equivalent to full access';

export interface HeldEscalation {
  readonly scope: string;
  readonly categories: readonly EscalationCategory[];
  readonly why: string;
  /** The narrower form that would make this scope bounded, if Ghost's code allows one. */
  readonly narrower: NarrowerForm | undefined;
}

export interface EscalationReport {
  /** True when the grant holds at least one escalation scope. */
  readonly fullAccess: boolean;
  readonly held: readonly HeldEscalation[];
  /** Escalation scopes the grant holds only in a narrower form, with what that form still lets through. */
  readonly narrowed: readonly { scope: string; bound: string }[];
  /** Union of the categories of `held`, in the table's order. */
  readonly categories: readonly EscalationCategory[];
}

const holds = scopeCovers;

/** What a narrower form still allows, or undefined when the grant does not bound the scope. */
function boundBy(grant: Grant, form: NarrowerForm | undefined): string | undefined {
  if (form === 'invites.maxRole') {
    const max = grant.narrow?.invites?.maxRole;
    if (max && BOUNDED_CEILINGS.includes(max)) return `invites staff up to ${ceilingRole(max)}, who sign in to Ghost directly`;
  }
  if (form === 'themes.keepActive' && grant.narrow?.themes?.keepActive === true)
    return 'uploads and installs themes that never replace the active one';
  return undefined;
}

export function escalationOf(grant: Grant, table: EscalationTable = loadEscalation()): EscalationReport {
  const scopes = new Set(grant.scopes);
  const held: HeldEscalation[] = [];
  const narrowed: { scope: string; bound: string }[] = [];
  for (const e of table.values()) {
    if (!holds(scopes, e.scope)) continue;
    const bound = boundBy(grant, e.narrower);
    if (bound !== undefined) narrowed.push({ scope: e.scope, bound });
    else held.push({ scope: e.scope, categories: e.categories, why: e.why, narrower: e.narrower });
  }
  const categories = [...new Set(held.flatMap((h) => h.categories))];
  return { fullAccess: held.length > 0, held, narrowed, categories };
}

/** One line for people: "equivalent to full access: N escalation scope(s) (categories): a, b, c…". */
export function describeEscalation(r: EscalationReport, max = 6): string {
  if (!r.fullAccess) return 'no escalation scope';
  const names = r.held.map((h) => h.scope);
  const shown = names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');
  return `${FULL_ACCESS_WORDS}: ${names.length} escalation scope${names.length === 1 ? '' : 's'} (${r.categories.join(', ')}): ${shown}`;
}

/** The refusal `token create` gives without --allow-escalation: each scope, why, and the narrower form when there is one. */
export function describeEscalationRefusal(r: EscalationReport): string {
  const lines = r.held.map(
    (h) => `  ${h.scope} (${h.categories.join(', ')}): ${h.why}${h.narrower ? `; narrower form: narrow.${h.narrower}` : ''}`,
  );
  return `this grant is ${FULL_ACCESS_WORDS}; it holds escalation scopes:\n${lines.join('\n')}\nPass --allow-escalation to create it anyway, or drop these scopes (docs/security.md lists them).`;
}

import { readFileSync } from 'node:fs';
import { DEFAULT_GHOST_VERSION, type Catalog } from './catalog.js';

/**
 * Escalation scopes as data (src/catalog/data/ghost-<version>-escalation.tsv):
 * the scopes whose use reaches past the records a key touches — new
 * identities, code on the site, other credentials, everything at once —
 * each with the reading of Ghost's code behind it. A key holding one is
 * "equivalent to full access" (src/grants/escalation.ts). Fails closed: an
 * unknown category, a narrower form the gateway does not implement or a
 * scope no route needs stops the load.
 */
export const ESCALATION_CATEGORIES = ['full_access', 'identity', 'code', 'secrets', 'bulk_loss'] as const;
export type EscalationCategory = (typeof ESCALATION_CATEGORIES)[number];

/** Narrower grant forms the gateway enforces (src/grants/invites.ts, src/grants/themes.ts). */
export const NARROWER_FORMS = ['invites.maxRole', 'themes.keepActive'] as const;
export type NarrowerForm = (typeof NARROWER_FORMS)[number];

export interface EscalationEntry {
  readonly scope: string;
  readonly categories: readonly EscalationCategory[];
  readonly narrower: NarrowerForm | undefined;
  /** What Ghost does that makes the scope an escalation. */
  readonly why: string;
  /** Where in Ghost's code (paths relative to ghost/core). */
  readonly source: string;
}

export type EscalationTable = ReadonlyMap<string, EscalationEntry>;

export function parseEscalation(tsv: string, catalog?: Catalog): EscalationTable {
  const out = new Map<string, EscalationEntry>();
  const known = catalog ? new Set(catalog.scopes) : undefined;
  let header = false;
  tsv.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    if (!header) {
      header = true;
      return;
    }
    const where = `escalation line ${i + 1}`;
    const [scope, cats, narrower, why, source, ...rest] = line.split('\t');
    if (!scope || !cats || !narrower || !why || !source || rest.length > 0)
      throw new Error(`${where}: expected scope, categories, narrower, why, source`);
    if (known && !known.has(scope)) throw new Error(`${where}: no route needs the scope ${scope}`);
    if (out.has(scope)) throw new Error(`${where}: duplicate scope ${scope}`);
    const categories = cats.split(',');
    for (const c of categories)
      if (!(ESCALATION_CATEGORIES as readonly string[]).includes(c)) throw new Error(`${where}: unknown category "${c}"`);
    if (narrower !== '-' && !(NARROWER_FORMS as readonly string[]).includes(narrower))
      throw new Error(`${where}: unknown narrower form "${narrower}"`);
    out.set(scope, {
      scope,
      categories: categories as EscalationCategory[],
      narrower: narrower === '-' ? undefined : (narrower as NarrowerForm),
      why,
      source,
    });
  });
  if (out.size === 0) throw new Error('the escalation table is empty');
  return out;
}

export function escalationFile(ghostVersion = DEFAULT_GHOST_VERSION): URL {
  return new URL(`../../src/catalog/data/ghost-${ghostVersion}-escalation.tsv`, import.meta.url);
}

const loaded = new Map<string, EscalationTable>();

/** The table for a Ghost version, read once per process. */
export function loadEscalation(ghostVersion = DEFAULT_GHOST_VERSION): EscalationTable {
  let t = loaded.get(ghostVersion);
  if (!t) loaded.set(ghostVersion, (t = parseEscalation(readFileSync(escalationFile(ghostVersion), 'utf8'))));
  return t;
}

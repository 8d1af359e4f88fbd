import { labReset, labUp, type LabState } from '../../src/lab/lab.js';
import { labHome, labPaths, labSite } from '../../src/lab/paths.js';

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Brings the lab's real Ghost up once per test process (installing it the first time). */
let pending: Promise<LabState> | undefined;
export function lab(): Promise<LabState> {
  pending ??= labUp(progress);
  return pending;
}

/**
 * A second lab site of its own, for tests that change the site in ways other
 * tests must not see (the destructive identity walk): `<site>-<suffix>`, next
 * to the site GHOSTGATE_LAB_SITE names. `reset` starts it over from an empty
 * database.
 */
export function labAt(suffix: string, reset = false): Promise<LabState> {
  const p = labPaths(labHome(), `${labSite()}-${suffix}`);
  return reset ? labReset(progress, p) : labUp(progress, p);
}

/** Starts a CLI run of the compiled ghostgate (built by `npm test` first). */
export const CLI = new URL('../../bin/ghostgate.js', import.meta.url).pathname;

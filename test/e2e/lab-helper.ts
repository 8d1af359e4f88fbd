import { labUp, type LabState } from '../../src/lab/lab.js';

/** Brings the lab's real Ghost up once per test process (installing it the first time). */
let pending: Promise<LabState> | undefined;
export function lab(): Promise<LabState> {
  pending ??= labUp((line) => process.stderr.write(`${line}\n`));
  return pending;
}

/** Starts a CLI run of the compiled ghostgate (built by `npm test` first). */
export const CLI = new URL('../../bin/ghostgate.js', import.meta.url).pathname;

import { confirmPart } from './confirm.js';
import { constraintsPart } from './constraints.js';
import { sendEmailPart } from './email.js';
import { fieldsPart } from './fields.js';
import { scopesPart, type Grant, type GrantPart } from './grant.js';
import { narrowPart } from './narrow.js';
import { redactPart, revealSettingSecretsPart } from './personal-data.js';

/**
 * The rule registry: every kind of rule a grant holds, once (GrantPart in
 * grant.ts says what each provides). Child keys are checked against, and
 * inherit from, their parent by looping over it (attenuate.ts); `describeGrant`
 * says a grant in words (token show). Each kind lives with the code that
 * enforces it at request time.
 */
export const GRANT_PARTS: readonly GrantPart[] = [
  scopesPart,
  constraintsPart,
  fieldsPart,
  narrowPart,
  redactPart,
  sendEmailPart,
  revealSettingSecretsPart,
  confirmPart,
];

/** The grant in words, one line per rule, in the registry's order. */
export function describeGrant(grant: Grant): string[] {
  return GRANT_PARTS.flatMap((p) => p.describe(grant));
}

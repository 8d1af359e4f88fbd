import type { AuthorizeStep } from '../step.js';
import { confirmStep } from './confirm.js';
import { anchorsStep, constraintsStep, ledgerStep } from './constraints.js';
import { emailStep } from './email.js';
import { exposureStep } from './exposure.js';
import { bodyChecksStep, bodyReadStep, bulkAddTagStep, bulkBodyStep, queryFieldsStep } from './fields.js';
import { filterStep } from './filter.js';
import { redactStep, settingSecretsStep } from './personal-data.js';
import { relationStep } from './relations.js';
import { escalationStep, scopeStep, upstreamStep } from './scopes.js';
import { webhookEventStep, webhookOwnerStep, webhookRelayStep } from './webhooks.js';

/**
 * The decision's rules, in the order authorize() asks them. The order is part of the answer: the
 * cheapest and most general refusals first (scope, escalation, upstream), every rule that holds for
 * all keys before the `withRules` ones, the body's checks last, after the facts they read are asked
 * for. A new rule kind is a grant part (src/grants/parts.ts) plus its steps here.
 */
export const AUTHORIZE_STEPS: readonly AuthorizeStep[] = [
  scopeStep,
  escalationStep,
  upstreamStep,
  anchorsStep,
  webhookOwnerStep,
  webhookRelayStep,
  webhookEventStep,
  filterStep,
  exposureStep,
  relationStep,
  settingSecretsStep,
  bulkAddTagStep,
  redactStep,
  emailStep,
  queryFieldsStep,
  bodyReadStep,
  constraintsStep,
  bodyChecksStep,
  bulkBodyStep,
  ledgerStep,
  confirmStep,
];

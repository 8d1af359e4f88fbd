import { checkOracles, redactionsOf } from '../../../grants/personal-data.js';
import { deny, type AuthorizeStep } from '../step.js';

/** Responses that are not JSON records, so they can be neither redacted nor filtered. */
const EXPORTS = new Set(['GET /members/upload', 'GET /posts/export', 'GET /db', 'GET /exports/download']);

/**
 * Settings that are secrets (the private site's password, webhook URLs, keys) are blanked for every
 * key unless its grant says otherwise: Ghost itself masks only /secret|api_key/ keys.
 */
export const settingSecretsStep: AuthorizeStep = {
  name: 'setting-secrets',
  kind: 'revealSettingSecrets',
  decide: ({ g, route, effects }) => {
    if (route.resource === 'settings' && g.revealSettingSecrets !== true) effects.redact = { fields: new Map(), settingSecrets: true };
    return undefined;
  },
};

/** Redaction: fields removed from every answer, and never tested by filter, order, search or a by-value route. */
export const redactStep: AuthorizeStep = {
  name: 'redact',
  kind: 'redact',
  withRules: true,
  decide: ({ g, route, routeKey, request, effects }) => {
    const redactions = redactionsOf(g, route);
    if (!redactions) return undefined;
    if (EXPORTS.has(routeKey)) {
      return deny(
        'RESPONSE_UNFILTERABLE',
        `This key's redaction rules cannot be applied to ${route.method} ${route.path}.`,
        'The route answers with an export, not JSON records.',
        'Remove the redact rules, or use the JSON browse routes.',
      );
    }
    // A redacted field may not be tested either: by filter, order, search or a by-value route.
    const oracle = checkOracles(redactions, route, request.query);
    if (oracle)
      return deny(
        'REDACTED_FIELD_QUERIED',
        `Refused: ${oracle}.`,
        `${route.method} ${route.path}: ${oracle}.`,
        'A key may not filter, order, search or look records up by a field it may not see.',
      );
    effects.redact = redactions;
    return undefined;
  },
};

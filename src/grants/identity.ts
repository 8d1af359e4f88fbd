import type { RouteEntry } from '../catalog/catalog.js';

/**
 * The gateway's own identity is untouchable: routes that read or change the
 * upstream credential's identity or secrets are refused for every key,
 * whatever its scopes (IDENTITY_PROTECTED). Each rule cites the Ghost code
 * that makes the route reach the credential (paths relative to ghost/core).
 * Ghost itself refuses every /integrations route to an integration key
 * (core/server/web/api/endpoints/admin/middleware.js:54-100), so with an
 * integration upstream no key reaches that integration's own rows; with a
 * staff token upstream the one integrations route that reaches the token,
 * the key refresh, is refused here.
 */
export interface UpstreamIdentity {
  readonly kind: 'integration' | 'staff';
  /** The staff user the token belongs to (learned from Ghost at start-up); undefined for an integration. */
  readonly userId?: string | undefined;
}

export interface IdentityRule {
  /** `METHOD /path` as in the catalog, or a path prefix ending in `/*`. */
  readonly route: string;
  /** Applies only when this holds; always when absent. */
  readonly when?: (r: {
    params: Readonly<Record<string, string>>;
    query: ReadonlyMap<string, string>;
    identity: UpstreamIdentity;
  }) => string | undefined;
  readonly why: string;
  readonly source: string;
}

/** Ghost reads `include` as comma-separated, trimmed, lower-cased names (@tryghost/api-framework lib/utils/options.js trimAndLowerCase). */
function includes(query: ReadonlyMap<string, string>, name: string): boolean {
  return (
    query
      .get('include')
      ?.split(',')
      .some((x) => x.trim().toLowerCase() === name) ?? false
  );
}

/**
 * `:id` names the upstream user: `me` (core/server/api/endpoints/utils/serializers/input/users.js:22-27)
 * or its id. Compared without case: Ghost's id validator is case-insensitive
 * (@tryghost/api-framework lib/validators/input/all.js:14) and MySQL's default
 * collation compares ids without case.
 */
function namesUpstreamUser(id: string, identity: UpstreamIdentity): string | undefined {
  const v = id.toLowerCase();
  if (v === 'me') {
    // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
    return '`me` is the upstream credential’s own user';
  }
  if (identity.kind !== 'staff') return undefined;
  if (identity.userId === undefined) {
    // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
    return 'the upstream staff user’s id is not known here, so any user id could be it';
  }
  if (v !== identity.userId.toLowerCase()) return undefined;
  // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
  return 'this is the upstream staff user';
}

export const IDENTITY_RULES: readonly IdentityRule[] = [
  {
    route: 'GET /users/:id/token',
    why: 'returns the caller’s own staff token: the gateway’s upstream credential',
    source: 'core/server/api/endpoints/users.js:19-32,55-64,253-270',
  },
  {
    route: 'PUT /users/:id/token',
    why: 'rotates the caller’s own staff token and returns the new secret',
    source: 'core/server/api/endpoints/users.js:272-290',
  },
  {
    route: 'PUT /users/password',
    why: 'sets the password of the upstream user, or of another user without the old password',
    source: 'core/server/api/endpoints/users.js:213-238; core/server/models/user.js:1164-1195',
  },
  { route: 'PUT /users/owner', why: 'moves the Owner role', source: 'core/server/api/endpoints/users.js:240-251' },
  {
    route: 'PUT /users/:id',
    // The router fills `:id` on this route.
    when: (r) => namesUpstreamUser(r.params.id!, r.identity),
    why: 'changes the upstream user’s email (no verification: a password reset then goes to the new address), name or status',
    source: 'core/server/api/endpoints/utils/serializers/input/users.js:22-33; core/server/models/user.js:592-652',
  },
  {
    route: 'DELETE /users/:id',
    // The router fills `:id` on this route.
    when: (r) => namesUpstreamUser(r.params.id!, r.identity),
    why: 'deletes the upstream user together with its staff token',
    source: 'core/server/services/users.js:177-215; core/server/models/user.js:963-973',
  },
  {
    route: 'POST /integrations/:id/api_key/:keyid/refresh',
    why: 'rotates any api_keys row whatever the integration id, the upstream staff token or integration key included',
    source: 'core/server/services/integrations/integrations-service.js:14-42',
  },
  {
    route: 'GET /db',
    when: (r) =>
      includes(r.query, 'api_keys')
        ? // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
          'include=api_keys'
        : r.query.has('filename')
          ? // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
            'filename= (a stored backup the gateway cannot read first)'
          : undefined,
    why: 'the api_keys table holds every key’s secret, the upstream credential’s too',
    source: 'core/server/api/endpoints/db.js:49-85; core/server/data/exporter/table-lists.js:2-81; core/server/data/db/backup.js:28-45',
  },
  {
    route: 'POST /db/backup',
    when: (r) => {
      if (!includes(r.query, 'api_keys')) return undefined;
      // Stryker disable next-line StringLiteral: words of the refusal (its `why`): a text or undefined is what decides
      return 'include=api_keys';
    },
    why: 'writes every key’s secret to a backup that GET /db?filename= reads back',
    source: 'core/server/api/endpoints/db.js:21-48; core/server/data/db/backup.js:47-72',
  },
  {
    route: 'GET /identities',
    why: 'a site-signed token naming the upstream user’s email and role',
    source: 'core/server/api/endpoints/identities.js; core/server/services/identity-tokens/identity-token-service.js:14-28',
  },
  {
    route: 'GET /featurebase/token',
    why: 'a token naming the upstream user’s name and email',
    source: 'core/server/api/endpoints/featurebase.js',
  },
  {
    route: '/session/*',
    why: 'sign-in, sign-out and 2FA of a person’s session',
    source: 'core/server/api/endpoints/session.js; core/server/web/api/endpoints/admin/routes.js:411-424',
  },
  {
    route: '/authentication/*',
    why: 'set-up, password reset, invitation and the reset of every key and session',
    source:
      'core/server/api/endpoints/authentication.js; core/server/web/api/endpoints/admin/routes.js:428-447; core/server/services/auth/reset-authentication.js:21-47',
  },
];

function matches(rule: IdentityRule, route: RouteEntry): boolean {
  if (rule.route.endsWith('/*')) {
    const prefix = rule.route.slice(0, -2);
    return route.path === prefix || route.path.startsWith(`${prefix}/`);
  }
  return rule.route === `${route.method} ${route.path}`;
}

/** Why the request touches the upstream credential's identity, or undefined when it does not. */
export function identityGuard(
  route: RouteEntry,
  params: Readonly<Record<string, string>>,
  query: ReadonlyMap<string, string>,
  identity: UpstreamIdentity,
): { rule: IdentityRule; why: string } | undefined {
  for (const rule of IDENTITY_RULES) {
    if (!matches(rule, route)) continue;
    if (!rule.when) return { rule, why: rule.why };
    const detail = rule.when({ params, query, identity });
    if (detail !== undefined) return { rule, why: `${rule.why} (${detail})` };
  }
  return undefined;
}

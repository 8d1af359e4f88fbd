import type { RouteEntry } from '../catalog/catalog.js';
import type { UpstreamReach } from '../catalog/permissions.js';
import type { CompiledGrant } from './grant.js';
import { identityGuard, type UpstreamIdentity } from './identity.js';
import { decideInvite, type GhostRole } from './invites.js';
import { ceilingRole } from './narrow.js';
import { decideThemeName, ghostThemeName, installThemeName } from './themes.js';

/**
 * The rules about the gateway's own identity and the narrower forms of
 * escalation scopes, asked by authorize() right after the scope check:
 *   1. identity-protected routes are refused for every key (src/grants/identity.ts);
 *   2. when Ghost would refuse the upstream credential anyway, authorize() says so;
 *   3. `narrow.invites.maxRole` and `narrow.themes.keepActive` are checked on the
 *      request as Ghost will read it, with the facts the pipeline gathers
 *      (the JSON body, Ghost's roles, the active theme, the upload's file name).
 * Pure: undefined when these rules have nothing to say.
 */
export interface EscalationNeed {
  /** Ghost's GET /roles/ (role ids are per site). */
  roles?: true;
  /** The `active_theme` setting. */
  activeTheme?: true;
  /** The multipart body, read and parsed with busboy as Ghost's multer does; its bytes are what is forwarded. */
  upload?: true;
}

export interface EscalationFacts {
  readonly roles?: readonly GhostRole[];
  readonly activeTheme?: string;
  /** The uploaded file's name as multer gives it to Ghost (`file.originalname`). */
  readonly upload?: { readonly originalname: string };
}

export interface GuardInput {
  readonly grant: CompiledGrant;
  readonly route: RouteEntry;
  readonly upstream: UpstreamReach;
  readonly identity: UpstreamIdentity;
  readonly request: {
    readonly query: ReadonlyMap<string, string>;
    readonly params: Readonly<Record<string, string>>;
    readonly body?: unknown;
    readonly escalation?: EscalationFacts;
  };
}

type Refusal = {
  allow: false;
  code: 'IDENTITY_PROTECTED' | 'INVITE_ROLE_REFUSED' | 'THEME_ACTIVE_REFUSED' | 'BODY_INVALID';
  message: string;
  context: string;
  help: string;
};
export type GuardResult = undefined | Refusal | { allow: 'need'; need: { body?: true; escalation?: EscalationNeed } };

export function guardEscalation({ grant, route, upstream, identity, request }: GuardInput): GuardResult {
  const at = `${route.method} ${route.path}`;
  const id = identityGuard(route, request.params, request.query, identity);
  if (id) {
    return {
      allow: false,
      code: 'IDENTITY_PROTECTED',
      message: `${at} reads or changes the gateway's own Ghost credential or identity: no key may use it.`,
      context: `${at}: ${id.why}.`,
      help: `Ghost's reading: ${id.rule.source}. Do this in Ghost Admin, as a person.`,
    };
  }
  if (!upstream.ok) return undefined;
  const narrow = grant.grant.narrow;

  const maxRole = narrow?.invites?.maxRole;
  if (maxRole && route.method === 'POST' && route.path === '/invites') {
    const facts = request.escalation;
    if (request.body === undefined || !facts?.roles) return need(request.body === undefined, facts?.roles ? undefined : { roles: true });
    const v = decideInvite(request.body, facts.roles, maxRole);
    if (!v.ok)
      return refuse(
        v.code === 'BODY_INVALID' ? 'BODY_INVALID' : 'INVITE_ROLE_REFUSED',
        `Refused: ${v.why}.`,
        `${at}: ${v.why}.`,
        `This key may invite staff up to ${ceilingRole(maxRole)} (narrow.invites.maxRole).`,
      );
  }

  if (
    narrow?.themes?.keepActive === true &&
    route.method === 'POST' &&
    (route.path === '/themes/upload' || route.path === '/themes/install')
  ) {
    const upload = route.path === '/themes/upload';
    const facts = request.escalation;
    if (facts?.activeTheme === undefined || (upload && !facts.upload)) {
      return need(false, {
        ...(facts?.activeTheme === undefined ? { activeTheme: true as const } : {}),
        ...(upload && !facts?.upload ? { upload: true as const } : {}),
      });
    }
    const name = upload ? ghostThemeName(facts.upload!.originalname) : installThemeName(request.query.get('ref') ?? '');
    const v = decideThemeName(name, facts.activeTheme);
    if (!v.ok)
      return refuse(
        'THEME_ACTIVE_REFUSED',
        `Refused: ${v.why}.`,
        `${at}: ${v.why}.`,
        'This key may add themes but never replace the active one (narrow.themes.keepActive); give the theme another name.',
      );
  }
  return undefined;
}

function need(body: boolean, escalation: EscalationNeed | undefined): GuardResult {
  return { allow: 'need', need: { ...(body ? { body: true as const } : {}), ...(escalation ? { escalation } : {}) } };
}

function refuse(code: Refusal['code'], message: string, context: string, help: string): Refusal {
  return { allow: false, code, message, context, help };
}

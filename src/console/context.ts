import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { Logger } from 'pino';
import { auditAdminEvent, type AdminEvent, type AdminEventWriter } from '../admin/actor.js';
import { ERRORS } from '../errors/errors.js';
import { h } from './html.js';
import { sendHtml } from './http.js';
import { bare, refusal } from './layout.js';
import type { LoginThrottle } from '../admin/throttle.js';
import type { Config } from '../config/config.js';
import type { ErrorCode } from '../errors/errors.js';
import type { MasterSecret } from '../secrets/keys.js';
import type { AuditStore } from '../store/audit.js';
import type { Store } from '../store/store.js';
import type { GhostWebhooks } from '../webhooks/ghost-client.js';
import type { ConsoleSessions, SignedIn } from './session.js';

/** What the console's pages stand on: the admin services' context, plus the audit writer for admin actions. */
export interface ConsoleDeps {
  readonly config: Config;
  readonly store: Store;
  readonly master: MasterSecret;
  /** The gateway's audit writer: every admin action is written through it (admin/actor.ts). */
  readonly audit?: AdminEventWriter | undefined;
  /** The audit trail, read for the audit page, a key's chart and advise. */
  readonly auditStore?: AuditStore | undefined;
  /** Ghost's webhooks API through the upstream credential: a revoked key's webhooks are removed. */
  readonly ghost?: GhostWebhooks | undefined;
  readonly log: Logger;
  readonly throttle: LoginThrottle;
  readonly trustedProxies?: BlockList | undefined;
  readonly now?: () => number;
}

/** One console request, as a page handler sees it. */
export interface PageRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /**
   * GET (HEAD included: the same page without its body) or POST. Pages decide on this, never on
   * req.method: a HEAD read as "not GET" would run a form's change without its Origin and CSRF checks.
   */
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  /** The path below /ghostgate/console/ (no leading slash). */
  readonly path: string;
  readonly deps: ConsoleDeps;
  readonly sessions: ConsoleSessions;
  readonly now: number;
  readonly ip: string;
  /** The POST's form (CSRF already checked when signed in). */
  readonly form: URLSearchParams | undefined;
}

export interface SignedInRequest extends PageRequest {
  readonly who: SignedIn;
  /** One id for a change's intent (written by console.ts before the page runs) and its outcome. */
  readonly requestId: string;
  /** Set once the page has recorded its outcome; console.ts records one for a page that did not. */
  outcome?: 'recorded';
}

/**
 * A change's intent, durable in the audit before the change is made, as the management API's
 * (src/api/handler.ts): false, with the AUDIT_UNAVAILABLE page sent and nothing changed, when it
 * cannot be written.
 */
export async function intentFirst(p: PageRequest, event: Omit<AdminEvent, 'kind'>): Promise<boolean> {
  try {
    await auditAdminEvent(p.deps.audit, { ...event, kind: 'intent' });
    return true;
  } catch (err) {
    p.deps.log.error({ err: { message: (err as Error).message } }, 'console action refused: its intent could not be audited');
    sendHtml(p.res, ERRORS.AUDIT_UNAVAILABLE.status, bare('Not changed', h`<h1>Nothing was changed</h1>${refusal('AUDIT_UNAVAILABLE')}`));
    return false;
  }
}

/** A change's outcome, after its intent: the change is made, so a record that cannot be written is logged, not answered. */
export async function outcomeOf(p: PageRequest, event: Omit<AdminEvent, 'kind'>): Promise<void> {
  await auditAdminEvent(p.deps.audit, event).catch((err: unknown) => {
    p.deps.log.error({ err: { message: (err as Error).message } }, 'console action outcome not audited');
  });
}

/**
 * The audit record of an admin action's outcome, done by the signed-in admin of this request
 * (admin/actor.ts): allowed, or refused with its code.
 */
export async function recordAction(p: SignedInRequest, action: string, target: string | null, code?: ErrorCode): Promise<void> {
  p.outcome = 'recorded';
  await auditAdminEvent(p.deps.audit, {
    requestId: p.requestId,
    actor: p.who.actor,
    action,
    target,
    at: p.now,
    clientIp: p.ip,
    ...(code ? { decision: 'deny' as const, code } : {}),
  });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { auditAdminEvent, type AdminActor } from '../admin/actor.js';
import { CONSOLE_PATH, REQUEST_PATH } from '../admin/links.js';
import { clientIp } from '../pipeline/lifecycle/lifecycle.js';
import { CSS, JS } from './assets.js';
import { intentFirst, outcomeOf, type ConsoleDeps, type PageRequest, type SignedInRequest } from './context.js';
import { h } from './html.js';
import { readForm, redirect, sendAsset, sendHtml } from './http.js';
import { bare, refusal } from './layout.js';
import { ERRORS, type ErrorCode } from '../errors/errors.js';
import { approvalsPage, decideApprovalPage, tryPage } from './pages/approvals.js';
import { auditExport, auditPage } from './pages/audit.js';
import { accountPage, setupPage, signInPage, signOutPage } from './pages/auth.js';
import { createPage, newKeyPage, reviewPage } from './pages/create.js';
import { keyPage, keysPage, revokePage, rotatePage } from './pages/keys.js';
import { decideRequestPage, requesterPage, requestPage, requestsPage } from './pages/requests.js';
import { ConsoleSessions, csrfOk } from './session.js';

/**
 * The web console (docs/console.md): server-rendered pages under
 * /ghostgate/console/ and the requester's page at /ghostgate/request, served
 * by the gateway's own server (server.ts hands these paths here before the
 * proxy pipeline). Pages call the admin services (src/admin/) as the CLI
 * does. Every POST passes the Origin check, and, signed in, the CSRF token.
 */
type Route = readonly [
  method: 'GET' | 'POST' | 'ANY',
  pattern: RegExp,
  handler: (p: SignedInRequest, ...params: string[]) => Promise<void> | void,
  /**
   * The admin action a POST to it is (`keys.revoke`…), from the page's parameters: its intent is
   * durable in the audit before the page changes anything, as the management API's (src/api/handler.ts).
   * None for a POST that changes nothing (the review step, "try a request").
   */
  change?: (form: URLSearchParams, ...params: string[]) => { action: string; target: string | null },
];

const ID = '([0-9a-f]{24})';
const UUID = '([0-9a-f-]{36})';
const SIGNED_IN: readonly Route[] = [
  ['GET', /^keys$/, keysPage],
  ['GET', /^keys\/new$/, newKeyPage],
  ['POST', /^keys\/review$/, reviewPage],
  ['POST', /^keys\/create$/, createPage, () => ({ action: 'keys.create', target: null })],
  ['GET', new RegExp(`^keys/${ID}$`), keyPage],
  ['ANY', new RegExp(`^keys/${ID}/revoke$`), revokePage, (_, id) => ({ action: 'keys.revoke', target: id })],
  ['ANY', new RegExp(`^keys/${ID}/rotate$`), rotatePage, (_, id) => ({ action: 'keys.rotate', target: id })],
  ['GET', /^audit$/, auditPage],
  ['GET', /^audit\/export$/, auditExport],
  ['GET', /^approvals$/, (p) => approvalsPage(p)],
  [
    'POST',
    /^approvals\/([\w-]{1,64})\/approve$/,
    (p, id) => decideApprovalPage(p, id, 'approved'),
    (_, id) => ({ action: 'approvals.approve', target: id }),
  ],
  [
    'POST',
    /^approvals\/([\w-]{1,64})\/deny$/,
    (p, id) => decideApprovalPage(p, id, 'denied'),
    (_, id) => ({ action: 'approvals.deny', target: id }),
  ],
  ['ANY', /^try$/, tryPage],
  ['GET', /^requests$/, (p) => requestsPage(p)],
  ['GET', new RegExp(`^requests/${UUID}$`), (p, id) => requestPage(p, id)],
  [
    'POST',
    new RegExp(`^requests/${UUID}/approve$`),
    (p, id) => decideRequestPage(p, id, 'approved'),
    (_, id) => ({ action: 'requests.approve', target: id }),
  ],
  [
    'POST',
    new RegExp(`^requests/${UUID}/deny$`),
    (p, id) => decideRequestPage(p, id, 'denied'),
    (_, id) => ({ action: 'requests.deny', target: id }),
  ],
  [
    'ANY',
    /^account$/,
    accountPage,
    (f) => ({ action: f.get('action') === 'disable' ? 'accounts.totp_off' : 'accounts.totp_on', target: null }),
  ],
  ['POST', /^signout$/, signOutPage, () => ({ action: 'session.signout', target: null })],
];

/**
 * A console request's Host header, lower case, port kept. Never X-Forwarded-Host: a proxy in front passes
 * the browser's Host on (`proxy_set_header Host $host`), and a client's own X-Forwarded-Host, passed
 * through by a proxy that does not set it, would choose the name the rule below checks.
 */
const hostOf = (req: IncomingMessage): string => (req.headers.host ?? '').trim().toLowerCase();

/** A loopback name or an IP literal, with or without a port: never a name an attacker's DNS can point here. */
const LITERAL_HOST = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])(:\d{1,5})?$/;

export class WebConsole {
  readonly sessions: ConsoleSessions;
  constructor(private readonly deps: ConsoleDeps) {
    const c = deps.config.console;
    this.sessions = new ConsoleSessions({
      store: deps.store,
      policy: { idleMs: c.sessionIdleMinutes * 60_000, absoluteMs: c.sessionMaxHours * 3600_000 },
      secureCookies: c.secureCookies,
      publicUrl: deps.config.publicUrl,
      trustedProxies: deps.trustedProxies,
    });
  }

  isPath(url: string | undefined): boolean {
    const path = (url ?? '').split('?')[0]!;
    return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`) || path === REQUEST_PATH;
  }

  /** What the management API calls at merge: the admin a browser session stands for. */
  authenticateSession(req: IncomingMessage): Promise<AdminActor | undefined> {
    return this.sessions.authenticateSession(req, (this.deps.now ?? Date.now)());
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? '';
    const path = url.pathname === REQUEST_PATH ? '' : url.pathname.slice(CONSOLE_PATH.length).replace(/^\/+/, '');
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      req.resume();
      sendHtml(res, 405, bare('Not allowed', h`<h1>Method not allowed</h1>`), { allow: 'GET, POST' });
      return;
    }
    if (method !== 'POST') req.resume();
    if (path === 'console.css') {
      sendAsset(res, 'text/css; charset=utf-8', CSS);
      return;
    }
    if (path === 'console.js') {
      sendAsset(res, 'text/javascript; charset=utf-8', JS);
      return;
    }
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.deps.trustedProxies) ?? 'unknown';
    // DNS rebinding: a page of another site whose name the attacker points at this gateway reaches it
    // with its own name as Host (and Origin). The console answers only to publicUrl's host, or to a
    // loopback name or IP literal, which no other site's page can have.
    if (!this.hostOk(req)) {
      req.resume();
      await this.refused(null, 'CONSOLE_HOST', ip, now);
      sendHtml(res, ERRORS.CONSOLE_HOST.status, bare('Refused', h`<h1>Refused</h1>${refusal('CONSOLE_HOST')}`));
      return;
    }
    // A POST from another origin is refused before its form is read (CSRF, login CSRF included).
    if (method === 'POST' && !this.sessions.originOk(req)) {
      req.resume();
      await this.refused(null, 'CONSOLE_CSRF', ip, now);
      sendHtml(
        res,
        ERRORS.CONSOLE_CSRF.status,
        bare('Refused', h`<h1>Refused</h1>${refusal('CONSOLE_CSRF', 'Its Origin is not this gateway.')}`),
      );
      return;
    }
    const form = method === 'POST' ? await readForm(req) : undefined;
    if (method === 'POST' && !form) {
      sendHtml(res, 400, bare('Bad request', h`<h1>The form could not be read</h1>`));
      return;
    }
    const p: PageRequest = {
      req,
      res,
      method: method === 'POST' ? 'POST' : 'GET',
      url,
      path,
      deps: this.deps,
      sessions: this.sessions,
      now,
      ip,
      form,
    };

    if (url.pathname === REQUEST_PATH) return requesterPage(p);
    if (path === 'signin') return signInPage(p);
    if (path === 'setup') return setupPage(p);

    const who = await this.sessions.signedIn(req, now);
    if (!who) {
      if (method === 'POST') {
        await this.refused(null, 'CONSOLE_SESSION_ENDED', ip, now);
        sendHtml(
          res,
          401,
          bare(
            'Signed out',
            h`<h1>Your session ended</h1>${refusal('CONSOLE_SESSION_ENDED')}<p><a href="${CONSOLE_PATH}/signin">Sign in again</a></p>`,
          ),
        );
        return;
      }
      redirect(res, `${CONSOLE_PATH}/signin${req.headers.cookie?.includes('ghostgate_session=') ? '?expired=1' : ''}`);
      return;
    }
    if (method === 'POST' && !csrfOk(who.session, form!.get('_csrf'))) {
      await this.refused(who.actor, 'CONSOLE_CSRF', ip, now);
      sendHtml(res, 403, bare('Refused', h`<h1>Refused</h1>${refusal('CONSOLE_CSRF', 'Go back, reload the page and try again.')}`));
      return;
    }
    if (path === '') {
      redirect(res, `${CONSOLE_PATH}/keys`);
      return;
    }
    const signed: SignedInRequest = { ...p, who, requestId: randomUUID() };
    for (const [m, pattern, handler, change] of SIGNED_IN) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (m !== 'ANY' && m !== p.method) continue;
      const params = match.slice(1);
      if (p.method !== 'POST' || !change) return handler(signed, ...params);
      return this.change(signed, change(form!, ...params), () => handler(signed, ...params));
    }
    sendHtml(res, 404, bare('Not found', h`<h1>Not found</h1><p><a href="${CONSOLE_PATH}/keys">Keys</a></p>`));
  }

  /** Whether the request's Host is one the console answers to (see LITERAL_HOST). */
  private hostOk(req: IncomingMessage): boolean {
    const host = hostOf(req);
    if (LITERAL_HOST.test(host)) return true;
    const pub = this.deps.config.publicUrl;
    return pub !== undefined && new URL(pub).host === host;
  }

  /**
   * A change from a console form: its intent is durable in the audit before the page runs (if it cannot
   * be written, nothing is changed: AUDIT_UNAVAILABLE); the page records its outcome, or, when it did
   * not (a refusal it answered itself), one is recorded here from its status.
   */
  private async change(p: SignedInRequest, what: { action: string; target: string | null }, run: () => Promise<void> | void) {
    const event = { requestId: p.requestId, actor: p.who.actor, ...what, at: p.now, clientIp: p.ip };
    if (!(await intentFirst(p, event))) return;
    await run();
    if (p.outcome === 'recorded') return;
    const status = p.res.statusCode;
    const code: ErrorCode = status === 404 ? 'ADMIN_NOT_FOUND' : 'ADMIN_INVALID';
    await outcomeOf(p, { ...event, ...(status >= 400 ? { decision: 'deny' as const, code } : {}) });
  }

  /** The audit record of a console request refused before any page ran (host, origin, CSRF token, session). */
  private async refused(actor: AdminActor | null, code: ErrorCode, ip: string, now: number): Promise<void> {
    await auditAdminEvent(this.deps.audit, {
      actor,
      action: 'console.refused',
      target: null,
      at: now,
      clientIp: ip,
      decision: 'deny',
      code,
    }).catch((err: unknown) => {
      this.deps.log.error({ err: { message: (err as Error).message } }, 'console refusal not audited');
    });
  }
}

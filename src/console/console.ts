import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminActor } from '../admin/actor.js';
import { CONSOLE_PATH, REQUEST_PATH } from '../admin/links.js';
import { clientIp } from '../pipeline/lifecycle/lifecycle.js';
import { CSS, JS } from './assets.js';
import type { ConsoleDeps, PageRequest, SignedInRequest } from './context.js';
import { h } from './html.js';
import { readForm, redirect, sendAsset, sendHtml } from './http.js';
import { bare, refusal } from './layout.js';
import { ERRORS } from '../errors/errors.js';
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
];

const ID = '([0-9a-f]{24})';
const UUID = '([0-9a-f-]{36})';
const SIGNED_IN: readonly Route[] = [
  ['GET', /^keys$/, keysPage],
  ['GET', /^keys\/new$/, newKeyPage],
  ['POST', /^keys\/review$/, reviewPage],
  ['POST', /^keys\/create$/, createPage],
  ['GET', new RegExp(`^keys/${ID}$`), keyPage],
  ['ANY', new RegExp(`^keys/${ID}/revoke$`), revokePage],
  ['ANY', new RegExp(`^keys/${ID}/rotate$`), rotatePage],
  ['GET', /^audit$/, auditPage],
  ['GET', /^audit\/export$/, auditExport],
  ['GET', /^approvals$/, (p) => approvalsPage(p)],
  ['POST', /^approvals\/([\w-]{1,64})\/approve$/, (p, id) => decideApprovalPage(p, id, 'approved')],
  ['POST', /^approvals\/([\w-]{1,64})\/deny$/, (p, id) => decideApprovalPage(p, id, 'denied')],
  ['ANY', /^try$/, tryPage],
  ['GET', /^requests$/, (p) => requestsPage(p)],
  ['GET', new RegExp(`^requests/${UUID}$`), (p, id) => requestPage(p, id)],
  ['POST', new RegExp(`^requests/${UUID}/approve$`), (p, id) => decideRequestPage(p, id, 'approved')],
  ['POST', new RegExp(`^requests/${UUID}/deny$`), (p, id) => decideRequestPage(p, id, 'denied')],
  ['ANY', /^account$/, accountPage],
  ['POST', /^signout$/, signOutPage],
];

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
    // A POST from another origin is refused before its form is read (CSRF, login CSRF included).
    if (method === 'POST' && !this.sessions.originOk(req)) {
      req.resume();
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
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.deps.trustedProxies) ?? 'unknown';
    const p: PageRequest = { req, res, url, path, deps: this.deps, sessions: this.sessions, now, ip, form };

    if (url.pathname === REQUEST_PATH) return requesterPage(p);
    if (path === 'signin') return signInPage(p);
    if (path === 'setup') return setupPage(p);

    const who = await this.sessions.signedIn(req, now);
    if (!who) {
      if (method === 'POST') {
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
      sendHtml(res, 403, bare('Refused', h`<h1>Refused</h1>${refusal('CONSOLE_CSRF', 'Go back, reload the page and try again.')}`));
      return;
    }
    if (path === '') {
      redirect(res, `${CONSOLE_PATH}/keys`);
      return;
    }
    const signed: SignedInRequest = { ...p, who };
    for (const [m, pattern, handler] of SIGNED_IN) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (m !== 'ANY' && m !== (method === 'HEAD' ? 'GET' : method)) continue;
      return handler(signed, ...match.slice(1));
    }
    sendHtml(res, 404, bare('Not found', h`<h1>Not found</h1><p><a href="${CONSOLE_PATH}/keys">Keys</a></p>`));
  }
}

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import { actorOf, sessionFor, type SessionPolicy } from '../admin/accounts.js';
import type { AdminActor } from '../admin/actor.js';
import type { AdminAccount, AdminSession, Store } from '../store/store.js';
import { parseCookies } from './http.js';

/**
 * Console sessions over HTTP: the cookie (HttpOnly, SameSite=Strict, and
 * `__Host-` named and Secure when the request came over TLS), and the two CSRF
 * checks every POST passes: the Origin header names this gateway, and the
 * form's token is the session's own (a synchronizer token, compared in
 * constant time). SameSite=Strict alone would already keep other sites' forms
 * from carrying the cookie; the two checks do not rely on the browser for it.
 */
export interface SessionDeps {
  readonly store: Store;
  readonly policy: SessionPolicy;
  readonly secureCookies: 'auto' | 'always' | 'never';
  /** publicUrl: an https one means the browser reached the gateway over TLS. */
  readonly publicUrl?: string | undefined;
  /** Only these proxies' X-Forwarded-Proto (and Host) are believed. */
  readonly trustedProxies?: BlockList | undefined;
}

export interface SignedIn {
  readonly actor: AdminActor;
  readonly account: AdminAccount;
  readonly session: AdminSession;
  readonly sessionId: string;
}

const fromTrustedProxy = (req: IncomingMessage, trusted: BlockList | undefined): boolean => {
  const addr = req.socket.remoteAddress;
  if (!trusted || !addr) return false;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return trusted.check(v4, v4.includes(':') ? 'ipv6' : 'ipv4');
};

export class ConsoleSessions {
  constructor(private readonly deps: SessionDeps) {}

  /** Whether the browser reached the gateway over TLS. */
  secure(req: IncomingMessage): boolean {
    const s = this.deps.secureCookies;
    if (s !== 'auto') return s === 'always';
    if ('encrypted' in req.socket && (req.socket as { encrypted?: unknown }).encrypted === true) return true;
    if (fromTrustedProxy(req, this.deps.trustedProxies)) {
      const proto = String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]!
        .trim()
        .toLowerCase();
      if (proto) return proto === 'https';
    }
    return this.deps.publicUrl?.startsWith('https://') === true;
  }

  cookieName(req: IncomingMessage): string {
    return this.secure(req) ? '__Host-ghostgate_session' : 'ghostgate_session';
  }

  setCookie(req: IncomingMessage, sessionId: string): string {
    const secure = this.secure(req) ? '; Secure' : '';
    return `${this.cookieName(req)}=${sessionId}; Path=/; HttpOnly; SameSite=Strict${secure}; Max-Age=${Math.floor(this.deps.policy.absoluteMs / 1000)}`;
  }

  clearCookie(req: IncomingMessage): string {
    return `${this.cookieName(req)}=; Path=/; HttpOnly; SameSite=Strict${this.secure(req) ? '; Secure' : ''}; Max-Age=0`;
  }

  /** The signed-in admin of this request, or undefined (no cookie, unknown, idle or expired session). */
  async signedIn(req: IncomingMessage, now: number): Promise<SignedIn | undefined> {
    const id = parseCookies(req.headers.cookie).get(this.cookieName(req));
    if (!id) return undefined;
    const found = await sessionFor(this.deps, this.deps.policy, id, now);
    return found ? { actor: actorOf(found.account), account: found.account, session: found.session, sessionId: id } : undefined;
  }

  /** What the management API calls at merge: the admin a browser session stands for. */
  async authenticateSession(req: IncomingMessage, now = Date.now()): Promise<AdminActor | undefined> {
    return (await this.signedIn(req, now))?.actor;
  }

  /** The request's Origin names this gateway (its Host header, or publicUrl). A POST without an Origin is refused. */
  originOk(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin || origin === 'null') return false;
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false;
    }
    if (this.deps.publicUrl && new URL(this.deps.publicUrl).origin === o.origin) return true;
    // The Host header, never X-Forwarded-Host (console.ts hostOf says why).
    return o.host === (req.headers.host ?? '').toLowerCase() && o.protocol === (this.secure(req) ? 'https:' : 'http:');
  }
}

/** The form's CSRF token against the session's, in constant time. */
export function csrfOk(session: AdminSession, sent: string | null): boolean {
  if (!sent) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}

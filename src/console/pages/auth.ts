import { completeSetup, disableTotp, enrolTotp, setupAccount, signIn, signOut } from '../../admin/accounts.js';
import { auditAdminEvent } from '../../admin/actor.js';
import { randomUUID } from 'node:crypto';
import { AdminError } from '../../admin/errors.js';
import { ERRORS } from '../../errors/errors.js';
import { CONSOLE_PATH } from '../../admin/links.js';
import { PASSWORD_MIN } from '../../admin/password.js';
import { newTotpSecret, otpauthUri } from '../../admin/totp.js';
import { intentFirst, outcomeOf, recordAction, type PageRequest, type SignedInRequest } from '../context.js';
import { h, type Html } from '../html.js';
import { redirect, sendHtml } from '../http.js';
import { bare, csrfField, page, refusal } from '../layout.js';

/** Sign-in, the one-time set-up link, sign-out, and the account page (TOTP). */
const policy = (p: PageRequest) => ({
  idleMs: p.deps.config.console.sessionIdleMinutes * 60_000,
  absoluteMs: p.deps.config.console.sessionMaxHours * 3600_000,
});

const signInForm = (message?: Html, email = '', totp = false) =>
  bare(
    'Sign in',
    h`<h1>Sign in to ghostgate</h1>${message ?? ''}
<form method="post" action="${CONSOLE_PATH}/signin">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${email}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
${totp ? h`<label for="totp">Code from your authenticator app</label><input id="totp" name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required>` : h`<label for="totp">Authenticator code <span class="hint">(if you turned it on)</span></label><input id="totp" name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}">`}
<p><button type="submit">Sign in</button></p></form>
<p class="hint">No account? An operator runs <code>ghostgate admin add you@example.com</code> and sends you a set-up link.</p>`,
  );

export async function signInPage(p: PageRequest): Promise<void> {
  if (p.method === 'GET') {
    sendHtml(p.res, 200, signInForm(p.url.searchParams.has('expired') ? refusal('CONSOLE_SESSION_ENDED') : undefined));
    return;
  }
  const f = p.form!;
  const email = f.get('email') ?? '';
  const r = await signIn(
    p.deps,
    p.deps.throttle,
    policy(p),
    { email, password: f.get('password') ?? '', ...(f.get('totp') ? { totp: f.get('totp')! } : {}), ip: p.ip },
    p.now,
  );
  if (r.ok) {
    // A session is handed out only once its sign-in is in the audit: if the record cannot be written, the
    // session is ended unused and nothing is signed in.
    const recorded = await auditAdminEvent(p.deps.audit, {
      actor: { kind: 'account', id: r.account.id, name: r.account.email },
      action: 'session.signin',
      target: r.account.id,
      at: p.now,
      clientIp: p.ip,
    }).then(
      () => true,
      () => false,
    );
    if (!recorded) {
      await signOut(p.deps, r.sessionId);
      sendHtml(p.res, ERRORS.AUDIT_UNAVAILABLE.status, signInForm(refusal('AUDIT_UNAVAILABLE'), email));
      return;
    }
    redirect(p.res, `${CONSOLE_PATH}/keys`, { 'set-cookie': p.sessions.setCookie(p.req, r.sessionId) });
    return;
  }
  // A right password still waiting for its code is audited too: the owner learns that it was guessed.
  await auditAdminEvent(p.deps.audit, {
    actor: { kind: 'account', id: r.code !== 'CONSOLE_SIGNIN_THROTTLED' && r.account ? r.account.id : '', name: email.slice(0, 191) },
    action: 'session.signin',
    target: null,
    at: p.now,
    clientIp: p.ip,
    decision: 'deny',
    code: r.code === 'TOTP_REQUIRED' ? 'CONSOLE_TOTP_REQUIRED' : r.code,
  });
  const message =
    r.code === 'CONSOLE_SIGNIN_THROTTLED'
      ? refusal(r.code, `Try again in ${Math.ceil(r.retryAfterMs / 60_000)} minute(s).`)
      : r.code === 'TOTP_REQUIRED'
        ? h`<p class="notice" role="status">Enter the code from your authenticator app.</p>`
        : refusal(r.code);
  sendHtml(
    p.res,
    r.code === 'CONSOLE_SIGNIN_THROTTLED' ? 429 : r.code === 'TOTP_REQUIRED' ? 200 : 401,
    signInForm(message, email, r.code === 'TOTP_REQUIRED'),
    r.code === 'CONSOLE_SIGNIN_THROTTLED' ? { 'retry-after': String(Math.ceil(r.retryAfterMs / 1000)) } : {},
  );
}

const setupForm = (token: string, email: string, message?: Html) =>
  bare(
    'Set your password',
    h`<h1>Welcome to ghostgate</h1><p>Choose a password for <strong>${email}</strong>. This link works once.</p>${message ?? ''}
<form method="post" action="${CONSOLE_PATH}/setup"><input type="hidden" name="token" value="${token}">
<input type="text" name="username" autocomplete="username" value="${email}" hidden>
<label for="password">New password <span class="hint">(at least ${PASSWORD_MIN} characters)</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${PASSWORD_MIN}" required>
<p><button type="submit">Set password</button></p></form>`,
  );

export async function setupPage(p: PageRequest): Promise<void> {
  const token = (p.method === 'GET' ? p.url.searchParams.get('token') : p.form!.get('token')) ?? '';
  const account = /^[A-Za-z0-9_-]{43}$/.test(token) ? await setupAccount(p.deps, token, p.now) : undefined;
  // A refused attempt to set a password is audited (a guessed or replayed link); the token never is.
  const refusedSetup = (code: 'ADMIN_NOT_FOUND' | 'ADMIN_INVALID') =>
    auditAdminEvent(p.deps.audit, {
      actor: account ? { kind: 'account', id: account.id, name: account.email } : null,
      action: 'accounts.setup',
      target: account?.id ?? null,
      at: p.now,
      clientIp: p.ip,
      decision: 'deny',
      code,
    });
  if (!account) {
    if (p.method === 'POST') await refusedSetup('ADMIN_NOT_FOUND');
    sendHtml(
      p.res,
      404,
      bare(
        'Link used or expired',
        h`<h1>This link is used or expired</h1><p>Ask an operator for a new one: <code>ghostgate admin add</code>.</p>`,
      ),
    );
    return;
  }
  if (p.method === 'GET') {
    sendHtml(p.res, 200, setupForm(token, account.email));
    return;
  }
  // Setting the password uses the link up: its intent is durable first.
  const event = {
    requestId: randomUUID(),
    actor: { kind: 'account' as const, id: account.id, name: account.email },
    action: 'accounts.setup',
    target: account.id,
    at: p.now,
    clientIp: p.ip,
  };
  if (!(await intentFirst(p, event))) return;
  try {
    await completeSetup(p.deps, token, p.form!.get('password') ?? '', p.now);
  } catch (e) {
    if (e instanceof AdminError) {
      await outcomeOf(p, { ...event, decision: 'deny', code: e.code === 'NOT_FOUND' ? 'ADMIN_NOT_FOUND' : 'ADMIN_INVALID' });
      sendHtml(p.res, 400, setupForm(token, account.email, h`<p class="notice bad" role="alert">${e.message}</p>`));
      return;
    }
    throw e;
  }
  await outcomeOf(p, event);
  sendHtml(
    p.res,
    200,
    bare('Password set', h`<h1>Your password is set</h1><p><a class="btn" href="${CONSOLE_PATH}/signin">Sign in</a></p>`),
  );
}

export async function signOutPage(p: SignedInRequest): Promise<void> {
  await signOut(p.deps, p.who.sessionId);
  await recordAction(p, 'session.signout', p.who.account.id);
  redirect(p.res, `${CONSOLE_PATH}/signin`, { 'set-cookie': p.sessions.clearCookie(p.req) });
}

/**
 * The account page: turn TOTP on (the secret and otpauth URI shown, confirmed by a code) or off. Either
 * asks for the password again (and, to turn it off, a current code), counted by the sign-in throttle,
 * and ends the account's other sessions (admin/accounts.ts).
 */
export async function accountPage(p: SignedInRequest): Promise<void> {
  let message: Html | undefined;
  let status = 200;
  let secret = newTotpSecret();
  if (p.method === 'POST') {
    const f = p.form!;
    const check = {
      throttle: p.deps.throttle,
      password: f.get('password') ?? '',
      totp: f.get('totp') ?? undefined,
      ip: p.ip,
      sessionIdHash: p.who.session.idHash,
    };
    const off = f.get('action') === 'disable';
    if (!off) secret = f.get('secret') ?? '';
    let refused: Awaited<ReturnType<typeof disableTotp>>;
    try {
      if (!off && !/^[A-Z2-7]{32}$/.test(secret)) throw new AdminError('INVALID', 'the secret was changed; start again');
      refused = off
        ? await disableTotp(p.deps, p.who.account, check, p.now)
        : await enrolTotp(p.deps, p.who.account, secret, f.get('code') ?? '', check, p.now);
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      refused = null;
      message = h`<p class="notice bad" role="alert">${e.message}</p>`;
      status = 400;
    }
    const action = off ? 'accounts.totp_off' : 'accounts.totp_on';
    if (refused) {
      await recordAction(p, action, p.who.account.id, refused);
      message = refusal(refused);
      status = refused === 'CONSOLE_SIGNIN_THROTTLED' ? 429 : 401;
    } else if (!message) {
      await recordAction(p, action, p.who.account.id);
      redirect(p.res, `${CONSOLE_PATH}/account`);
      return;
    }
  }
  const on = p.who.account.totpSealed !== null;
  const passwordField = h`<label for="password">Your password</label><input id="password" name="password" type="password" autocomplete="current-password" required>`;
  const body = h`<h1>Your account</h1><dl class="facts"><dt>Email</dt><dd>${p.who.account.email}</dd><dt>Two-factor sign-in</dt><dd>${on ? h`<span class="pill ok">on</span>` : h`<span class="pill">off</span>`}</dd><dt>Session ends</dt><dd>after ${p.deps.config.console.sessionIdleMinutes} minutes unused, or at the latest ${new Date(p.who.session.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC</dd></dl>
${message ?? ''}
${
  on
    ? h`<h2>Turn two-factor sign-in off</h2><p class="hint">Your other sessions end.</p><form method="post" action="${CONSOLE_PATH}/account">${csrfField(p.who)}<input type="hidden" name="action" value="disable">${passwordField}<label for="totp">Current code from your authenticator app</label><input id="totp" name="totp" type="text" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required><p><button class="quiet" type="submit">Turn two-factor sign-in off</button></p></form>`
    : h`<h2>Turn on two-factor sign-in (TOTP)</h2><p>Add this secret to an authenticator app (1Password, Google Authenticator, …), then enter the code it shows. Your other sessions end.</p>
<dl class="facts"><dt>Secret</dt><dd><code id="totp-secret">${secret}</code> <button type="button" class="quiet" data-copy="totp-secret" hidden>Copy</button></dd><dt>otpauth URI</dt><dd><code id="totp-uri">${otpauthUri(secret, p.who.account.email)}</code></dd></dl>
<form method="post" action="${CONSOLE_PATH}/account">${csrfField(p.who)}<input type="hidden" name="secret" value="${secret}"><label for="code">Code</label><input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required>${passwordField}<p><button type="submit">Turn on</button></p></form>`
}`;
  sendHtml(p.res, status, page('Your account', 'account', p.who, body));
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { MasterSecret } from '../secrets/keys.js';
import { seal, unseal } from '../secrets/master.js';
import type { AdminAccount, AdminSession, Store } from '../store/store.js';
import type { AdminActor } from './actor.js';
import { AdminError } from './errors.js';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './password.js';
import type { LoginThrottle } from './throttle.js';
import { totpStep } from './totp.js';

/**
 * Console accounts and sessions, as services: `ghostgate admin add|list|remove`
 * and the console's sign-in pages call them. There is no default account: the
 * first is made by `admin add`, which prints a one-time set-up link. Every
 * token (set-up link, session id) is 32 random bytes, stored only as its
 * SHA-256, so a copy of the database signs nobody in.
 */
export interface AccountsContext {
  readonly store: Store;
  readonly master: MasterSecret;
}

export interface SessionPolicy {
  /** A session unused this long is over. */
  readonly idleMs: number;
  /** A session is over this long after sign-in, used or not. */
  readonly absoluteMs: number;
}

export const SETUP_LINK_TTL_MS = 24 * 3600_000;
const TOTP_PURPOSE = 'console-totp';

export const newToken = (): string => randomBytes(32).toString('base64url');
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const actorOf = (a: AdminAccount): AdminActor => ({ kind: 'account', id: a.id, name: a.email });

/** A new account with its one-time set-up link's token (shown once; only its hash is stored). */
export async function addAdmin(ctx: Pick<AccountsContext, 'store'>, email: string, now: number, ttlMs = SETUP_LINK_TTL_MS) {
  const e = email.trim().toLowerCase();
  if (!EMAIL.test(e)) throw new AdminError('INVALID', `"${email}" is not an email address`);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new AdminError('INVALID', 'the link must expire in the future');
  const token = newToken();
  const id = randomUUID();
  const added = await ctx.store.admins.addAccount({
    id,
    email: e,
    setupHash: tokenHash(token),
    setupExpiresAt: now + ttlMs,
    createdAt: now,
  });
  if (!added) throw new AdminError('INVALID', `an admin ${e} exists already (remove it first to send a new link)`);
  return { account: (await ctx.store.admins.account(id))!, token };
}

export const listAdmins = (ctx: Pick<AccountsContext, 'store'>) => ctx.store.admins.listAccounts();

/** Removes an account (by id or email) and ends its sessions. */
export async function removeAdmin(ctx: Pick<AccountsContext, 'store'>, idOrEmail: string): Promise<AdminAccount> {
  const a = (await ctx.store.admins.account(idOrEmail)) ?? (await ctx.store.admins.accountByEmail(idOrEmail.trim().toLowerCase()));
  if (!a) throw new AdminError('NOT_FOUND', `no admin ${idOrEmail}`);
  await ctx.store.admins.removeAccount(a.id);
  return a;
}

/** The account a set-up link is for, while it is open. */
export const setupAccount = (ctx: Pick<AccountsContext, 'store'>, token: string, now: number) =>
  ctx.store.admins.accountBySetup(tokenHash(token), now);

/** Sets the password through the set-up link, once. */
export async function completeSetup(ctx: Pick<AccountsContext, 'store'>, token: string, password: string, now: number) {
  const problem = passwordProblem(password);
  if (problem) throw new AdminError('INVALID', problem);
  const done = await ctx.store.admins.completeSetup(tokenHash(token), await hashPassword(password), now);
  if (!done) throw new AdminError('NOT_FOUND', 'this set-up link is used or expired: ask for a new one (ghostgate admin add)');
  return done;
}

export type SignIn =
  | { readonly ok: true; readonly account: AdminAccount; readonly sessionId: string; readonly session: AdminSession }
  | { readonly ok: false; readonly code: 'CONSOLE_SIGNIN_THROTTLED'; readonly retryAfterMs: number }
  | { readonly ok: false; readonly code: 'CONSOLE_SIGNIN_FAILED' | 'TOTP_REQUIRED'; readonly account?: AdminAccount };

/**
 * Checks email, password and (when enrolled) the TOTP code, under the
 * throttle; the same work and the same answer whether the account exists or not.
 * The attempt is counted before the password is checked (LoginThrottle.begin),
 * and a TOTP code is taken once: the same code (or an older one) does not sign in again.
 */
export async function signIn(
  ctx: AccountsContext,
  throttle: LoginThrottle,
  policy: SessionPolicy,
  input: { email: string; password: string; totp?: string; ip: string },
  now: number,
): Promise<SignIn> {
  const email = input.email.trim().toLowerCase();
  const wait = throttle.begin(email, input.ip, now);
  if (wait > 0) return { ok: false, code: 'CONSOLE_SIGNIN_THROTTLED', retryAfterMs: wait };
  const account = await ctx.store.admins.accountByEmail(email);
  const passwordOk = await verifyPassword(input.password.slice(0, 1024), account?.passwordHash ?? DUMMY_HASH);
  if (!account || !account.passwordHash || !passwordOk)
    return { ok: false, code: 'CONSOLE_SIGNIN_FAILED', ...(account ? { account } : {}) };
  if (account.totpSealed) {
    // The attempt stays counted: a right password without its code is not a sign-in.
    if (!input.totp) return { ok: false, code: 'TOTP_REQUIRED', account };
    if (!(await takeTotp(ctx, account, input.totp, now))) return { ok: false, code: 'CONSOLE_SIGNIN_FAILED', account };
  }
  throttle.succeed(email, input.ip, now);
  const sessionId = newToken();
  const session: AdminSession = {
    idHash: tokenHash(sessionId),
    accountId: account.id,
    csrf: newToken(),
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + policy.absoluteMs,
  };
  await ctx.store.admins.addSession(session);
  return { ok: true, account, sessionId, session };
}

/** Whether `code` is the account's current TOTP code, taking its step (false for a code already used). */
async function takeTotp(ctx: AccountsContext, account: AdminAccount, code: string, now: number): Promise<boolean> {
  if (!account.totpSealed) return false;
  const secret = unseal(ctx.master, account.totpSealed, { purpose: TOTP_PURPOSE, aad: account.id });
  const step = totpStep(secret, code.trim(), now);
  return step !== undefined && (await ctx.store.admins.useTotpStep(account.id, step));
}

/** The session and its account for a cookie's session id, while neither idle nor past its absolute expiry. */
export async function sessionFor(
  ctx: Pick<AccountsContext, 'store'>,
  policy: SessionPolicy,
  sessionId: string,
  now: number,
): Promise<{ session: AdminSession; account: AdminAccount } | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return undefined;
  const idHash = tokenHash(sessionId);
  const session = await ctx.store.admins.session(idHash);
  if (!session) return undefined;
  if (now >= session.expiresAt || now >= session.lastSeenAt + policy.idleMs) {
    await ctx.store.admins.deleteSession(idHash);
    return undefined;
  }
  const account = await ctx.store.admins.account(session.accountId);
  if (!account) return undefined;
  // Written at most once a minute: a page with several requests costs one write.
  if (now - session.lastSeenAt > 60_000) await ctx.store.admins.touchSession(idHash, now);
  return { session, account };
}

export const signOut = (ctx: Pick<AccountsContext, 'store'>, sessionId: string) => ctx.store.admins.deleteSession(tokenHash(sessionId));

/**
 * A change of the account's own sign-in factors asks for them again: the password, and the current
 * TOTP code when one is on, under the sign-in throttle (a stolen session cannot guess the password
 * here faster than at the sign-in page). Other sessions of the account end with the change.
 */
export interface FactorCheck {
  readonly throttle: LoginThrottle;
  readonly password: string;
  readonly totp?: string | undefined;
  readonly ip: string;
  /** The session the change is made in: it stays; the account's others end. */
  readonly sessionIdHash: string;
}

export type FactorRefusal = 'CONSOLE_SIGNIN_FAILED' | 'CONSOLE_SIGNIN_THROTTLED';

async function checkFactors(ctx: AccountsContext, account: AdminAccount, c: FactorCheck, now: number): Promise<FactorRefusal | null> {
  if (c.throttle.begin(account.email, c.ip, now) > 0) return 'CONSOLE_SIGNIN_THROTTLED';
  const fresh = await ctx.store.admins.account(account.id);
  const passwordOk = await verifyPassword(c.password.slice(0, 1024), fresh?.passwordHash ?? DUMMY_HASH);
  if (!fresh || !fresh.passwordHash || !passwordOk) return 'CONSOLE_SIGNIN_FAILED';
  if (fresh.totpSealed && !(c.totp && (await takeTotp(ctx, fresh, c.totp, now)))) return 'CONSOLE_SIGNIN_FAILED';
  c.throttle.succeed(account.email, c.ip, now);
  return null;
}

/**
 * Turns TOTP on once the person shows their password and a code from the new secret (so a mistyped
 * enrolment cannot lock them out); that code's step is taken. null when done, else why it was refused
 * (AdminError INVALID for a code that does not match).
 */
export async function enrolTotp(
  ctx: AccountsContext,
  account: AdminAccount,
  secret: string,
  code: string,
  check: FactorCheck,
  now: number,
): Promise<FactorRefusal | null> {
  const step = totpStep(secret, code.trim(), now);
  if (step === undefined) throw new AdminError('INVALID', 'the code does not match the secret: check the device’s clock');
  const refused = await checkFactors(ctx, account, check, now);
  if (refused) return refused;
  await ctx.store.admins.setTotp(account.id, seal(ctx.master, secret, { purpose: TOTP_PURPOSE, aad: account.id }));
  await ctx.store.admins.useTotpStep(account.id, step);
  await ctx.store.admins.deleteOtherSessions(account.id, check.sessionIdHash);
  return null;
}

/** Turns TOTP off, given the password and a current code; null when done, else why it was refused. */
export async function disableTotp(
  ctx: AccountsContext,
  account: AdminAccount,
  check: FactorCheck,
  now: number,
): Promise<FactorRefusal | null> {
  const refused = await checkFactors(ctx, account, check, now);
  if (refused) return refused;
  await ctx.store.admins.setTotp(account.id, null);
  await ctx.store.admins.deleteOtherSessions(account.id, check.sessionIdHash);
  return null;
}

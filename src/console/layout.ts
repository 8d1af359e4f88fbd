import type { ServerResponse } from 'node:http';
import type { SignedIn } from './session.js';
import { sendHtml } from './http.js';
import { h, type Html } from './html.js';
import { CONSOLE_PATH } from '../admin/links.js';
import { ERRORS, type ErrorCode } from '../errors/errors.js';

/** The page frame: skip link, navigation landmark, main landmark; one stylesheet and one script, both from the gateway. */
const NAV: readonly [string, string][] = [
  ['keys', 'Keys'],
  ['keys/new', 'Create a key'],
  ['audit', 'Audit'],
  ['approvals', 'Approvals'],
  ['requests', 'Access requests'],
  ['try', 'Try a request'],
  ['account', 'Your account'],
];

const head = (title: string) =>
  h`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title} · ghostgate</title><link rel="stylesheet" href="${CONSOLE_PATH}/console.css"><script src="${CONSOLE_PATH}/console.js" defer></script></head>`;

export function page(title: string, current: string, who: SignedIn, body: Html): Html {
  return h`${head(title)}<body><a class="skip" href="#main">Skip to content</a><div class="shell">
<nav class="side" aria-label="Console"><a class="brand" href="${CONSOLE_PATH}/keys">ghostgate</a><ul>${NAV.map(
    ([path, label]) => h`<li><a href="${CONSOLE_PATH}/${path}"${current === path ? h` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul>
<div class="who"><p>Signed in as<br><strong>${who.account.email}</strong></p>
<form method="post" action="${CONSOLE_PATH}/signout">${csrfField(who)}<button class="quiet" type="submit">Sign out</button></form></div></nav>
<main id="main">${body}</main></div></body></html>`;
}

/** A page outside the signed-in frame (sign-in, set-up, the requester's page). */
export function bare(title: string, body: Html): Html {
  return h`${head(title)}<body><main id="main" class="center">${body}</main></body></html>`;
}

export const csrfField = (who: SignedIn) => h`<input type="hidden" name="_csrf" value="${who.session.csrf}">`;

/** A POST button in its own form, with the CSRF token. */
export const postButton = (who: SignedIn, action: string, label: string, cls = '', extra: Html = h``) =>
  h`<form method="post" action="${action}" class="row">${csrfField(who)}${extra}<button type="submit"${cls ? h` class="${cls}"` : ''}>${label}</button></form>`;

/** A refusal on a page: the catalog's message and its stable code (docs/errors.md), which tests read from data-code. */
export const refusal = (code: ErrorCode, more: Html | string = '') =>
  h`<p class="notice bad" role="alert" data-code="${code}">${ERRORS[code].message} ${more} <span class="hint">(${code})</span></p>`;

/** A page that says why nothing was done: a heading, the reason, a way back. */
export function sendFailure(
  res: ServerResponse,
  status: number,
  who: SignedIn,
  current: string,
  title: string,
  why: Html | string,
  back?: string,
): void {
  sendHtml(
    res,
    status,
    page(
      title,
      current,
      who,
      h`<h1>${title}</h1>${why ? h`<p class="notice bad" role="alert">${why}</p>` : ''}${back ? h`<p><a href="${back}">Back</a></p>` : ''}`,
    ),
  );
}

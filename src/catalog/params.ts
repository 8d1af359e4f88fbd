import type { RouteEntry } from './catalog.js';

/**
 * Path parameters are typed. Ghost's own validator lets far more through (an `id` must merely contain
 * 24 hex digits, `1` or `me`: @tryghost/api-framework lib/validators/input/all.js), and some
 * controllers splice a parameter into an NQL string (`post_id:${post_id}` in
 * ghost/core/core/server/services/comments/comments-controller.js; `email_id:'${id}'` in
 * api/endpoints/emails.js): an id carrying `,` or `'` would widen the filter Ghost builds.
 * So every parameter must have the form its name says, and no NQL or path metacharacter.
 */
const GHOST_ID = /^[0-9a-f]{24}$/;
/** A raw (still percent-encoded) path segment value without NQL metacharacters. */
const TOKEN = /^(?:[A-Za-z0-9_.~-]|%[0-9A-Fa-f]{2})+$/;
const EMAIL = /^(?:[A-Za-z0-9._+-]|%[0-9A-Fa-f]{2})+(?:@|%40)[A-Za-z0-9.-]+$/;
const ID_PARAMS = new Set(['id', 'post_id', 'keyid', 'notification_id', 'automation_id', 'action_id']);

/** The first parameter that is not of its form, with why; undefined when all are. */
export function invalidParam(route: RouteEntry, params: Readonly<Record<string, string>>): string | undefined {
  for (const [name, value] of Object.entries(params)) {
    if (value.length > 191) return `${name} is longer than 191 characters`;
    if (ID_PARAMS.has(name)) {
      // CASE: Ghost's users routes take `me` for the authenticated user (api/endpoints/users.js).
      if (name === 'id' && value === 'me' && route.segments[0] === 'users') continue;
      if (!GHOST_ID.test(value)) return `${name} must be a Ghost id (24 lower-case hex digits)`;
    } else if (name === 'email') {
      if (!EMAIL.test(value)) return 'email must be an email address';
    } else if (!TOKEN.test(value)) {
      return `${name} may hold only letters, digits, '-', '_', '.', '~' and percent-escapes`;
    }
  }
  return undefined;
}

import type { ErrorCode } from '../errors/errors.js';
import { KEY_PATTERN, adminTokenSigner, parseKey } from '../secrets/keys.js';

/** The audience of the Admin API's routes (pipeline/authenticate: audienceFor('')): a tool call is one of those requests. */
export const MCP_AUDIENCE = '/admin/';

/**
 * The caller's credential on the MCP endpoint, as the `Authorization` header
 * every request it makes through the pipeline carries:
 * - `Ghost <jwt>`: a token signed with the ghostgate key as for the Admin API
 *   (aud `/admin/`), passed on as it came;
 * - `Bearer <id>:<secret>`: the ghostgate key itself, for MCP clients that can
 *   only send a fixed header. It is only used to sign a token of 5 minutes for
 *   this one HTTP request, which the pipeline's authenticate stage then checks
 *   against the secret it derives for the id: whether the key exists, is live,
 *   and matches is decided there, the same way as for any other request. The
 *   secret is not kept.
 * Anything else is refused before any key is looked at. The site's own Admin
 * API key gets no further than any unknown key: it is not a ghostgate key.
 */
export type McpCredential = { ok: true; authorization: string } | { ok: false; code: ErrorCode; context: string };

const SCHEMES = 'send "Authorization: Bearer <ghostgate key>" or "Authorization: Ghost <token signed with it>"';

export function mcpCredential(header: string | undefined, nowMs: number): McpCredential {
  if (header === undefined || header === '') return { ok: false, code: 'AUTH_MISSING', context: SCHEMES };
  const space = header.indexOf(' ');
  const scheme = space === -1 ? '' : header.slice(0, space).toLowerCase();
  const rest = space === -1 ? '' : header.slice(space + 1);
  // The Ghost scheme is checked by the pipeline's own rules (one token, HS256, aud, times...).
  if (scheme === 'ghost') return { ok: true, authorization: header };
  if (scheme === 'bearer') {
    const key = KEY_PATTERN.test(rest) ? parseKey(rest) : undefined;
    if (!key)
      return { ok: false, code: 'AUTH_SCHEME', context: 'a Bearer credential must be a ghostgate key: <24 hex id>:<64 hex secret>' };
    return { ok: true, authorization: `Ghost ${adminTokenSigner(key)(MCP_AUDIENCE, nowMs)}` };
  }
  return { ok: false, code: 'AUTH_SCHEME', context: SCHEMES };
}

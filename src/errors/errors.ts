/**
 * One catalog of stable error codes. Every refusal the gateway makes is one of
 * these, answered in Ghost's error envelope (@tryghost/mw-error-handler: `{ errors: [{ message, context, type, details, property, help, code, id, ghostErrorCode }] }`) so that
 * `@tryghost/admin-api` turns it into an Error whose `name` is the Ghost type.
 * docs/errors.md documents each code; errors.test.ts keeps the two in step.
 */
export type GhostErrorType =
  | 'BadRequestError'
  | 'UnauthorizedError'
  | 'NoPermissionError'
  | 'NotFoundError'
  | 'ValidationError'
  | 'TooManyRequestsError'
  | 'InternalServerError'
  | 'BadGatewayError'
  | 'ServiceUnavailableError'
  | 'GatewayTimeoutError'
  | 'RequestEntityTooLargeError'
  | 'UnsupportedMediaTypeError'
  | 'UriTooLongError'
  | 'MethodNotAllowedError'
  | 'UpdateCollisionError';

interface ErrorDef {
  status: number;
  type: GhostErrorType;
  message: string;
}

export const ERRORS = {
  // Authentication: who is calling.
  AUTH_MISSING: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'Authorization header missing. Send "Authorization: Ghost <token>" signed with a ghostgate key.',
  },
  AUTH_SCHEME: { status: 401, type: 'UnauthorizedError', message: 'Authorization header format is "Authorization: Ghost [token]".' },
  TOKEN_MALFORMED: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: not a well-formed JWT.' },
  TOKEN_ALGORITHM: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: only HS256 is accepted.' },
  TOKEN_KID_MISSING: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'Invalid token: header kid (the key id) is missing or not 24 hex characters.',
  },
  KEY_UNKNOWN: { status: 401, type: 'UnauthorizedError', message: 'Unknown Admin API Key.' },
  TOKEN_SIGNATURE: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: invalid signature.' },
  TOKEN_AUDIENCE: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: aud does not match the API path.' },
  TOKEN_IAT_MISSING: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: iat is required.' },
  TOKEN_IAT_FUTURE: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: iat is in the future.' },
  TOKEN_EXPIRED: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: expired.' },
  TOKEN_LIFETIME: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: lifetime (exp - iat) is over 5 minutes.' },
  TOKEN_NOT_YET_VALID: { status: 401, type: 'UnauthorizedError', message: 'Invalid token: nbf is in the future.' },
  KEY_REVOKED: { status: 401, type: 'UnauthorizedError', message: 'This key has been revoked.' },
  KEY_EXPIRED: { status: 401, type: 'UnauthorizedError', message: 'This key has expired.' },
  KEY_NOT_YET_VALID: { status: 401, type: 'UnauthorizedError', message: 'This key is not valid yet.' },
  KEY_USES_EXHAUSTED: { status: 403, type: 'NoPermissionError', message: 'This key has no uses left.' },
  IP_NOT_ALLOWED: { status: 403, type: 'NoPermissionError', message: 'This key may not be used from this address.' },
  RATE_LIMITED: {
    status: 429,
    type: 'TooManyRequestsError',
    message: 'Too many requests for this key; retry after the Retry-After header.',
  },
  RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The shared rate limit store is unavailable; requests of keys with a rate are refused until it answers.',
  },
  CHILD_NOT_SUBSET: {
    status: 403,
    type: 'NoPermissionError',
    message: 'The child key was refused: it must be a subset of its parent and follow the site policy.',
  },
  QUOTA_EXCEEDED: { status: 429, type: 'TooManyRequestsError', message: "This key's daily quota is used up; it renews at midnight UTC." },

  // Request shape: refused before any route is matched.
  PATH_AMBIGUOUS: { status: 400, type: 'BadRequestError', message: 'The request path has an ambiguous encoding.' },
  PATH_TOO_LONG: { status: 414, type: 'UriTooLongError', message: 'The request URL is too long.' },
  METHOD_OVERRIDE: { status: 400, type: 'BadRequestError', message: 'Method-override headers and parameters are refused.' },
  QUERY_DUPLICATE: { status: 400, type: 'BadRequestError', message: 'A query parameter is repeated.' },
  QUERY_MALFORMED: { status: 400, type: 'BadRequestError', message: 'The query string is malformed.' },
  PATH_CASE: {
    status: 400,
    type: 'BadRequestError',
    message: 'A fixed path segment is not spelled in the case Ghost registers it in (lower case).',
  },
  PARAM_RESERVED: {
    status: 400,
    type: 'BadRequestError',
    message: 'A path parameter is spelled like the route beside it, so it is refused.',
  },
  HEADER_AMBIGUOUS: { status: 400, type: 'BadRequestError', message: 'The request headers are ambiguous.' },

  // Routing.
  ROUTE_UNKNOWN: { status: 403, type: 'NoPermissionError', message: 'This route is not in the gateway catalog, so it is refused.' },
  ROUTE_NOT_SERVED: { status: 403, type: 'NoPermissionError', message: 'This route is not served through the gateway.' },

  // Authorization.
  SCOPE_MISSING: { status: 403, type: 'NoPermissionError', message: 'This key does not hold the scope this route needs.' },
  IDENTITY_PROTECTED: {
    status: 403,
    type: 'NoPermissionError',
    message: "This route reads or changes the gateway's own Ghost credential or identity: no key may use it.",
  },
  INVITE_ROLE_REFUSED: {
    status: 403,
    type: 'NoPermissionError',
    message: "The invite's role is above this key's ceiling, or not a staff role Ghost lists.",
  },
  THEME_ACTIVE_REFUSED: { status: 403, type: 'NoPermissionError', message: 'This key may not replace the active theme.' },
  UPSTREAM_FORBIDS: {
    status: 403,
    type: 'NoPermissionError',
    message: "The gateway's upstream credential cannot perform this action on Ghost.",
  },
  RECORD_OUTSIDE_GRANT: { status: 404, type: 'NotFoundError', message: 'Resource not found: the record is not available to this key.' },
  RECORD_NOT_OWNED: { status: 403, type: 'NoPermissionError', message: 'This key may only change records it created.' },
  BODY_OUTSIDE_GRANT: { status: 403, type: 'NoPermissionError', message: "The write would move the record outside this key's constraint." },
  FIELD_REFUSED: { status: 403, type: 'NoPermissionError', message: 'This key may not set or change a field in this request.' },
  QUERY_PARAM_REFUSED: { status: 403, type: 'NoPermissionError', message: "A query parameter is refused by this key's rules." },
  CONSTRAINT_UNENFORCEABLE: {
    status: 403,
    type: 'NoPermissionError',
    message: "This route cannot be limited to the key's constraint, so it is refused.",
  },
  RESPONSE_UNFILTERABLE: {
    status: 403,
    type: 'NoPermissionError',
    message: "This route's answer cannot be redacted or filtered, so it is refused.",
  },
  FILTER_INVALID: {
    status: 400,
    type: 'BadRequestError',
    message: 'The filter could not be parsed or combined with the key’s constraint.',
  },
  REDACTED_FIELD_QUERIED: {
    status: 403,
    type: 'NoPermissionError',
    message: 'The request filters, orders, searches or looks records up by a field this key may not see.',
  },
  REFERENCE_AMBIGUOUS: {
    status: 400,
    type: 'BadRequestError',
    message: 'A reference in the body could be read two ways, or names no existing record; send it by id.',
  },
  PARAM_INVALID: { status: 400, type: 'BadRequestError', message: 'A path or lookup parameter is not of the form the route takes.' },
  BODY_INVALID: { status: 400, type: 'BadRequestError', message: 'The request body is not the JSON the gateway checks.' },
  BODY_ENCODING: {
    status: 415,
    type: 'UnsupportedMediaTypeError',
    message: 'The request body must be UTF-8 JSON (no other charset) sent without Content-Encoding.',
  },
  BODY_TOO_LARGE: { status: 413, type: 'RequestEntityTooLargeError', message: 'The request body is larger than the gateway inspects.' },

  // Webhooks (src/webhooks/): creation, and the relay Ghost calls.
  WEBHOOK_EVENT_UNKNOWN: { status: 422, type: 'ValidationError', message: 'Unknown webhook event.' },
  WEBHOOK_TARGET_REFUSED: {
    status: 422,
    type: 'ValidationError',
    message: 'The webhook target_url is refused: it must be an http(s) URL that resolves to a public address.',
  },
  WEBHOOK_TARGET_USED: { status: 422, type: 'ValidationError', message: 'Target URL has already been used for this event.' },
  WEBHOOK_RELAY_UNAVAILABLE: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The gateway cannot relay webhooks: its publicUrl is not configured.',
  },
  WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'The webhook delivery is not signed by Ghost for this webhook.',
  },
  WEBHOOK_SIGNATURE_STALE: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'The webhook delivery is signed at a time outside the accepted window.',
  },
  WEBHOOK_RETIRED: { status: 410, type: 'NotFoundError', message: 'This webhook is retired; Ghost removes a webhook answered with 410.' },
  WEBHOOK_QUEUE_FULL: { status: 503, type: 'ServiceUnavailableError', message: 'The webhook delivery queue is full.' },
  WEBHOOK_NOT_RELAYED: {
    status: 403,
    type: 'NoPermissionError',
    message: 'This webhook is not one the gateway relays: it cannot be edited or deleted through the gateway.',
  },
  WEBHOOK_LIMIT_REACHED: {
    status: 422,
    type: 'ValidationError',
    message: 'This key and its family have as many webhooks as the gateway allows.',
  },
  WEBHOOK_LENGTH_REQUIRED: {
    status: 411,
    type: 'BadRequestError',
    message: 'A call to the webhook relay must declare its length (Content-Length) or be chunked.',
  },
  WEBHOOK_BODY_TIMEOUT: { status: 408, type: 'BadRequestError', message: 'The webhook delivery body did not arrive in time.' },
  WEBHOOK_RELAY_BUSY: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The webhook relay is checking as many deliveries as it takes at once; Ghost may retry.',
  },

  APPROVAL_PENDING: {
    status: 403,
    type: 'NoPermissionError',
    message: "This call needs a person's approval first; it was not forwarded.",
  },
  RECORD_BUSY: {
    status: 409,
    type: 'UpdateCollisionError',
    message: 'Another call through the gateway is changing this record; nothing was forwarded. Try again once it has finished.',
  },
  APPROVAL_DENIED: { status: 403, type: 'NoPermissionError', message: 'A person denied this call; it was not forwarded.' },
  APPROVAL_LIMIT: {
    status: 429,
    type: 'TooManyRequestsError',
    message: 'This key has as many calls waiting for approval as it may; nothing was forwarded.',
  },

  // The MCP endpoint (src/mcp/, docs/mcp.md).
  MCP_METHOD_NOT_ALLOWED: {
    status: 405,
    type: 'MethodNotAllowedError',
    message: 'The MCP endpoint is stateless: it takes JSON-RPC messages by POST only.',
  },
  MCP_TOOL_UNKNOWN: { status: 404, type: 'NotFoundError', message: 'No tool of this name; tools/list names the tools of this key.' },
  MCP_TOOL_INPUT: {
    status: 400,
    type: 'ValidationError',
    message: 'The tool’s arguments are not of the form it takes; nothing was sent.',
  },

  // The management API (src/api/, docs/api.md): admin tokens, its routes, its input.
  ADMIN_AUTH_MISSING: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'The management API needs "Authorization: Bearer ggadm_..." (an admin API token: ghostgate admin token create).',
  },
  ADMIN_TOKEN_INVALID: { status: 401, type: 'UnauthorizedError', message: 'Invalid admin API token.' },
  ADMIN_TOKEN_REVOKED: { status: 401, type: 'UnauthorizedError', message: 'This admin API token has been revoked.' },
  ADMIN_TOKEN_EXPIRED: { status: 401, type: 'UnauthorizedError', message: 'This admin API token has expired.' },
  ADMIN_SCOPE_MISSING: {
    status: 403,
    type: 'NoPermissionError',
    message: 'This admin API token may only read (admin:read); changes need admin:write.',
  },
  API_ROUTE_UNKNOWN: {
    status: 404,
    type: 'NotFoundError',
    message: 'The management API has no such route (see /ghostgate/v1/openapi.json).',
  },
  API_METHOD_NOT_ALLOWED: { status: 405, type: 'MethodNotAllowedError', message: 'The management API route does not take this method.' },
  API_VALIDATION: { status: 422, type: 'ValidationError', message: 'The request does not match the route’s schema; nothing was changed.' },
  ADMIN_NOT_FOUND: { status: 404, type: 'NotFoundError', message: 'No such key, token, approval or webhook.' },
  ADMIN_INVALID: { status: 422, type: 'ValidationError', message: 'The request was refused before anything was changed.' },
  // The web console (src/console/, docs/console.md): HTML pages for people, these codes named on them and in the audit.
  CONSOLE_SIGNIN_FAILED: { status: 401, type: 'UnauthorizedError', message: 'That email and password (and code) do not match an account.' },
  CONSOLE_SIGNIN_THROTTLED: { status: 429, type: 'TooManyRequestsError', message: 'Too many failed sign-ins; try again later.' },
  CONSOLE_CSRF: {
    status: 403,
    type: 'NoPermissionError',
    message: 'The form was not sent from this console, or its security token is missing or stale; nothing was changed.',
  },
  CONSOLE_TOTP_REQUIRED: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'The password is right; the account also needs the code from its authenticator app.',
  },
  CONSOLE_HOST: {
    status: 421,
    type: 'BadRequestError',
    message: 'The console answers only at this gateway’s own address (publicUrl, localhost or an IP address); nothing was changed.',
  },
  CONSOLE_SESSION_ENDED: {
    status: 401,
    type: 'UnauthorizedError',
    message: 'The console session ended; sign in again. Nothing was changed.',
  },

  // Upstream and internal faults: fail closed.
  UPSTREAM_TIMEOUT: { status: 504, type: 'GatewayTimeoutError', message: 'Ghost did not answer in time.' },
  UPSTREAM_UNREACHABLE: { status: 502, type: 'BadGatewayError', message: 'Ghost could not be reached.' },
  UPSTREAM_BAD_ANSWER: {
    status: 502,
    type: 'BadGatewayError',
    message: 'Ghost answered the gateway’s own check with something it could not use; nothing was forwarded.',
  },
  AUDIT_UNAVAILABLE: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The audit trail cannot be written, so the request was not forwarded.',
  },
  AUDIT_DISCONTINUITY: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The audit file is not the one the key store anchored; the gateway does not serve until an operator acknowledges it.',
  },
  STORE_MIGRATIONS_PENDING: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'The store’s schema is not the one this ghostgate was built for; run `ghostgate migrate`.',
  },
  STORE_UNAVAILABLE: { status: 503, type: 'ServiceUnavailableError', message: 'The gateway store is unavailable; nothing was forwarded.' },
  INTERNAL: { status: 500, type: 'InternalServerError', message: 'An unexpected gateway error occurred; nothing was forwarded.' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export interface GatewayError {
  code: ErrorCode;
  /** Replaces the catalog message with a specific one (e.g. naming the missing scope). */
  message?: string;
  /** Extra, request-specific explanation: never a secret. */
  context?: string;
  /** What would allow the request (a scope, a route), for denials. */
  help?: string;
  /** Headers the HTTP layer adds (e.g. Retry-After). */
  headers?: Record<string, string>;
}

export function gatewayError(code: ErrorCode, context?: string, help?: string, message?: string): GatewayError {
  const e: GatewayError = { code };
  if (message !== undefined) e.message = message;
  if (context !== undefined) e.context = context;
  if (help !== undefined) e.help = help;
  return e;
}

/** Ghost's envelope: {"errors":[{message, context, type, details, property, help, code, id, ghostErrorCode}]} */
export function errorEnvelope(err: GatewayError, requestId: string): { status: number; body: string } {
  const def = ERRORS[err.code];
  const body = JSON.stringify({
    errors: [
      {
        message: err.message ?? def.message,
        context: err.context ?? null,
        type: def.type,
        details: null,
        property: null,
        help: err.help ?? null,
        code: err.code,
        id: requestId,
        ghostErrorCode: null,
      },
    ],
  });
  return { status: def.status, body };
}

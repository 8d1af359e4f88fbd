import { adminTokenSigner, parseKey } from '../../secrets/keys.js';
import type { UpstreamCredentialInfo } from '../../catalog/permissions.js';

/**
 * The site's real credential and the short-lived tokens signed with it.
 * Tokens are signed exactly as the official client does (@tryghost/admin-api lib/token.js):
 * HS256, kid = key id, aud per API version, exp = iat + 5 min. A token is
 * reused for at most TOKEN_REUSE_MS, well inside Ghost's 5-minute maxAge,
 * so signing stays off most requests.
 */
const TOKEN_REUSE_MS = 30_000;

export class UpstreamCredential {
  readonly id: string;
  private readonly sign: (aud: string, nowMs: number) => string;
  private readonly cache = new Map<string, { token: string; until: number }>();

  constructor(
    key: string,
    readonly info: UpstreamCredentialInfo,
  ) {
    const parsed = parseKey(key);
    if (!parsed) throw new Error('the upstream credential is not <24 hex id>:<64 hex secret>');
    this.id = parsed.id;
    this.sign = adminTokenSigner(parsed);
  }

  /** `aud` is `/admin/` or `/<version>/admin/`, the same rule the gateway enforces on clients. */
  token(aud: string, nowMs: number): string {
    const hit = this.cache.get(aud);
    if (hit && hit.until > nowMs) return hit.token;
    const token = this.sign(aud, nowMs);
    this.cache.set(aud, { token, until: nowMs + TOKEN_REUSE_MS });
    return token;
  }

  toJSON(): string {
    return `[upstream ${this.info.kind} credential ${this.id}]`;
  }
}

import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { bareHost, isPrivateIp, pinnedLookup, systemResolver, type Resolver } from './ssrf.js';

/**
 * One HTTP POST to a client's target: Ghost's 2 s request timeout
 * (webhook-trigger.js `timeout.request`), no redirects followed (a redirect
 * could lead anywhere; it counts as a failed delivery), and the connection
 * made only to an address that passed the private-address rule (ssrf.ts).
 */
export interface SendResult {
  readonly status: number | null;
  /** A short code when no status came back (ETIMEDOUT, ECONNREFUSED, TARGET_PRIVATE…). */
  readonly error: string | null;
  readonly latencyMs: number;
  /** The target's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs?: number;
}

export interface Sender {
  send(url: URL, body: string, headers: Record<string, string>): Promise<SendResult>;
  close(): Promise<void>;
}

export function httpSender(opts: { allowInternal: boolean; timeoutMs: number; resolve?: Resolver; now?: () => number }): Sender {
  const now = opts.now ?? Date.now;
  const agent = new Agent({
    connect: { lookup: pinnedLookup(opts.allowInternal, opts.resolve ?? systemResolver), timeout: opts.timeoutMs },
    keepAliveTimeout: 4_000,
    connections: 16,
  });
  return {
    async send(url, body, headers) {
      const started = now();
      const host = bareHost(url);
      // CASE: an IP literal is connected to without a lookup, so it is checked here.
      if (!opts.allowInternal && isIP(host) !== 0 && isPrivateIp(host)) return { status: null, error: 'TARGET_PRIVATE', latencyMs: 0 };
      try {
        const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: AbortSignal.timeout(opts.timeoutMs) });
        await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        const ra = Number(res.headers['retry-after']);
        const out: SendResult = { status: res.statusCode, error: null, latencyMs: now() - started };
        return Number.isFinite(ra) && ra >= 0 ? { ...out, retryAfterMs: ra * 1000 } : out;
      } catch (err) {
        const e = err as Partial<NodeJS.ErrnoException> & { cause?: NodeJS.ErrnoException }; // anything may be thrown
        const code = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'ETIMEDOUT' : (e.code ?? e.cause?.code ?? e.name ?? 'ERROR');
        return { status: null, error: code.slice(0, 40), latencyMs: now() - started };
      }
    },
    close: () => agent.close(),
  };
}

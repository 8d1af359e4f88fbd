import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Store } from './store/store.js';

/**
 * Health probes for load balancers and orchestrators, unauthenticated and
 * without details an outsider could use (the log has them):
 *   GET /ghostgate/healthz  200 while the process serves HTTP
 *   GET /ghostgate/readyz   200 when the key store answers, the audit can be
 *                           written and Ghost answers; else 503
 * Ghost is asked at most once per `upstreamCacheMs` whatever the probe rate
 * (its public GET /site/), so probes cannot be used to load Ghost.
 * Probes are not requests through the gateway: they emit no request event.
 */
export interface HealthDeps {
  readonly store: Store;
  readonly audit?: { ready(): Promise<boolean> };
  /** Whether Ghost answers; called at most once per upstreamCacheMs. */
  readonly upstreamUp: () => Promise<boolean>;
  readonly upstreamCacheMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function healthProbes(deps: HealthDeps): HealthHandler {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.upstreamCacheMs ?? 5000;
  let upstream: { at: number; up: Promise<boolean> } | undefined;
  const upstreamUp = (): Promise<boolean> => {
    if (!upstream || now() - upstream.at >= cacheMs) upstream = { at: now(), up: deps.upstreamUp().catch(() => false) };
    return upstream.up;
  };
  const answer = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ghostgate/healthz' && path !== '/ghostgate/readyz') return false;
    req.resume();
    if (req.method !== 'GET') {
      answer(res, 405, '{"status":"method not allowed"}');
      return true;
    }
    if (path === '/ghostgate/healthz') {
      answer(res, 200, '{"status":"ok"}');
      return true;
    }
    const problems: string[] = [];
    try {
      await deps.store.settings.get('health.probe');
    } catch (err) {
      problems.push(`store: ${(err as Error).message}`);
    }
    if (deps.audit && !(await deps.audit.ready())) problems.push('audit: cannot be written');
    if (!(await upstreamUp())) problems.push('upstream: Ghost does not answer');
    if (problems.length > 0) deps.log.warn({ problems }, 'not ready');
    answer(res, problems.length === 0 ? 200 : 503, problems.length === 0 ? '{"status":"ready"}' : '{"status":"unavailable"}');
    return true;
  };
}

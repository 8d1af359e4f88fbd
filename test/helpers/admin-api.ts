import { createAdminToken } from '../../src/admin/admin-tokens.js';
import type { Store } from '../../src/store/store.js';
import { startFakeUpstream } from './fake-upstream.js';
import { startTestGateway } from './gateway.js';

/** A client of the management API for tests: every answer with its status, headers and parsed JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;

  readonly json: any;
}

export function apiClient(base: string) {
  return async (method: string, path: string, o: { token?: string; body?: unknown; auth?: string } = {}): Promise<ApiAnswer> => {
    const headers: Record<string, string> = {};
    if (o.auth !== undefined) headers.authorization = o.auth;
    else if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      /* a text answer (the audit export) */
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}

/** An admin token made directly with the service (as `ghostgate admin token create` does). */
export async function adminToken(
  store: Store,
  scope: 'admin:read' | 'admin:write',
  name = `test ${scope}`,
  expiresAt: number | null = null,
) {
  const { record, token } = await createAdminToken({ store }, { name, scope, expiresAt }, Date.now());
  return { id: record.id, token };
}

/** A gateway in front of a strict fake Ghost, for the management API's tests (audit written within 10 ms). */
export async function startApiGateway(extra: Record<string, unknown> = {}) {
  const ghost = await startFakeUpstream();
  const gw = await startTestGateway({
    upstreamUrl: ghost.url,
    upstreamKey: `${'ab'.repeat(12)}:${'cd'.repeat(32)}`,
    extra: { audit: { flushMs: 10 }, ...extra },
  });
  return {
    ghost,
    gw,
    close: async () => {
      await gw.close();
      await ghost.close();
    },
  };
}

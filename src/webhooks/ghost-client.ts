import { request } from 'undici';

/**
 * The few calls the gateway itself makes to Ghost's webhooks, with the
 * upstream credential: remove a webhook (its key was revoked, its target
 * answered 410) and, for `webhooks migrate`, read and re-point one. Integration
 * keys may only touch their own integration's webhooks (webhooks.js
 * permissions.before), which every webhook made through the gateway is.
 */
export interface GhostWebhooks {
  /** DELETE /webhooks/:id/: true when it is gone (204, or 404: already gone). */
  remove(ghostId: string): Promise<boolean>;
  /** PUT /webhooks/:id/ with `fields`; the webhook as Ghost answers, or null on 404. */
  edit(ghostId: string, fields: Record<string, unknown>): Promise<Record<string, unknown> | null>;
}

export function ghostWebhooks(upstreamUrl: string, ghostPath: string, authorization: () => string, timeoutMs: number): GhostWebhooks {
  const base = `${upstreamUrl.replace(/\/+$/, '')}/${ghostPath}/api/admin/webhooks/`;
  const call = async (method: 'PUT' | 'DELETE', ghostId: string, body?: unknown) => {
    if (!/^[0-9a-f]{24}$/.test(ghostId)) throw new Error('not a Ghost id');
    const res = await request(`${base}${ghostId}/`, {
      method,
      headers: { authorization: authorization(), 'content-type': 'application/json', accept: 'application/json', 'accept-version': 'v6.0' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };
  return {
    async remove(ghostId) {
      const r = await call('DELETE', ghostId);
      if (r.status === 204 || r.status === 404) return true;
      throw new Error(`Ghost answered ${r.status} to DELETE /webhooks/${ghostId}/`);
    },
    async edit(ghostId, fields) {
      // CASE: an empty item is refused (api-framework validators/input/all.js); `id` makes it non-empty and is then dropped.
      const r = await call('PUT', ghostId, { webhooks: [{ id: ghostId, ...fields }] });
      if (r.status === 404) return null;
      if (r.status !== 200) throw new Error(`Ghost answered ${r.status} to PUT /webhooks/${ghostId}/`);
      const hook = (JSON.parse(r.text) as { webhooks?: Record<string, unknown>[] }).webhooks?.[0];
      if (!hook) throw new Error('Ghost answered without the webhook');
      return hook;
    },
  };
}

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { errorEnvelope, gatewayError } from '../errors/errors.js';
import type { ManagementApi } from './handler.js';
import { API_PREFIX } from './router.js';

/**
 * The management API on a listener of its own (`admin.listen`, e.g.
 * 127.0.0.1:2369), so that it can be kept off the network the gateway serves
 * tools on. It serves /ghostgate/v1 only; like the gateway's port, it serves
 * nothing while the audit cannot be written (audit.onFailure: refuse).
 */
export function createAdminServer(api: ManagementApi, o: { log: Logger; auditReady?: () => Promise<boolean> }): Server {
  return createServer({ requireHostHeader: true }, (req, res) => {
    const requestId = randomUUID();
    const ip = req.socket.remoteAddress ?? null;
    const path = (req.url ?? '').split('?')[0]!;
    void (async () => {
      const refuse = (code: 'API_ROUTE_UNKNOWN' | 'AUDIT_UNAVAILABLE', context: string) => {
        const { status, body } = errorEnvelope(gatewayError(code, context), requestId);
        req.resume();
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(body);
      };
      if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) {
        refuse('API_ROUTE_UNKNOWN', 'this listener serves the management API only');
        return;
      }
      if (o.auditReady && !(await o.auditReady())) {
        refuse('AUDIT_UNAVAILABLE', 'the audit trail cannot be written; admin actions are refused until it can');
        return;
      }
      await api(req, res, { requestId, ip });
    })().catch((err: unknown) => {
      o.log.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'admin listener error');
      if (!res.headersSent) {
        const { status, body } = errorEnvelope(gatewayError('INTERNAL'), requestId);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(body);
      } else res.destroy();
    });
  });
}

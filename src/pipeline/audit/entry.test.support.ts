import type { AuditEntry } from './record.js';

/** A request record for the audit's tests: `at` and `requestId` from `i`, the rest fixed, `over` on top. */
export const testEntry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  at: i,
  requestId: `r${i}`,
  kind: 'request',
  keyId: null,
  keyName: null,
  clientIp: null,
  method: 'GET',
  route: 'GET /posts',
  resource: null,
  action: null,
  decision: 'allow',
  code: null,
  status: 200,
  latencyMs: 1,
  bytesIn: null,
  bytesOut: 1,
  ...over,
});

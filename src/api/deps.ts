import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { AdminActor, AdminAuditWriter } from '../admin/actor.js';
import type { Config } from '../config/config.js';
import type { MasterSecret } from '../secrets/keys.js';
import type { AuditStore } from '../store/audit.js';
import type { DeliveryLog } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import type { GhostWebhooks } from '../webhooks/ghost-client.js';

/** What the management API stands on: the admin services' context, wired once in main.ts. */
export interface ApiDeps {
  readonly config: Config;
  readonly store: Store;
  readonly master: MasterSecret;
  /** The audit file, for query, export, verify and advise; absent when the audit is off (benchmarks only). */
  readonly audit?: AuditStore;
  /** The gateway's audit writer, through which every admin action is recorded (admin/actor.ts). */
  readonly auditWriter: AdminAuditWriter;
  /** The webhook delivery log. */
  readonly deliveries?: DeliveryLog;
  /** Ghost's webhooks through the running upstream credential (revoking a key removes its webhooks). */
  readonly ghostWebhooks?: GhostWebhooks;
  /** The upstream credential the gateway uses now: its id, kind and role (never the secret). */
  readonly upstream: () => { readonly id: string; readonly kind: string; readonly role: string };
  /** Looks for a rotated upstream credential now. */
  readonly reloadUpstream?: () => Promise<boolean>;
  /** Whether the store, the audit and Ghost answer (health.ts's readiness, with the parts named). */
  readonly readiness: () => Promise<{ store: boolean; audit: boolean | null; upstream: boolean }>;
  readonly log: Logger;
  readonly now?: () => number;
  /** The person signed in to the web console whose session cookie the request carries (console/session.ts), if any. */
  readonly session?: (req: IncomingMessage) => Promise<AdminActor | undefined>;
}

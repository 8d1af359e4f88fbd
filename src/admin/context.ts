import type { UpstreamCredentialInfo } from '../catalog/permissions.js';
import { INTEGRATION_ROLE } from '../catalog/permissions.js';
import type { Config } from '../config/config.js';
import { anchorPath, type AnchorLookup } from '../grants/anchors.js';
import { UpstreamCredential } from '../pipeline/forward/upstream.js';
import type { MasterSecret } from '../secrets/keys.js';
import { unseal } from '../secrets/master.js';
import { openSqliteAudit } from '../store/sqlite/sqlite-audit.js';
import type { AuditStore } from '../store/audit.js';
import type { DeliveryLog } from '../store/deliveries.js';
import { migrateSqliteStore, openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { openSqliteDeliveryLog } from '../store/sqlite/sqlite-deliveries.js';
import { openPostgresAudit } from '../store/postgres/pg-audit.js';
import { openPostgresDeliveryLog } from '../store/postgres/pg-deliveries.js';
import { migratePostgresStore, openPostgresStore } from '../store/postgres/pg-store.js';
import type { Store } from '../store/store.js';

/**
 * What an admin operation stands on: the configuration, the key store and
 * the master secret, and how to open the audit file and reach Ghost with the
 * upstream credential. The CLI, the gateway's wiring (main.ts) and the
 * services in this folder share it; none of it speaks to a terminal or HTTP.
 */
export const UPSTREAM_SETTING = 'upstream.credential';

/**
 * The key store of the configured driver. SQLite migrates its file as it opens it; PostgreSQL
 * refuses a schema that is not current (StoreMigrationError: run `ghostgate migrate`). `onError`
 * hears what fails in the background (PostgreSQL's change listener).
 */
export async function openStore(config: Config, onError?: (err: Error) => void): Promise<Store> {
  const s = config.store;
  if (s.driver === 'sqlite') return openSqliteStore(s.path);
  return openPostgresStore(s.url!, { pollMs: s.pollMs, connections: s.connections, ...(onError ? { onError } : {}) });
}

/** Runs the store's pending migrations: the versions before and after. */
export async function migrateStore(config: Config): Promise<{ from: number; to: number }> {
  const s = config.store;
  if (s.driver === 'postgres') return migratePostgresStore(s.url!);
  return migrateSqliteStore(s.path);
}

/** The audit trail: audit.path with SQLite, the store's own database with PostgreSQL. */
/** The audit trail; `writer: 'thread'` (the serving gateway) commits SQLite batches off the event loop (sqlite-audit-writer.ts). */
export async function openAudit(config: Config, writer: 'thread' | 'inline' = 'inline'): Promise<AuditStore> {
  if (config.store.driver === 'postgres') return openPostgresAudit(config.store.url!);
  return openSqliteAudit(config.audit.path, {
    ...(config.audit.maxSizeMb !== undefined ? { maxSizeMb: config.audit.maxSizeMb } : {}),
    writer,
  });
}

/** The webhook delivery log, beside the audit trail. */
export function openDeliveryLog(config: Config): DeliveryLog {
  if (config.store.driver === 'postgres') return openPostgresDeliveryLog(config.store.url!);
  return openSqliteDeliveryLog(config.audit.path);
}

/** The key that chains and signs audit records: derived from the master secret, never stored. */
export function auditKey(master: MasterSecret): Buffer {
  return master.subKey('audit-chain');
}

/** The upstream credential: GHOSTGATE_UPSTREAM_KEY / upstream.key, else the sealed copy in the store. */
export async function upstreamKey(config: Config, store: Store, master: MasterSecret): Promise<string> {
  if (config.upstream.key) return config.upstream.key;
  const sealed = await store.settings.get(UPSTREAM_SETTING);
  if (!sealed) throw new Error('no upstream credential: run `ghostgate upstream set` or set GHOSTGATE_UPSTREAM_KEY');
  return unseal(master, sealed);
}

/** A GET on Ghost's Admin API with the upstream credential (for the CLI's checks; the gateway uses its pool). */
export async function ghostGet(config: Config, key: string, path: string): Promise<Response> {
  const cred = new UpstreamCredential(key, { kind: config.upstream.kind, role: 'unknown' });
  return fetch(`${config.upstream.url}/${config.ghostPath}/api/admin/${path}`, {
    headers: { authorization: `Ghost ${cred.token('/admin/', Date.now())}`, 'accept-version': 'v6.0' },
    signal: AbortSignal.timeout(config.upstream.timeoutMs),
  });
}

/** Looks constraint anchors up in Ghost (their ids, by slug), for pinning them when a key is created. */
export function anchorLookup(config: Config, key: string): AnchorLookup {
  return async (kind, slug) => {
    const res = await ghostGet(config, key, anchorPath(kind, slug));
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`Ghost answered ${res.status} looking up ${kind} "${slug}"`);
    const json = (await res.json()) as Record<string, { id?: unknown }[] | undefined>;
    const id = json[kind]?.[0]?.id;
    return typeof id === 'string' ? id : undefined;
  };
}

/** A constraint anchor as the console offers it: a tag, an author (staff user) or a member label of the live site. */
export interface AnchorChoice {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
}

/**
 * The live site's tags, authors or labels (up to 100 of each), read through the upstream credential so the
 * console's create wizard offers what exists; a failure is the caller's to show (Ghost down, no credential).
 */
export async function anchorChoices(config: Config, key: string, kind: 'tags' | 'users' | 'labels'): Promise<AnchorChoice[]> {
  const res = await ghostGet(config, key, `${kind}/?limit=100&fields=id,slug,name&order=name%20asc`);
  if (!res.ok) throw new Error(`Ghost answered ${res.status} listing ${kind}`);
  const json = (await res.json()) as Record<string, { id?: unknown; slug?: unknown; name?: unknown }[] | undefined>;
  return (json[kind] ?? []).flatMap((r) =>
    typeof r.id === 'string' && typeof r.slug === 'string'
      ? [{ id: r.id, slug: r.slug, name: typeof r.name === 'string' ? r.name : r.slug }]
      : [],
  );
}

/**
 * What role the upstream credential acts with, checked against Ghost. An
 * integration is always the Admin Integration role (checked with a read every
 * role may make); a staff token acts as its user, so ask Ghost who that is
 * (its role and its id).
 */
export async function discoverUpstreamRole(config: Config, key: string, verifyIntegration = true): Promise<UpstreamCredentialInfo> {
  const staff = config.upstream.kind === 'staff';
  // CASE: at start-up an integration's role is known without asking; Ghost may come up later (502 until then).
  if (!staff && !verifyIntegration) return { kind: 'integration', role: INTEGRATION_ROLE };
  const path = staff ? 'users/me/?include=roles' : 'tags/?limit=1&fields=id';
  const res = await ghostGet(config, key, path);
  if (!res.ok)
    throw new Error(
      `Ghost refused the upstream ${staff ? 'staff token' : 'integration key'} (HTTP ${res.status} on /${path.split('?')[0]})`,
    );
  if (!staff) {
    await res.body?.cancel();
    return { kind: 'integration', role: INTEGRATION_ROLE };
  }
  const body = (await res.json()) as { users?: { id?: unknown; roles?: { name?: string }[] }[] };
  const role = body.users?.[0]?.roles?.[0]?.name;
  const userId = body.users?.[0]?.id;
  if (!role) throw new Error('Ghost did not report the staff user’s role');
  // The user's id too: the routes that name it change the gateway's own identity (src/grants/identity.ts).
  if (typeof userId !== 'string' || !/^[0-9a-f]{24}$|^1$/i.test(userId)) throw new Error('Ghost did not report the staff user’s id');
  return { kind: 'staff', role, userId };
}

import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { loadCatalog, type RouteEntry } from './catalog/catalog.js';
import { RouteMatcher } from './catalog/matcher.js';
import { loadPermissions, upstreamReach, INTEGRATION_ROLE, type UpstreamCredentialInfo, type UpstreamReach } from './catalog/permissions.js';
import type { Config } from './config/config.js';
import { anchorPath, type AnchorLookup } from './grants/anchors.js';
import { Forwarder } from './pipeline/forward/forward.js';
import { UpstreamCredential } from './pipeline/forward/upstream.js';
import { parseCidrs, RateLimiter } from './pipeline/lifecycle/lifecycle.js';
import { UsageRecorder } from './pipeline/usage.js';
import { loadMasterSecret, unseal } from './secrets/master.js';
import type { MasterSecret } from './secrets/keys.js';
import { createGatewayServer } from './server.js';
import type { Store } from './store/store.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import { openSqliteAudit, type AuditStore } from './store/sqlite/sqlite-audit.js';
import { AuditLog } from './pipeline/audit/audit-log.js';
import { openSqliteDeliveryLog } from './store/sqlite/sqlite-deliveries.js';
import { ghostWebhooks } from './webhooks/ghost-client.js';
import { DeliveryQueue } from './webhooks/queue.js';
import { RelaySecrets } from './webhooks/relay-secrets.js';
import { httpSender } from './webhooks/send.js';
import { WebhookService } from './webhooks/service.js';
import { AUDIT_FILE_SETTING, checkContinuity, type Discontinuity } from './pipeline/audit/continuity.js';
import type { ErrorCode } from './errors/errors.js';

/** Wiring only: config -> store, catalog, upstream credential -> server. */
export const UPSTREAM_SETTING = 'upstream.credential';

export function openStore(config: Config): Store {
  return openSqliteStore(config.store.path);
}

export function openAudit(config: Config): AuditStore {
  return openSqliteAudit(config.audit.path, config.audit.maxSizeMb !== undefined ? { maxSizeMb: config.audit.maxSizeMb } : {});
}

/** Why the gateway did not start, with the code of docs/errors.md that names it. */
export class StartError extends Error {
  override name = 'StartError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly discontinuities: readonly Discontinuity[] = [],
  ) {
    super(`${code}: ${message}`);
  }
}

/** How long a gateway's hold on its reservations lasts without a renewal, and how often it renews. */
export const HOLDER_LEASE_MS = 15_000;
const HOLDER_RENEW_MS = 5_000;

/**
 * Opens the audit file for a gateway: it must be writable (a real write is
 * made) and continuous with the anchors in the key store, else the gateway
 * does not start. On the first start with anchors (a new store, or one from
 * before anchors), the file's identity and its chains' heads are anchored.
 */
export async function openAuditForServing(config: Config, store: Store, key: Buffer): Promise<AuditStore> {
  let file: AuditStore;
  try {
    file = openAudit(config);
  } catch (e) {
    throw new StartError('AUDIT_UNAVAILABLE', `the audit file ${config.audit.path} cannot be opened (${(e as Error).message}); ghostgate does not serve without its audit trail`);
  }
  try {
    try {
      file.probeWrite(Date.now());
    } catch (e) {
      throw new StartError('AUDIT_UNAVAILABLE', `the audit file ${config.audit.path} cannot be written (${(e as Error).message}); ghostgate does not serve without its audit trail`);
    }
    // Anchors first, then the file: a writer advances its anchor only after its batch is in the file.
    const anchors = await store.auditAnchors.list();
    const anchoredFile = await store.settings.get(AUDIT_FILE_SETTING);
    const problems = checkContinuity(key, file, anchoredFile, anchors);
    if (problems.length > 0) {
      throw new StartError(
        'AUDIT_DISCONTINUITY',
        `the audit file ${config.audit.path} is not the one the key store anchored:\n  ${problems.map((p) => p.problem).join('\n  ')}\nghostgate refuses to serve until an operator acknowledges it: ghostgate audit acknowledge --reason "..."`,
        problems,
      );
    }
    if (anchoredFile === undefined) {
      await store.settings.set(AUDIT_FILE_SETTING, file.fileId);
      for (const h of file.heads()) await store.auditAnchors.advance({ ...h, updatedAt: Date.now() });
    }
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
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
async function ghostGet(config: Config, key: string, path: string): Promise<Response> {
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
  if (!res.ok) throw new Error(`Ghost refused the upstream ${staff ? 'staff token' : 'integration key'} (HTTP ${res.status} on /${path.split('?')[0]})`);
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

export interface RunningGateway {
  readonly server: Server;
  readonly url: string;
  readonly store: Store;
  /** The webhook relay and its delivery queue. */
  readonly webhooks: WebhookService;
  readonly deliveries: DeliveryQueue;
  /** Looks for a new upstream credential now (also done every `upstreamReloadMs`). */
  reloadUpstream(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger = pino({ level: config.log.level })): Promise<RunningGateway> {
  const catalog = loadCatalog();
  const permissions = loadPermissions();
  const matcher = new RouteMatcher(catalog);
  const master = loadMasterSecret(config);
  const store = openStore(config);
  let auditStore: AuditStore | undefined;
  let holder: string | undefined;
  try {
    auditStore = config.audit.enabled ? await openAuditForServing(config, store, auditKey(master)) : undefined;
    // Each gateway process writes its own chain: several processes on one store never share a chain position.
    const audit = auditStore
      ? new AuditLog(auditStore, auditKey(master), { flushMs: config.audit.flushMs, maxBatch: config.audit.maxBatch, chain: randomUUID() }, {
          onError: (err) => log.error({ err: { message: err.message } }, 'audit write failed'),
          anchor: (head) => void store.auditAnchors.advance({ ...head, updatedAt: Date.now() }).catch((err: Error) => log.error({ err: { message: err.message } }, 'audit anchor not written')),
        })
      : undefined;
    if (audit && config.audit.onFailure === 'serve-reads') {
      log.warn({ auditOnFailure: 'serve-reads' }, 'audit.onFailure is serve-reads: while the audit cannot be written, reads are served without a record (writes are still refused)');
    }
    const key = await upstreamKey(config, store, master);
    // This process's lease on its max-use reservations, renewed while it lives.
    holder = await store.holders.register({ pid: process.pid, host: hostname(), startedAt: Date.now() }, Date.now() + HOLDER_LEASE_MS);
    const heldBy = holder;
    const lease = setInterval(() => {
      void store.holders.renew(heldBy, Date.now() + HOLDER_LEASE_MS).catch((err: Error) => log.error({ err: { message: err.message } }, 'reservation lease not renewed'));
    }, HOLDER_RENEW_MS);
    lease.unref();
    // The upstream credential and what it reaches, replaced together on rotation.
    const makeUpstream = (k: string, info: UpstreamCredentialInfo) => {
      const reach = new Map<RouteEntry, UpstreamReach>(catalog.routes.map((r) => [r, upstreamReach(r, info, permissions)]));
      return { cred: new UpstreamCredential(k, info), reach };
    };
    let active = makeUpstream(key, await discoverUpstreamRole(config, key, false));
    let activeSealed = config.upstream.key ? undefined : await store.settings.get(UPSTREAM_SETTING);
    const upstream = {
      get current() {
        return active.cred;
      },
      reach: (route: RouteEntry): UpstreamReach => active.reach.get(route) ?? { ok: false, why: 'route not in catalog' },
    };

    // Upstream rotation: `ghostgate upstream rotate` stores a new sealed credential; pick it
    // up without a restart, after checking Ghost accepts it. Tools notice nothing.
    let reloading: Promise<boolean> | undefined;
    const reloadUpstream = (): Promise<boolean> =>
      (reloading ??= (async () => {
        try {
          if (config.upstream.key) return false; // pinned by configuration
          const sealed = await store.settings.get(UPSTREAM_SETTING);
          if (!sealed || sealed === activeSealed) return false;
          const next = unseal(master, sealed);
          active = makeUpstream(next, await discoverUpstreamRole(config, next));
          activeSealed = sealed;
          log.info({ upstream: active.cred.id }, 'upstream credential rotated');
          return true;
        } catch (err) {
          log.error({ err: { message: (err as Error).message } }, 'new upstream credential not installed; keeping the current one');
          return false;
        } finally {
          reloading = undefined;
        }
      })());
    const timer = setInterval(() => void reloadUpstream(), config.upstreamReloadMs);
    timer.unref();

    // The webhook relay (src/webhooks/, docs/webhooks.md): deliveries leave from a queue, off the request path.
    const deliveryLog = config.audit.enabled ? openSqliteDeliveryLog(config.audit.path) : undefined;
    const wh = config.webhooks;
    let webhooks: WebhookService | undefined;
    const sender = httpSender({ allowInternal: wh.allowInternalIPs, timeoutMs: wh.timeoutMs });
    const queue = new DeliveryQueue({
      sender,
      ...(deliveryLog ? { log: deliveryLog } : {}),
      stillWanted: (job) => webhooks!.stillWanted(job.keyId, job.relayId, Date.now()),
      gone: (job) => webhooks!.gone(job.relayId, Date.now()),
      retries: wh.retries,
      backoffMs: wh.backoffMs,
      concurrency: wh.concurrency,
      maxQueue: wh.maxQueue,
      concurrencyPerKey: wh.concurrencyPerKey,
      maxQueuePerKey: wh.maxQueuePerKey,
      onError: (err) => log.error({ err: { message: err.message } }, 'webhook delivery error'),
    });
    webhooks = new WebhookService({
      store,
      secrets: new RelaySecrets(master),
      ghost: ghostWebhooks(config.upstream.url, config.ghostPath, () => `Ghost ${active.cred.token('/admin/', Date.now())}`, config.upstream.timeoutMs),
      queue,
      ...(deliveryLog ? { log: deliveryLog } : {}),
      logger: log,
      publicUrl: config.publicUrl,
      upstreamKind: config.upstream.kind,
      ...(wh.integrationId ? { integrationId: wh.integrationId } : {}),
      allowInternalIPs: wh.allowInternalIPs,
      signatureWindowMs: wh.signatureWindowS * 1000,
      maxBodyBytes: Math.floor(wh.relayMaxBodyMb * 1024 * 1024),
      relayConcurrency: wh.relayConcurrency,
      maxPerKey: wh.maxPerKey,
    });
    const sweeper = setInterval(() => void webhooks!.sweep(Date.now()).catch((err: unknown) => log.error({ err: { message: (err as Error).message } }, 'webhook sweep failed')), wh.sweepMs);
    sweeper.unref();

    const usage = new UsageRecorder(store.keys, 1000, (err) => log.error({ err: { message: err.message } }, 'key use counts not written'));
    const forwarder = new Forwarder(config.upstream.url, config.upstream.timeoutMs, config.upstream.connections);
    const server = createGatewayServer({
      matcher,
      store,
      master,
      upstream,
      forwarder,
      records: forwarder,
      log,
      ghostPath: config.ghostPath,
      clockSkewS: config.auth.clockSkewSeconds,
      maxInspectedBody: 50 * 1024 * 1024,
      rateLimiter: new RateLimiter(),
      policy: config.policy,
      usage,
      webhooks,
      holder,
      auditOnFailure: config.audit.onFailure,
      ...(audit ? { audit } : {}),
      ...(config.trustedProxies.length > 0 ? { trustedProxies: parseCidrs(config.trustedProxies) } : {}),
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    log.info({ url: `http://${host}:${addr.port}`, upstream: config.upstream.url, upstreamKind: active.cred.info.kind, upstreamRole: active.cred.info.role, routes: catalog.routes.length }, 'ghostgate listening');
    return {
      server,
      url: `http://${host}:${addr.port}`,
      store,
      webhooks,
      deliveries: queue,
      reloadUpstream,
      async close() {
        clearInterval(timer);
        clearInterval(sweeper);
        clearInterval(lease);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await queue.close();
        await sender.close();
        deliveryLog?.close();
        await forwarder.close();
        await usage.close();
        audit?.close();
        auditStore?.close();
        await store.holders.release(heldBy);
        await store.close();
      },
    };
  } catch (err) {
    auditStore?.close();
    if (holder) await store.holders.release(holder);
    await store.close();
    throw err;
  }
}

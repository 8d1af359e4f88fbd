import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { loadCatalog, type RouteEntry } from './catalog/catalog.js';
import { RouteMatcher } from './catalog/matcher.js';
import { loadPermissions, upstreamReach, INTEGRATION_ROLE, type UpstreamCredentialInfo, type UpstreamReach } from './catalog/permissions.js';
import type { Config } from './config/config.js';
import { Forwarder } from './pipeline/forward/forward.js';
import { UpstreamCredential } from './pipeline/forward/upstream.js';
import { loadMasterSecret, unseal } from './secrets/master.js';
import type { MasterSecret } from './secrets/keys.js';
import { createGatewayServer } from './server.js';
import type { Store } from './store/store.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';

/** Wiring only: config -> store, catalog, upstream credential -> server. */
export const UPSTREAM_SETTING = 'upstream.credential';

export function openStore(config: Config): Store {
  return openSqliteStore(config.store.path);
}

/** The upstream credential: GHOSTGATE_UPSTREAM_KEY / upstream.key, else the sealed copy in the store. */
export async function upstreamKey(config: Config, store: Store, master: MasterSecret): Promise<string> {
  if (config.upstream.key) return config.upstream.key;
  const sealed = await store.settings.get(UPSTREAM_SETTING);
  if (!sealed) throw new Error('no upstream credential: run `ghostgate upstream set` or set GHOSTGATE_UPSTREAM_KEY');
  return unseal(master, sealed);
}

/**
 * What role the upstream credential acts with. An integration is always the
 * Admin Integration role; a staff token acts as its user, so ask Ghost.
 */
export async function discoverUpstreamRole(config: Config, key: string): Promise<UpstreamCredentialInfo> {
  if (config.upstream.kind === 'integration') return { kind: 'integration', role: INTEGRATION_ROLE };
  const cred = new UpstreamCredential(key, { kind: 'staff', role: 'unknown' });
  const res = await fetch(`${config.upstream.url}/${config.ghostPath}/api/admin/users/me/?include=roles`, {
    headers: { authorization: `Ghost ${cred.token('/admin/', Date.now())}`, 'accept-version': 'v6.0' },
    signal: AbortSignal.timeout(config.upstream.timeoutMs),
  });
  if (!res.ok) throw new Error(`Ghost refused the upstream staff token on /users/me/ (HTTP ${res.status})`);
  const body = (await res.json()) as { users?: { roles?: { name?: string }[] }[] };
  const role = body.users?.[0]?.roles?.[0]?.name;
  if (!role) throw new Error('Ghost did not report the staff user’s role');
  return { kind: 'staff', role };
}

export interface RunningGateway {
  readonly server: Server;
  readonly url: string;
  readonly store: Store;
  close(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger = pino({ level: config.log.level })): Promise<RunningGateway> {
  const catalog = loadCatalog();
  const permissions = loadPermissions();
  const matcher = new RouteMatcher(catalog);
  const master = loadMasterSecret(config);
  const store = openStore(config);
  try {
    const key = await upstreamKey(config, store, master);
    const info = await discoverUpstreamRole(config, key);
    // Upstream reach is a property of (route, credential): computed once per credential.
    const reachByRoute = new Map<RouteEntry, UpstreamReach>(catalog.routes.map((r) => [r, upstreamReach(r, info, permissions)]));
    const upstream = {
      current: new UpstreamCredential(key, info),
      reach: (route: RouteEntry): UpstreamReach => reachByRoute.get(route) ?? { ok: false, why: 'route not in catalog' },
    };
    const forwarder = new Forwarder(config.upstream.url, config.upstream.timeoutMs, config.upstream.connections);
    const server = createGatewayServer({ matcher, store, master, upstream, forwarder, records: forwarder, log, ghostPath: config.ghostPath, clockSkewS: config.auth.clockSkewSeconds, maxInspectedBody: 50 * 1024 * 1024 });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    log.info({ url: `http://${host}:${addr.port}`, upstream: config.upstream.url, upstreamKind: info.kind, upstreamRole: info.role, routes: catalog.routes.length }, 'ghostgate listening');
    return {
      server,
      url: `http://${host}:${addr.port}`,
      store,
      async close() {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await forwarder.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

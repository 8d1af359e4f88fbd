import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Configuration: a YAML file, then environment variables (environment wins),
 * validated once at start-up. Paths in the file are relative to the file.
 */
// Ghost's key format, as secrets/keys.ts KEY_PATTERN (not imported: secrets reads the config, so config stays below it).
const KEY_FORMAT = /^[0-9a-f]{24}:[0-9a-f]{64}$/;

/** A service on a listener of its own (metrics, the management API): off unless `listen` is set; 127.0.0.1 by default. */
const OwnListener = z
  .object({
    listen: z
      .object({ host: z.string().min(1).default('127.0.0.1'), port: z.coerce.number().int().min(0).max(65535) })
      .strict()
      .optional(),
  })
  .strict()
  .default({});

export const ConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.coerce.number().int().min(0).max(65535).default(8787),
        /** On SIGTERM: how long requests in flight may take to finish before their connections are cut. */
        drainSeconds: z.number().min(0).max(3600).default(10),
        /**
         * Gateway processes on this port (node:cluster; `serve --workers` wins): 1 serves in this process,
         * `auto` one per core (os.availableParallelism()).
         */
        workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8787, drainSeconds: 10, workers: 1 }),
    upstream: z
      .object({
        url: z
          .url()
          .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
          .transform((u) => u.replace(/\/+$/, '')),
        /** integration: an integration's Admin API key; staff: a staff user's access token (then a ceiling). */
        kind: z.enum(['integration', 'staff']).default('integration'),
        /** The credential itself; usually kept encrypted in the store by `ghostgate init`/`upstream set` instead. */
        key: z.string().regex(KEY_FORMAT, 'must be <24 hex id>:<64 hex secret>').optional(),
        timeoutMs: z.coerce.number().int().min(100).max(600_000).default(60_000),
        connections: z.coerce.number().int().min(1).max(1024).default(64),
      })
      .strict(),
    /**
     * `sqlite` (the default): one file, for one gateway process (or several on one machine).
     * `postgres`: several replicas on one database (store.url); the audit trail and the
     * webhook delivery log are kept in the same database then (audit.path is not used).
     */
    store: z
      .object({
        driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().min(1).default('ghostgate.db'),
        /** postgres://user:password@host:5432/database (GHOSTGATE_STORE_URL); never logged with its password. */
        url: z.string().optional(),
        /** PostgreSQL: how often a replica checks for key changes it was not notified of (the LISTEN/NOTIFY backstop). */
        pollMs: z.coerce.number().int().min(50).max(60_000).default(500),
        /** PostgreSQL: connections per process. */
        connections: z.coerce.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.driver !== 'postgres') {
          if (s.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is for store.driver: postgres' });
          return;
        }
        // The message never repeats the URL: it may hold a password.
        if (s.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required with store.driver: postgres' });
        else if (!isPostgresUrl(s.url))
          ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a postgres:// or postgresql:// URL with a host' });
      })
      .default({ driver: 'sqlite', path: 'ghostgate.db', pollMs: 500, connections: 10 }),
    masterSecretFile: z.string().min(1).default('master.key'),
    /** The master secret itself (environment only in practice: GHOSTGATE_MASTER_SECRET). */
    masterSecret: z.string().optional(),
    ghostPath: z
      .string()
      .regex(/^[a-z0-9_-]+$/)
      .default('ghost'),
    auth: z
      .object({ clockSkewSeconds: z.coerce.number().int().min(0).max(300).default(30) })
      .strict()
      .default({ clockSkewSeconds: 30 }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    /** Proxies (CIDRs) whose X-Forwarded-For the gateway believes for IP allowlists. */
    trustedProxies: z.array(z.string().min(1)).default([]),
    /** Site policy for keys. */
    policy: z
      .object({
        /** Refuse keys without an expiry. */
        requireExpiry: z.boolean().default(false),
        /** The longest lifetime a key may have, in days. */
        maxKeyLifetimeDays: z.coerce.number().int().min(1).max(36500).optional(),
      })
      .strict()
      .default({ requireExpiry: false }),
    audit: z
      .object({
        /** Off only for benchmarks: every decision is recorded otherwise. */
        enabled: z.boolean().default(true),
        path: z.string().min(1).default('ghostgate-audit.db'),
        /** Reads and refusals are written within this window (writes wait for their intent to be durable). */
        flushMs: z.coerce.number().int().min(1).max(10_000).default(100),
        maxBatch: z.coerce.number().int().min(1).max(100_000).default(512),
        /** Cap on the audit file; when it is full, writes are refused (AUDIT_UNAVAILABLE) until `audit prune`. */
        maxSizeMb: z.coerce.number().positive().optional(),
        /**
         * When records cannot be written: `refuse` every request (reads included) with
         * AUDIT_UNAVAILABLE until they can; `serve-reads` serves reads without a record
         * (writes are refused either way: none is forwarded without its durable intent).
         */
        onFailure: z.enum(['refuse', 'serve-reads']).default('refuse'),
      })
      .strict()
      .default({ enabled: true, path: 'ghostgate-audit.db', flushMs: 100, maxBatch: 512, onFailure: 'refuse' }),
    /**
     * The gateway's URL as Ghost reaches it: webhooks made through the gateway are registered in
     * Ghost with a target under `<publicUrl>/ghostgate/webhooks/relay/` (docs/webhooks.md).
     * Without it, creating a webhook is refused (WEBHOOK_RELAY_UNAVAILABLE). The console answers only
     * at its host, or at localhost or an IP address (console/console.ts, CONSOLE_HOST).
     */
    publicUrl: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    webhooks: z
      .object({
        /** Deliver to private, loopback and other internal addresses: Ghost's `security.allowWebhookInternalIPs`. */
        allowInternalIPs: z.boolean().default(false),
        /** One delivery attempt's limit (Ghost: 2 s). */
        timeoutMs: z.coerce.number().int().min(100).max(60_000).default(2000),
        /** Retries after a failed attempt (Ghost asks for 5). */
        retries: z.coerce.number().int().min(0).max(20).default(5),
        /** The first retry's delay; each next one doubles. */
        backoffMs: z.coerce.number().int().min(1).max(600_000).default(1000),
        /** Ghost's signature time must be this close to now (replays outside it are refused). */
        signatureWindowS: z.coerce.number().int().min(5).max(3600).default(300),
        concurrency: z.coerce.number().int().min(1).max(256).default(8),
        /** Deliveries queued or waiting for a retry, at most. */
        maxQueue: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
        /** Deliveries in flight for one root key's family at once, so one slow target cannot take every slot. */
        concurrencyPerKey: z.coerce.number().int().min(1).max(256).default(2),
        /** Deliveries queued or waiting for a retry for one root key's family, at most. */
        maxQueuePerKey: z.coerce.number().int().min(1).max(1_000_000).default(1000),
        /** How often the gateway retires webhooks of revoked (or stopped, expired) keys and retries removals Ghost has not confirmed. */
        sweepMs: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
        /** Largest relay call (Ghost's delivery) the relay reads, in MB. */
        relayMaxBodyMb: z.coerce.number().positive().max(1024).default(16),
        /** Relay calls being verified and filtered at once; more are answered 503. */
        relayConcurrency: z.coerce.number().int().min(1).max(1024).default(8),
        /** How long a relay call's body may take to arrive; Ghost sends it at once and gives up after 2 s. */
        relayReadTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5000),
        /** Active webhooks a root key and every key below it may have at once. */
        maxPerKey: z.coerce.number().int().min(1).max(100_000).default(50),
        /**
         * The Ghost integration webhooks are attached to when the upstream is a staff token (Ghost needs one:
         * webhooks.integration_id is not nullable). With an integration key Ghost attaches them to it itself.
         */
        integrationId: z
          .string()
          .regex(/^[0-9a-f]{24}$/, 'must be a Ghost integration id (24 hex)')
          .optional(),
      })
      .strict()
      .default({
        allowInternalIPs: false,
        timeoutMs: 2000,
        retries: 5,
        backoffMs: 1000,
        signatureWindowS: 300,
        concurrency: 8,
        maxQueue: 10_000,
        concurrencyPerKey: 2,
        maxQueuePerKey: 1000,
        sweepMs: 60_000,
        relayMaxBodyMb: 16,
        relayConcurrency: 8,
        relayReadTimeoutMs: 5000,
        maxPerKey: 50,
      }),
    /** How often a running gateway looks for a new upstream credential (`ghostgate upstream rotate`). */
    upstreamReloadMs: z.coerce.number().int().min(100).max(600_000).default(2000),
    /** The MCP endpoint at /ghostgate/mcp (src/mcp/, docs/mcp.md): on unless switched off. */
    mcp: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true }),
    /**
     * Per-key rate limits across replicas (src/ratelimit/). With `redis` (redis://[user:password@]host:port[/db],
     * GHOSTGATE_RATELIMIT_REDIS): exact, one bucket per key in Redis; keys with a rate are refused
     * (RATE_LIMIT_UNAVAILABLE) while Redis does not answer within `timeoutMs`. Without it: each replica
     * enforces its share of the rate (the rate divided by the live replicas in the store), an approximation.
     */
    ratelimit: z
      .object({
        redis: z
          .string()
          .refine(isRedisUrl, 'must be a redis:// or rediss:// URL with a host') // never repeats the URL: it may hold a password
          .optional(),
        /** Prepended to every key id in Redis. */
        prefix: z.string().min(1).max(100).default('ghostgate:rate:'),
        timeoutMs: z.coerce.number().int().min(10).max(10_000).default(250),
      })
      .strict()
      .default({ prefix: 'ghostgate:rate:', timeoutMs: 250 }),
    /** Prometheus metrics on a listener of their own (src/metrics.ts); off unless `listen` is set. */
    metrics: OwnListener,
    /**
     * The management API (src/api/, docs/api.md): on the gateway's port under /ghostgate/v1 unless
     * `listen` gives it a listener of its own (e.g. 127.0.0.1:2369), which is then the only place it is served.
     */
    admin: OwnListener,
    /**
     * The web console (src/console/, docs/console.md) under /ghostgate/console/ on the gateway's port.
     * Sign-in needs an account made by `ghostgate admin add`; there is none by default.
     */
    console: z
      .object({
        enabled: z.boolean().default(true),
        /** A session unused this long is over. */
        sessionIdleMinutes: z.coerce.number().int().min(1).max(1440).default(30),
        /** A session is over this long after sign-in, used or not. */
        sessionMaxHours: z.coerce.number().int().min(1).max(720).default(12),
        /**
         * Secure cookies (`__Host-` name, `Secure`): `auto` when the request came over TLS, as publicUrl
         * says (https) or a trusted proxy's X-Forwarded-Proto; `always`; `never` only for plain-HTTP labs.
         */
        secureCookies: z.enum(['auto', 'always', 'never']).default('auto'),
      })
      .strict()
      .default({ enabled: true, sessionIdleMinutes: 30, sessionMaxHours: 12, secureCookies: 'auto' }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variables and the config path they override. */
export const ENV_VARS: Readonly<Record<string, string>> = {
  GHOSTGATE_LISTEN_HOST: 'listen.host',
  GHOSTGATE_LISTEN_PORT: 'listen.port',
  GHOSTGATE_LISTEN_WORKERS: 'listen.workers',
  GHOSTGATE_UPSTREAM_URL: 'upstream.url',
  GHOSTGATE_UPSTREAM_KIND: 'upstream.kind',
  GHOSTGATE_UPSTREAM_KEY: 'upstream.key',
  GHOSTGATE_UPSTREAM_TIMEOUT_MS: 'upstream.timeoutMs',
  GHOSTGATE_STORE_DRIVER: 'store.driver',
  GHOSTGATE_STORE_PATH: 'store.path',
  GHOSTGATE_STORE_URL: 'store.url',
  GHOSTGATE_MASTER_SECRET_FILE: 'masterSecretFile',
  GHOSTGATE_MASTER_SECRET: 'masterSecret',
  GHOSTGATE_GHOST_PATH: 'ghostPath',
  GHOSTGATE_LOG_LEVEL: 'log.level',
  GHOSTGATE_UPSTREAM_RELOAD_MS: 'upstreamReloadMs',
  GHOSTGATE_AUDIT_PATH: 'audit.path',
  GHOSTGATE_PUBLIC_URL: 'publicUrl',
  GHOSTGATE_METRICS_PORT: 'metrics.listen.port',
  GHOSTGATE_RATELIMIT_REDIS: 'ratelimit.redis',
  GHOSTGATE_ADMIN_PORT: 'admin.listen.port',
};

/** A URL of one of these schemes, with a host. */
function urlOf(text: string, schemes: readonly string[]): boolean {
  try {
    const u = new URL(text);
    return schemes.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}
export function isPostgresUrl(text: string): boolean {
  return urlOf(text, ['postgres:', 'postgresql:']);
}
function isRedisUrl(text: string): boolean {
  return urlOf(text, ['redis:', 'rediss:']);
}

/** A URL as it may be shown or logged: without its password. */
export function withoutPassword(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

/** The store as it may be shown or logged: the file, or the database URL without its password. */
export function storeLabel(store: Config['store']): string {
  if (store.driver === 'sqlite' || store.url === undefined) return store.path;
  return withoutPassword(store.url);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, if any. */
  readonly file: string | undefined;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.GHOSTGATE_CONFIG ?? 'ghostgate.yaml';
}

/**
 * A config document (as read from YAML) with the environment applied, validated; paths made
 * absolute against `base`. Throws ConfigError naming each bad field. `init` calls it before it
 * writes anything.
 */
export function configFromDocument(
  doc: Record<string, unknown>,
  base: string,
  env: NodeJS.ProcessEnv = process.env,
  where?: string,
): Config {
  const raw = structuredClone(doc);
  for (const [name, target] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(raw, target, v);
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${where ? ` in ${where}` : ''}:\n${lines.join('\n')}`);
  }
  const config = result.data;
  // Paths in the file are relative to the file, not to the working directory.
  config.store.path = resolve(base, config.store.path);
  config.masterSecretFile = resolve(base, config.masterSecretFile);
  config.audit.path = resolve(base, config.audit.path);
  return config;
}

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let raw: Record<string, unknown> = {};
  const path = file ?? defaultConfigPath(env);
  const exists = existsSync(path);
  if (file !== undefined && !exists) throw new ConfigError(`config file ${file} does not exist (run \`ghostgate init\`)`);
  if (exists) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${path}: not valid YAML: ${(e as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${path}: the top level must be a mapping`);
      raw = parsed as Record<string, unknown>;
    }
  }
  const base = exists ? dirname(resolve(path)) : process.cwd();
  const config = configFromDocument(raw, base, env, exists ? path : undefined);
  return { config, file: exists ? resolve(path) : undefined };
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../catalog/catalog.js';
import { RouteMatcher } from '../catalog/matcher.js';
import { compileGrant } from '../grants/grant.js';
import { AuditLog } from '../pipeline/audit/audit-log.js';
import type { AuditEntry } from '../pipeline/audit/record.js';
import { audienceFor, checkToken } from '../pipeline/authenticate/authenticate.js';
import { authorize } from '../pipeline/authorize/authorize.js';
import { resolveRoute } from '../pipeline/resolve-route/resolve.js';
import { adminTokenSigner, MasterSecret, newKeyId } from '../secrets/keys.js';
import { createSigner } from 'fast-jwt';
import { openSqliteAudit } from '../store/sqlite/sqlite-audit.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';

/**
 * Microbenchmarks, in process: the per-request decision (resolve the route,
 * authenticate the JWT, derive the key secret, verify the signature,
 * authorize) over every catalog route with a realistic grant, timed per
 * operation, with a new token for each call and with one token for all; the key-row lookup in SQLite; audit records per second.
 */
function percentiles(ns: Float64Array): { p50: number; p99: number; mean: number } {
  const s = Array.from(ns).sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.floor(s.length * 0.99)]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export async function microbench(ops = 200_000): Promise<Record<string, unknown>> {
  const catalog = loadCatalog();
  const matcher = new RouteMatcher(catalog);
  const master = new MasterSecret(MasterSecret.generateHex());
  const keyId = newKeyId();
  const secret = master.keySecret(keyId, 1);
  const token = `Ghost ${adminTokenSigner({ id: keyId, secret })(audienceFor(''))}`;
  const grant = compileGrant({
    version: 1,
    scopes: [
      'posts:browse',
      'posts:read',
      'posts:add',
      'posts:edit',
      'pages:browse',
      'pages:read',
      'tags:browse',
      'tags:read',
      'images:upload',
      'webhooks:add',
      'members:browse',
    ],
  });
  const routes = catalog.routes.filter((r) => !r.flags.has('public') && !r.flags.has('query_token'));
  const urls = routes.map(
    (r) =>
      `/ghost/api/admin/${r.segments.map((s) => (s.startsWith(':') ? '5f1a2b3c4d5e6f7a8b9c0d1e' : s)).join('/')}/?limit=15&include=tags`,
  );
  // A new token for each call (20,000 of them, more than authenticate.ts keeps read), as a client making a call
  // a second sends; and one token for every call, as the official client's calls within one second carry.
  const sign = createSigner({ key: secret, algorithm: 'HS256', kid: keyId, expiresIn: 300_000 });
  const fresh = Array.from({ length: 20_000 }, (_, i) => `Ghost ${sign({ aud: audienceFor(''), jti: String(i) })}`);
  const up = { ok: true as const };
  let allowed = 0;
  let tokens = fresh;
  const run = (i: number) => {
    const k = i % routes.length;
    const authorization = tokens[i % tokens.length]!;
    const r = resolveRoute(matcher, routes[k]!.method, urls[k]!, { authorization });
    if (!r.ok) throw new Error(`bench route ${urls[k]} did not resolve`);
    const t = checkToken(authorization, '/admin/', Date.now(), { clockSkewS: 30 });
    if (!t.ok || !t.verify(master.keySecret(t.keyId, 1)).ok) throw new Error('bench token refused');
    const d = authorize({
      grant,
      route: r.resolved.route,
      upstream: up,
      request: { query: r.resolved.target.query, params: r.resolved.params },
    });
    if (d.allow === true) allowed++;
  };
  const measure = () => {
    for (let i = 0; i < 20_000; i++) run(i); // warm-up
    const times = new Float64Array(ops);
    for (let i = 0; i < ops; i++) {
      const t0 = process.hrtime.bigint();
      run(i);
      times[i] = Number(process.hrtime.bigint() - t0);
    }
    return percentiles(times);
  };
  const decision = measure();
  tokens = [token];
  const repeated = measure();

  // The key row, read on every request (no cache: revocation is immediate).
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-micro-'));
  const store = openSqliteStore(join(dir, 'store.db'));
  await store.keys.create({ id: keyId, name: 'bench', grant: grant.grant, createdAt: Date.now() });
  const lookups = new Float64Array(50_000);
  for (let i = 0; i < lookups.length; i++) {
    const t0 = process.hrtime.bigint();
    await store.keys.get(keyId);
    lookups[i] = Number(process.hrtime.bigint() - t0);
  }
  await store.close();

  // Audit: buffered records (reads, refusals) and group-committed intents (writes).
  const auditStore = openSqliteAudit(join(dir, 'audit.db'));
  const log = await AuditLog.open(auditStore, Buffer.alloc(32, 7), { flushMs: 100, maxBatch: 512, chain: 'bench' });
  const entry = (i: number): AuditEntry => ({
    at: Date.now(),
    requestId: `req-${i}`,
    kind: 'request',
    keyId,
    keyName: 'bench',
    clientIp: '127.0.0.1',
    method: 'GET',
    route: 'GET /posts',
    resource: 'posts',
    action: 'browse',
    decision: 'allow',
    code: null,
    status: 200,
    latencyMs: 1.2,
    bytesIn: null,
    bytesOut: 2048,
  });
  const n = 200_000;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) log.record(entry(i));
  await log.flush();
  const recordsPerSec = n / ((performance.now() - t0) / 1000);
  const intents = 20_000;
  t0 = performance.now();
  // 64 writers, each waiting for its intent before sending the next (as requests do).
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let i = w; i < intents; i += 64) await log.intent({ ...entry(n + i), kind: 'intent', method: 'POST' });
    }),
  );
  const intentsPerSec = intents / ((performance.now() - t0) / 1000);
  await auditStore.close();

  return {
    decision_ns: { ...decision, ops, routes: routes.length, allowed_share: allowed / ops / 2 },
    decision_repeated_token_ns: repeated,
    key_lookup_ns: percentiles(lookups),
    audit: { records_per_s: Math.round(recordsPerSec), durable_intents_per_s_64_writers: Math.round(intentsPerSec) },
  };
}

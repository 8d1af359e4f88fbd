import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configFromDocument, ENV_VARS } from '../src/config/config.js';

/**
 * deploy/compose.yaml, without a container engine (none on the development and CI machines): its
 * structure, its healthchecks, and the ghostgate replicas' environment and config file read by the
 * gateway's own config loader, so a renamed key or a typo in a variable fails here.
 */
const DEPLOY = new URL('../deploy/', import.meta.url).pathname;
type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
};
const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { services } = compose;
const replicas = ['ghostgate-1', 'ghostgate-2'];

/** Compose's interpolation, with made-up values: ${X:?msg} and ${X} take a sample, ${X:-default} its default. */
const SAMPLES: Record<string, string> = {
  GHOSTGATE_UPSTREAM_KEY: `${'ab'.repeat(12)}:${'cd'.repeat(32)}`,
  GHOSTGATE_MASTER_SECRET: 'ef'.repeat(32),
};
const interpolate = (v: string) =>
  v.replace(
    /\$\{(\w+)(?::([?-])([^}]*))?\}/g,
    (_, name: string, op?: string, rest?: string) => SAMPLES[name] ?? (op === '-' ? rest! : `sample-${name}`),
  );

test('compose: Ghost 6 on MySQL 8, PostgreSQL, Redis, a migration step, two ghostgate replicas and a balancer', () => {
  assert.deepEqual(Object.keys(services).sort(), ['ghost', 'ghostgate-1', 'ghostgate-2', 'lb', 'migrate', 'mysql', 'postgres', 'redis']);
  assert.match(services.ghost!.image!, /^ghost:6(\.|$)/);
  assert.match(services.mysql!.image!, /^mysql:8(\.|$)/);
  assert.equal(services.ghost!.environment!.database__client, 'mysql');
  assert.equal(services.ghost!.environment!.database__connection__host, 'mysql');
  for (const name of [...replicas, 'migrate']) {
    const s = services[name]!;
    assert.equal(s.build?.dockerfile, 'Dockerfile', name);
    assert.ok(existsSync(join(DEPLOY, s.build.context, 'Dockerfile')), 'the build context holds the Dockerfile');
  }
  assert.deepEqual(services.migrate!.command, ['migrate']);
});

test('compose: every service but the one-off migration has a healthcheck; the replicas’ is readyz on their port', () => {
  for (const [name, s] of Object.entries(services)) {
    if (name === 'migrate') assert.equal(s.healthcheck?.disable, true);
    else if (name !== 'lb') assert.ok(s.healthcheck?.test && s.healthcheck.test.length > 1, `${name} has a healthcheck`);
  }
  for (const r of replicas) {
    const probe = services[r]!.healthcheck!.test!.join(' ');
    const port = services[r]!.environment!.GHOSTGATE_LISTEN_PORT!;
    assert.ok(probe.includes(`http://127.0.0.1:${port}/ghostgate/readyz`), probe);
  }
  // The image's own HEALTHCHECK probes the same.
  assert.match(readFileSync(join(DEPLOY, '../Dockerfile'), 'utf8'), /HEALTHCHECK[\s\S]*127\.0\.0\.1:8787\/ghostgate\/readyz/);
});

test('compose: start order: the replicas wait for the migration, Ghost and Redis; the balancer for healthy replicas', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      assert.ok(services[dep], `${name} depends on ${dep}, a service`);
      assert.ok(
        ['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition),
        "['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition)",
      );
      if (condition === 'service_healthy') assert.ok(services[dep]!.healthcheck?.test, `${dep} has a healthcheck to wait for`);
    }
  }
  for (const r of replicas)
    assert.deepEqual(services[r]!.depends_on, {
      migrate: { condition: 'service_completed_successfully' },
      ghost: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  assert.deepEqual(Object.keys(services.lb!.depends_on!).sort(), replicas);
  assert.deepEqual(services.migrate!.depends_on, { postgres: { condition: 'service_healthy' } });
});

test('compose: the replicas’ environment names real configuration keys and, with ghostgate.yaml, is a valid configuration on PostgreSQL and Redis', () => {
  const doc = parse(readFileSync(join(DEPLOY, 'ghostgate.yaml'), 'utf8')) as Record<string, unknown>;
  for (const r of [...replicas, 'migrate']) {
    const env = Object.fromEntries(Object.entries(services[r]!.environment!).map(([k, v]) => [k, interpolate(v)]));
    for (const name of Object.keys(env)) assert.ok(name in ENV_VARS, `${r}: ${name} is a ghostgate variable`);
    assert.ok(services[r]!.volumes!.includes('./ghostgate.yaml:/data/ghostgate.yaml:ro'), 'the config file the image reads');
    const config = configFromDocument(doc, '/data', env);
    assert.equal(config.store.driver, 'postgres');
    assert.match(config.store.url!, /^postgres:\/\/ghostgate:[^@]+@postgres:5432\/ghostgate$/);
    assert.equal(config.ratelimit.redis, 'redis://redis:6379/0');
    assert.equal(config.upstream.url, 'http://ghost:2368');
    assert.equal(config.listen.host, '0.0.0.0');
  }
  // Secrets come from .env, never from the files committed.
  for (const secret of ['GHOSTGATE_UPSTREAM_KEY', 'GHOSTGATE_MASTER_SECRET'])
    assert.match(services['ghostgate-1']!.environment![secret]!, new RegExp(`^\\$\\{${secret}:\\?`));
  assert.equal(doc.masterSecret, undefined);
});

test('nginx.conf balances over both replicas by service name and port, retries only refused connections, and compose mounts it', () => {
  const conf = readFileSync(join(DEPLOY, 'nginx.conf'), 'utf8');
  const servers = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(
    servers,
    replicas.map((r) => `${r}:${services[r]!.environment!.GHOSTGATE_LISTEN_PORT}`),
  );
  assert.match(conf, /proxy_next_upstream error timeout;/);
  assert.doesNotMatch(conf, /non_idempotent/, 'a write that was sent is never sent twice');
  assert.ok(
    services.lb!.volumes!.some((v) => v.startsWith('./nginx.conf:')),
    "services.lb!.volumes!.some((v) => v.startsWith('./nginx.conf:'))",
  );
  const listen = /listen\s+(\d+);/.exec(conf)![1]!;
  assert.ok(services.lb!.ports!.includes(`${listen}:${listen}`), 'services.lb!.ports!.includes(`${listen}:${listen}`)');
  for (const s of Object.values(services))
    for (const v of s.volumes ?? []) if (v.startsWith('./')) assert.ok(existsSync(join(DEPLOY, v.split(':')[0]!)), v);
});

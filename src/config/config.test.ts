import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, storeLabel, withoutPassword } from './config.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ghostgate-config-'));
  const f = join(dir, 'ghostgate.yaml');
  writeFileSync(f, text);
  return f;
}

test('reads the YAML file, resolves paths against it, and fills defaults', () => {
  const f = file('upstream:\n  url: https://example.com/\nstore:\n  path: data/gg.db\n');
  const { config } = loadConfig(f, {});
  assert.equal(config.upstream.url, 'https://example.com');
  assert.equal(config.upstream.kind, 'integration');
  assert.equal(config.listen.port, 8787);
  assert.equal(config.store.path, join(f, '..', 'data', 'gg.db'));
});

test('environment variables win over the file', () => {
  const f = file('upstream:\n  url: https://example.com\nlisten:\n  port: 9000\n');
  const { config } = loadConfig(f, {
    GHOSTGATE_LISTEN_PORT: '9100',
    GHOSTGATE_UPSTREAM_URL: 'http://127.0.0.1:2368',
    GHOSTGATE_UPSTREAM_KIND: 'staff',
  });
  assert.equal(config.listen.port, 9100);
  assert.equal(config.upstream.url, 'http://127.0.0.1:2368');
  assert.equal(config.upstream.kind, 'staff');
});

test('invalid values are refused at start-up with the field named', () => {
  const bad = (text: string, env: Record<string, string>, field: RegExp) => {
    assert.throws(
      () => loadConfig(file(text), env),
      (e: unknown) => e instanceof ConfigError && field.test(e.message),
    );
  };
  bad('upstream:\n  url: ftp://example.com\n', {}, /upstream\.url/);
  bad('upstream:\n  url: https://example.com\n  kind: owner\n', {}, /upstream\.kind/);
  bad('upstream:\n  url: https://example.com\n', { GHOSTGATE_LISTEN_PORT: '70000' }, /listen\.port/);
  bad('upstream:\n  url: https://example.com\n', { GHOSTGATE_UPSTREAM_KEY: 'not-a-key' }, /upstream\.key/);
  bad('upstream:\n  url: https://example.com\nsurprise: 1\n', {}, /surprise|Unrecognized/);
  bad('{}\n', {}, /upstream/);
  bad('upstream: [1, 2\n', {}, /not valid YAML/);
});

test('a named config file that does not exist is an error', () => {
  assert.throws(() => loadConfig('/nonexistent/ghostgate.yaml', {}), ConfigError);
});

test('store.driver postgres takes its URL from GHOSTGATE_STORE_URL, and the URL is refused or shown without its password', () => {
  const f = file('upstream:\n  url: https://example.com\nstore:\n  driver: postgres\n');
  const url = 'postgres://gate:s3cret-pw@db.internal:5432/ghostgate';
  const { config } = loadConfig(f, { GHOSTGATE_STORE_URL: url });
  assert.equal(config.store.driver, 'postgres');
  assert.equal(config.store.url, url);
  assert.equal(config.store.pollMs, 500);
  assert.equal(storeLabel(config.store), 'postgres://gate:***@db.internal:5432/ghostgate');
  const refused = (env: Record<string, string>, text = 'upstream:\n  url: https://example.com\nstore:\n  driver: postgres\n') => {
    try {
      loadConfig(file(text), env);
    } catch (e) {
      assert.ok(e instanceof ConfigError, 'e instanceof ConfigError');
      assert.match(e.message, /store\.url/);
      assert.doesNotMatch(e.message, /s3cret-pw/, 'the password is never repeated');
      return;
    }
    assert.fail('accepted');
  };
  refused({});
  refused({ GHOSTGATE_STORE_URL: 'mysql://gate:s3cret-pw@db/x' });
  refused({ GHOSTGATE_STORE_URL: 'postgres://gate:s3cret-pw@db/x' }, 'upstream:\n  url: https://example.com\n');
  const sqlite = loadConfig(file('upstream:\n  url: https://example.com\n'), {}).config.store;
  assert.equal(storeLabel(sqlite), sqlite.path);
});

test('ratelimit.redis takes its URL from GHOSTGATE_RATELIMIT_REDIS; a URL that is not redis:// is refused without repeating it', () => {
  const f = file('upstream:\n  url: https://example.com\n');
  const none = loadConfig(f, {}).config.ratelimit;
  assert.deepEqual(none, { prefix: 'ghostgate:rate:', timeoutMs: 250 }, 'off by default: each replica enforces its share');
  const url = 'redis://:s3cret-pw@cache.internal:6379/2';
  const { config } = loadConfig(f, { GHOSTGATE_RATELIMIT_REDIS: url });
  assert.equal(config.ratelimit.redis, url);
  assert.equal(withoutPassword(url), 'redis://:***@cache.internal:6379/2');
  for (const bad of ['http://:s3cret-pw@cache/0', 'redis://', 'not a url s3cret-pw']) {
    assert.throws(
      () => loadConfig(f, { GHOSTGATE_RATELIMIT_REDIS: bad }),
      (e: unknown) => e instanceof ConfigError && /ratelimit\.redis/.test(e.message) && !e.message.includes('s3cret-pw'),
      bad,
    );
  }
});

test('listen.workers is 1 by default, a whole number from 1 or auto, from the file or GHOSTGATE_LISTEN_WORKERS', () => {
  const f = file('upstream:\n  url: https://example.com\nlisten:\n  workers: 4\n');
  assert.equal(loadConfig(file('upstream:\n  url: https://example.com\n'), {}).config.listen.workers, 1);
  assert.equal(loadConfig(f, {}).config.listen.workers, 4);
  assert.equal(loadConfig(f, { GHOSTGATE_LISTEN_WORKERS: 'auto' }).config.listen.workers, 'auto');
  assert.equal(loadConfig(f, { GHOSTGATE_LISTEN_WORKERS: '2' }).config.listen.workers, 2);
  for (const bad of ['0', '1.5', 'all', '-2'])
    assert.throws(
      () => loadConfig(f, { GHOSTGATE_LISTEN_WORKERS: bad }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('listen.workers'),
      bad,
    );
});

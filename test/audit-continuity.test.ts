import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../src/main.js';
import type { Config } from '../src/config/config.js';
import { openSqliteAudit } from '../src/store/sqlite/sqlite-audit.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { cli, startServe } from './helpers/serve-process.js';
import { authHeader } from './helpers/token.js';

/**
 * The audit cannot silently stop or restart (issue 18, cases 3 to 5): two
 * processes on one config are both audited; a deleted, replaced, truncated or
 * older audit file is detected at start-up and by `audit verify`, serving is
 * refused until an operator acknowledges it, and the acknowledgement is itself
 * a verified record; an audit that cannot be written stops the gateway.
 */
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;
type Err = { errors: { code: string }[] };
const silent = pino({ level: 'silent' });

async function startError(config: Config): Promise<{ code?: string; message: string }> {
  let gw: RunningGateway | undefined;
  try {
    gw = await startGateway(config, silent);
  } catch (e) {
    return e as { code?: string; message: string };
  }
  await gw.close();
  assert.fail('the gateway started');
}

function auditFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

describe('audit continuity', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let key: string;
  const send = (url: string, method = 'POST') =>
    request(`${url}/ghost/api/admin/posts/`, {
      method: method as 'POST',
      headers: { authorization: authHeader(key), 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: '{"posts":[{"title":"x"}]}' } : {}),
    }).then(async (r) => {
      const text = await r.body.text();
      return { status: r.statusCode, code: r.statusCode >= 400 ? (JSON.parse(text) as Err).errors[0]!.code : null };
    });
  /** A fresh gateway session on the same files: some traffic, then a clean stop. */
  const session = async (n = 3) => {
    const g = await startGateway(gw.config, silent);
    for (let i = 0; i < n; i++) assert.equal((await send(g.url)).status, 201);
    await g.close();
  };
  const verify = () => {
    const r = cli(gw.configFile, ['audit', 'verify', '--json']);
    return {
      code: r.code,
      report: JSON.parse(r.out) as {
        ok: boolean;
        discontinuities: { problem: string }[];
        acknowledged: { reason: string }[];
        chains: unknown[];
      },
    };
  };

  before(async () => {
    ghost = await startFakeUpstream();
    ghost.respond = (r, res) => {
      res.writeHead(r.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end('{"posts":[{"id":"p"}]}');
    };
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    key = (await gw.createKey(['posts:add', 'posts:browse'])).key;
  });
  after(async () => {
    await gw.close(true).catch(() => {});
    await ghost.close();
    rmSync(dirname(gw.configFile), { recursive: true, force: true });
  });

  test('two gateway processes on one config: every write through either is audited, and the trail verifies', async () => {
    const second = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY });
    try {
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await send(i % 2 ? second.url : gw.url));
      assert.deepEqual(
        results.map((r) => r.status),
        [201, 201, 201, 201, 201, 201],
      );
    } finally {
      await second.kill('SIGTERM');
    }
    await gw.close(true);
    const a = openSqliteAudit(gw.config.audit.path);
    const rows = await a.query({});
    await a.close();
    assert.equal(rows.filter((r) => r.kind === 'intent').length, 6);
    assert.equal(rows.filter((r) => r.kind === 'outcome' && r.status === 201).length, 6);
    assert.equal(new Set(rows.map((r) => r.chain)).size, 2, 'one chain per process');
    const v = verify();
    assert.equal(v.code, 0, JSON.stringify(v.report));
  });

  for (const [what, damage] of [
    [
      'deleted',
      (path: string) => {
        auditFiles(path).forEach((f) => {
          rmSync(f, { force: true });
        });
      },
    ],
    [
      'replaced by another gateway’s audit file',
      (path: string, other: string) => {
        auditFiles(path).forEach((f) => {
          rmSync(f, { force: true });
        });
        copyFileSync(other, path);
      },
    ],
    [
      'truncated (its last records removed)',
      async (path: string) => {
        const a = openSqliteAudit(path);
        const chain = (await a.query({})).at(-1)!.chain;
        await a.unsafeExec('DELETE FROM audit WHERE chain = ? AND seq > (SELECT max(seq) - 2 FROM audit WHERE chain = ?)', chain, chain);
        await a.close();
      },
    ],
    [
      'an older copy restored',
      (path: string, _other: string, older: string) => {
        auditFiles(path).forEach((f) => {
          rmSync(f, { force: true });
        });
        copyFileSync(older, path);
      },
    ],
  ] as const) {
    test(`an audit file ${what}: serve refuses with AUDIT_DISCONTINUITY and verify fails until an operator acknowledges it; the acknowledgement verifies`, async () => {
      await session();
      // An older copy of this very file, and another gateway's file.
      const older = `${gw.config.audit.path}.older`;
      const checkpointed = openSqliteAudit(gw.config.audit.path);
      await checkpointed.unsafeExec('PRAGMA wal_checkpoint(TRUNCATE)');
      await checkpointed.close();
      copyFileSync(gw.config.audit.path, older);
      await session();
      const other = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
      await other.close(true);
      const otherAudit = other.config.audit.path;
      const o = openSqliteAudit(otherAudit);
      await o.unsafeExec('PRAGMA wal_checkpoint(TRUNCATE)');
      await o.close();

      await damage(gw.config.audit.path, otherAudit, older);
      const refused = await startError(gw.config);
      assert.equal(refused.code, 'AUDIT_DISCONTINUITY');
      const served = await startServe(gw.configFile, { GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY }).catch(
        (e: unknown) => e as { exitCode: number; stderr: string },
      );
      assert.ok(
        'exitCode' in served && served.exitCode === 1 && served.stderr.includes('AUDIT_DISCONTINUITY'),
        'serve exits naming the code',
      );
      const before = verify();
      assert.equal(before.code, 1);
      assert.ok(before.report.discontinuities.length > 0, 'before.report.discontinuities.length > 0');

      const ack = cli(gw.configFile, ['audit', 'acknowledge', '--reason', `test: file ${what}`, '--json']);
      assert.equal(ack.code, 0, ack.err);
      const after = verify();
      assert.equal(after.code, 0, JSON.stringify(after.report));
      assert.ok(
        after.report.acknowledged.some((k) => k.reason === `test: file ${what}`),
        'after.report.acknowledged.some((k) => k.reason === `test: file ${what}`)',
      );
      await session(1); // serving again

      // The acknowledgement is a chained, anchored record: edited or removed, it is caught.
      const copy = `${gw.config.audit.path}.ack-tampered`;
      const c = openSqliteAudit(gw.config.audit.path);
      await c.unsafeExec('PRAGMA wal_checkpoint(TRUNCATE)');
      await c.close();
      copyFileSync(gw.config.audit.path, copy);
      const t = openSqliteAudit(copy);
      await t.unsafeExec("UPDATE audit SET detail = replace(detail, 'test:', 'edited:') WHERE kind = 'discontinuity'");
      await t.close();
      assert.equal(
        cli(gw.configFile, ['audit', 'verify', '--json'], { GHOSTGATE_AUDIT_PATH: copy }).code,
        1,
        'an edited acknowledgement fails verification',
      );
      rmSync(copy, { force: true });
      rmSync(older, { force: true });
      rmSync(dirname(other.configFile), { recursive: true, force: true });
    });
  }

  test('an audit file that cannot be written at start-up: serve refuses to start with AUDIT_UNAVAILABLE', async () => {
    await session(1);
    const locker = new Database(gw.config.audit.path);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      assert.equal((await startError(gw.config)).code, 'AUDIT_UNAVAILABLE');
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    const dir = `${gw.config.audit.path}.dir`;
    mkdirSync(dir, { recursive: true });
    const e = await startError({ ...gw.config, audit: { ...gw.config.audit, path: dir } });
    assert.equal(e.code, 'AUDIT_UNAVAILABLE', 'a path that is not a writable file');
    rmSync(dir, { recursive: true, force: true });
    assert.ok(existsSync(gw.config.audit.path), 'existsSync(gw.config.audit.path)');
  });
});

describe('audit.onFailure', () => {
  for (const policy of ['refuse', 'serve-reads'] as const) {
    test(`${policy}: while the audit file is locked, writes are refused and not forwarded; reads are ${policy === 'refuse' ? 'refused with AUDIT_UNAVAILABLE' : 'served'}; both recover after`, async () => {
      const ghost = await startFakeUpstream();
      const extra = policy === 'refuse' ? {} : { audit: { onFailure: 'serve-reads' } };
      const gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY, extra });
      try {
        const { key } = await gw.createKey(['posts:add', 'posts:browse']);
        const call = (method: 'GET' | 'POST') =>
          request(`${gw.url}/ghost/api/admin/posts/`, {
            method,
            headers: { authorization: authHeader(key), 'content-type': 'application/json' },
            ...(method === 'POST' ? { body: '{"posts":[{"title":"x"}]}' } : {}),
          }).then(async (r) => {
            const text = await r.body.text();
            return r.statusCode >= 400 ? (JSON.parse(text) as Err).errors[0]!.code : r.statusCode;
          });
        const locker = new Database(gw.config.audit.path);
        locker.exec('BEGIN EXCLUSIVE');
        try {
          assert.equal(await call('POST'), 'AUDIT_UNAVAILABLE');
          assert.equal(ghost.requests.length, 0);
          assert.equal(await call('GET'), policy === 'refuse' ? 'AUDIT_UNAVAILABLE' : 200);
          assert.equal(ghost.requests.length, policy === 'refuse' ? 0 : 1);
        } finally {
          locker.exec('ROLLBACK');
          locker.close();
        }
        await new Promise((r) => setTimeout(r, gw.config.audit.flushMs * 3));
        let recovered: unknown;
        for (let i = 0; i < 20 && recovered !== 200; i++) {
          recovered = await call('GET');
          if (recovered !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(recovered, 200);
        assert.equal(await call('POST'), 200);
      } finally {
        await gw.close();
        await ghost.close();
      }
    });
  }
});

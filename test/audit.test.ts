import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { openSqliteAudit } from '../src/store/sqlite/sqlite-audit.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { authHeader } from './helpers/token.js';

const CLI = new URL('../bin/ghostgate.js', import.meta.url).pathname;
const UPSTREAM_KEY = `${'ab'.repeat(12)}:${'cd'.repeat(32)}`;

function cli(configFile: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, '--config', configFile, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GHOSTGATE_MASTER_SECRET: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the audit trail', () => {
  let ghost: FakeUpstream;
  let gw: TestGateway;
  let keyId: string;
  const N = { allowed: 12, writes: 5, refused: 9, failed: 4 };

  before(async () => {
    ghost = await startFakeUpstream();
    ghost.respond = (r, res) => {
      if (r.url.includes('fa11')) {
        res.destroy(); // a connection reset: an upstream failure
        return;
      }
      res.writeHead(r.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
      res.end('{"posts":[{"id":"p"}]}');
    };
    gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    const k = await gw.createKey(['posts:*'], 'audited');
    keyId = k.id;
    const send = (method: string, path: string, body?: string) =>
      request(`${gw.url}/ghost/api/admin/${path}`, {
        method: method as 'GET',
        headers: { authorization: authHeader(k.key), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
      }).then((r) => r.body.dump().then(() => r.statusCode));
    for (let i = 0; i < N.allowed; i++) assert.equal(await send('GET', `posts/?page=${i + 1}`), 200);
    for (let i = 0; i < N.writes; i++) assert.equal(await send('POST', 'posts/', '{"posts":[{"title":"x"}]}'), 201);
    for (let i = 0; i < N.refused; i++) assert.equal(await send('GET', i % 2 ? 'tags/' : 'nope/'), 403); // refusals are rows 18-26
    for (let i = 0; i < N.failed; i++) assert.equal(await send('GET', `posts/fa11${i.toString(16).padStart(20, '0')}/`), 502);
    await gw.close(true); // flushes the audit, keeps the files
  });
  after(async () => {
    await ghost.close();
    rmSync(dirname(gw.configFile), { recursive: true, force: true });
  });

  const total = () => N.allowed + N.writes + N.refused + N.failed;

  test('after N requests (allowed, refused, upstream failures) the audit holds exactly N records, none with a secret', async () => {
    const a = openSqliteAudit(gw.config.audit.path);
    const rows = await a.query({});
    await a.close();
    assert.equal(new Set(rows.map((r) => r.requestId)).size, total());
    assert.equal(rows.filter((r) => r.kind === 'intent').length, N.writes);
    assert.equal(rows.filter((r) => r.kind === 'outcome').length, N.writes);
    assert.equal(rows.filter((r) => r.decision === 'deny').length, N.refused);
    assert.equal(rows.filter((r) => r.decision === 'error' && r.code === 'UPSTREAM_UNREACHABLE').length, N.failed);
    assert.ok(
      rows.filter((r) => r.decision === 'deny').every((r) => r.code === 'SCOPE_MISSING' || r.code === 'ROUTE_UNKNOWN'),
      "rows.filter((r) => r.decision === 'deny').every((r) => r.code === 'SCOPE_MISSING' || r.code === 'ROUTE_UNKNOWN')",
    );
    // Unknown routes are refused before authentication, so they carry no key id.
    assert.ok(
      rows.every((r) => (r.code === 'ROUTE_UNKNOWN' ? r.keyId === null : r.keyId === keyId) && r.clientIp === '127.0.0.1'),
      "rows.every((r) => (r.code === 'ROUTE_UNKNOWN' ? r.keyId === null : r.keyId === keyId) && r.clientIp === '127.0.0.1')",
    );
    const intent = rows.find((r) => r.kind === 'intent')!;
    const outcome = rows.find((r) => r.kind === 'outcome' && r.requestId === intent.requestId)!;
    assert.ok(intent.seq < outcome.seq, 'intent.seq < outcome.seq');
    assert.equal(outcome.status, 201);
    const text = JSON.stringify(rows);
    assert.ok(
      !text.includes(UPSTREAM_KEY.split(':')[1]!) && !text.includes('"title"'),
      "!text.includes(UPSTREAM_KEY.split(':')[1]!) && !text.includes('\"title\"')",
    );
  });

  test('`audit verify` passes, and fails after any single record is altered, deleted or swapped', async () => {
    assert.equal(cli(gw.configFile, ['audit', 'verify']).code, 0);
    const tamper = async (...statements: string[]) => {
      const copy = `${gw.config.audit.path}.tampered`;
      copyFileSync(gw.config.audit.path, copy);
      if (existsSync(`${gw.config.audit.path}-wal`)) copyFileSync(`${gw.config.audit.path}-wal`, `${copy}-wal`);
      const a = openSqliteAudit(copy);
      for (const sql of statements) await a.unsafeExec(sql);
      await a.close();
      return cli(gw.configFile, ['audit', 'verify', '--json'], { GHOSTGATE_AUDIT_PATH: copy });
    };
    const altered = await tamper("UPDATE audit SET decision = 'allow', code = NULL WHERE seq = 25 AND decision = 'deny'");
    assert.equal(altered.code, 1);
    assert.match(JSON.parse(altered.out).problems.join(), /row 25: its content/);
    const deleted = await tamper('DELETE FROM audit WHERE seq = 7');
    assert.equal(deleted.code, 1);
    assert.match(JSON.parse(deleted.out).problems.join(), /expected row 7/);
    const last = await tamper('DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)');
    assert.equal(last.code, 1, 'truncating the end is caught by the signed head');
    const swapped = await tamper(
      'UPDATE audit SET seq = -1 WHERE seq = 3',
      'UPDATE audit SET seq = 3 WHERE seq = 4',
      'UPDATE audit SET seq = 4 WHERE seq = -1',
    );
    assert.equal(swapped.code, 1);
  });

  test('query, export and advise read the trail', () => {
    const denied = JSON.parse(cli(gw.configFile, ['audit', 'query', '--key', keyId, '--since', '1h', '--decision', 'deny', '--json']).out);
    assert.equal(
      denied.length,
      Math.floor(N.refused / 2),
      "the key's refusals: missing scopes (unknown routes are refused before the key is known)",
    );
    assert.ok(
      denied.every((r: { code: string }) => r.code === 'SCOPE_MISSING'),
      "denied.every((r: { code: string }) => r.code === 'SCOPE_MISSING')",
    );
    const lines = cli(gw.configFile, ['audit', 'export', '--format', 'jsonl']).out.trim().split('\n');
    assert.equal(lines.length, total() + N.writes);
    assert.ok(JSON.parse(lines[0]!).hash, 'JSON.parse(lines[0]!).hash');
    const tail = cli(gw.configFile, ['audit', 'tail', '-n', '3', '--json']).out.trim().split('\n');
    assert.deepEqual(
      tail.map((l) => JSON.parse(l).hash),
      lines.slice(-3).map((l) => JSON.parse(l).hash),
      'tail: the last three records, in order',
    );
    const advice = JSON.parse(cli(gw.configFile, ['advise', '--key', keyId, '--since', '1h', '--json']).out);
    assert.deepEqual(advice.used, ['posts:add', 'posts:browse', 'posts:read']);
    assert.deepEqual(advice.proposed_grant.scopes, ['posts:add', 'posts:browse', 'posts:read']);
    assert.deepEqual(advice.refused_for_missing_scope, ['tags:browse']);
    assert.equal(advice.narrowed_wildcards[0].held, 'posts:*');
  });

  test('pruning keeps what remains verifiable with a signed checkpoint', async () => {
    const copy = `${gw.config.audit.path}.pruned`;
    copyFileSync(gw.config.audit.path, copy);
    if (existsSync(`${gw.config.audit.path}-wal`)) copyFileSync(`${gw.config.audit.path}-wal`, `${copy}-wal`);
    const env = { GHOSTGATE_AUDIT_PATH: copy };
    const a = openSqliteAudit(copy);
    await a.unsafeExec('UPDATE audit SET at = at - 86400000 * 40 WHERE seq <= 10'); // make ten records old
    await a.close();
    // Ages changed, so the chain no longer verifies... until the old part is pruned.
    const pruned = JSON.parse(cli(gw.configFile, ['audit', 'prune', '--before', '30d', '--json'], env).out);
    assert.equal(pruned.pruned, 10);
    const v = cli(gw.configFile, ['audit', 'verify', '--json'], env);
    assert.equal(v.code, 0, v.out);
    assert.equal(JSON.parse(v.out).chains[0].firstSeq, 11);
  });
});

describe('crash safety', () => {
  test('kill -9 under write load loses no intent record of a forwarded write', async () => {
    const ghost = await startFakeUpstream();
    const seen: string[] = [];
    ghost.respond = (r, res) => {
      if (r.method === 'POST') seen.push(String(r.headers['x-request-id']));
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"posts":[{"id":"p"}]}');
    };
    const setup = await startTestGateway({
      upstreamUrl: ghost.url,
      upstreamKey: UPSTREAM_KEY,
      extra: { listen: { host: '127.0.0.1', port: 0 } },
    });
    const { key } = await setup.createKey(['posts:add']);
    await setup.close(true);
    // The same config and store, served by a separate process that can be killed.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [CLI, '--config', setup.configFile, 'serve'], {
      env: { ...process.env, GHOSTGATE_LISTEN_PORT: String(port), GHOSTGATE_UPSTREAM_KEY: UPSTREAM_KEY, GHOSTGATE_MASTER_SECRET: '' },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await request(`${url}/ghost/api/admin/site/`).then((r) => r.body.dump());
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await request(`${url}/ghost/api/admin/posts/`, {
            method: 'POST',
            headers: { authorization: authHeader(key), 'content-type': 'application/json' },
            body: '{"posts":[{"title":"x"}]}',
          });
          await r.body.dump();
        } catch {
          return; // the gateway died
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // Kill after 300 forwarded writes, or after 60 s on a machine too busy for that (each intent is an fsync).
    const deadline = Date.now() + 60_000;
    while (seen.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await exited;
    await ghost.close();
    const a = openSqliteAudit(setup.config.audit.path);
    const all = await a.query({});
    const intents = new Set(all.filter((r) => r.kind === 'intent').map((r) => r.requestId));
    await a.close();
    rmSync(dirname(setup.configFile), { recursive: true, force: true });
    const lost = seen.filter((id) => !intents.has(id));
    assert.ok(seen.length >= 50, `only ${seen.length} writes were forwarded before the kill: too few to test anything`);
    assert.deepEqual(
      lost,
      [],
      `${lost.length} of ${seen.length} forwarded writes have no intent record; rows for them: ${JSON.stringify(all.filter((r) => lost.includes(r.requestId)))}; last seq ${all.at(-1)?.seq}, rows ${all.length}`,
    );
  });
});

describe('minting a child key through POST /ghostgate/v1/keys/ is audited like a write', () => {
  test('an intent before the mint and an outcome after, with the parent key: minted, refused, and failed half-way', async () => {
    const ghost = await startFakeUpstream();
    const gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    try {
      const parent = await gw.createKey(['posts:browse', 'keys:mint'], 'minting parent');
      const mint = async (scopes: string[]) => {
        const r = await request(`${gw.url}/ghostgate/v1/keys/`, {
          method: 'POST',
          headers: { authorization: authHeader(parent.key, '/ghostgate/'), 'content-type': 'application/json' },
          body: JSON.stringify({ keys: [{ name: 'child', grant: { version: 1, scopes } }] }),
        });
        const body = (await r.body.json()) as { errors?: { code: string }[] };
        return { status: r.statusCode, code: body.errors?.[0]?.code ?? null };
      };
      assert.deepEqual(await mint(['posts:browse']), { status: 201, code: null });
      assert.deepEqual(await mint(['posts:edit']), { status: 403, code: 'CHILD_NOT_SUBSET' });
      const keys = gw.gateway.store.keys;
      const create = keys.create.bind(keys);
      keys.create = () => Promise.reject(new Error('disk I/O error'));
      try {
        assert.deepEqual(await mint(['posts:browse']), { status: 500, code: 'INTERNAL' });
      } finally {
        keys.create = create;
      }
      await gw.close(true);
      const a = openSqliteAudit(gw.config.audit.path);
      const rows = (await a.query({})).filter((r) => r.route === 'POST /ghostgate/v1/keys');
      await a.close();
      assert.deepEqual(
        rows.map((r) => [r.kind, r.decision, r.code, r.status, r.keyId, r.resource, r.action]),
        [
          ['intent', 'allow', null, null, parent.id, 'keys', 'mint'],
          ['outcome', 'allow', null, 201, parent.id, 'keys', 'mint'],
          ['intent', 'allow', null, null, parent.id, 'keys', 'mint'],
          ['outcome', 'deny', 'CHILD_NOT_SUBSET', 403, parent.id, 'keys', 'mint'],
          ['intent', 'allow', null, null, parent.id, 'keys', 'mint'],
          ['outcome', 'error', 'INTERNAL', null, parent.id, 'keys', 'mint'],
        ],
      );
      // Each intent and its outcome share the request id.
      for (let i = 0; i < rows.length; i += 2) assert.equal(rows[i]!.requestId, rows[i + 1]!.requestId);
    } finally {
      await ghost.close();
      rmSync(dirname(gw.configFile), { recursive: true, force: true });
    }
  });

  test('nothing is minted when the intent cannot be made durable', async () => {
    const ghost = await startFakeUpstream();
    const gw = await startTestGateway({ upstreamUrl: ghost.url, upstreamKey: UPSTREAM_KEY });
    try {
      const parent = await gw.createKey(['posts:browse', 'keys:mint'], 'minting parent');
      const before = (await gw.gateway.store.keys.list()).length;
      const locker = new Database(gw.config.audit.path); // another process holds the audit file
      locker.exec('BEGIN EXCLUSIVE');
      try {
        const r = await request(`${gw.url}/ghostgate/v1/keys/`, {
          method: 'POST',
          headers: { authorization: authHeader(parent.key, '/ghostgate/'), 'content-type': 'application/json' },
          body: JSON.stringify({ keys: [{ name: 'child', grant: { version: 1, scopes: ['posts:browse'] } }] }),
        });
        assert.equal(r.statusCode, 503);
        assert.equal(((await r.body.json()) as { errors: { code: string }[] }).errors[0]!.code, 'AUDIT_UNAVAILABLE');
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      assert.equal((await gw.gateway.store.keys.list()).length, before, 'no key was minted');
    } finally {
      await gw.close();
      await ghost.close();
    }
  });
});

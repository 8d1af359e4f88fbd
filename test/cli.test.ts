import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliAsync } from './helpers/cli.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const UPSTREAM = `${'12'.repeat(12)}:${'34'.repeat(32)}`;
const run = runCli;
const runAsync = runCliAsync;
const PARTNER_ID = '5'.repeat(24);

describe('the ghostgate CLI', () => {
  let dir: string;
  let ghost: FakeUpstream;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-cli-'));
    writeFileSync(join(dir, 'up.key'), `${UPSTREAM}\n`);
    // A strict fake Ghost for the one thing the CLI asks it: the id of a constraint's tag.
    ghost = await startFakeUpstream();
    ghost.respond = (r, res) => {
      const signed = /^Ghost [\w-]+\.[\w-]+\.[\w-]+$/.test(String(r.headers.authorization));
      // init checks the credential with a read every integration may make.
      const check = r.method === 'GET' && r.url === '/ghost/api/admin/tags/?limit=1&fields=id' && signed;
      const known = r.method === 'GET' && r.url === '/ghost/api/admin/tags/slug/partner/?fields=id,slug' && signed;
      res.writeHead(known || check ? 200 : 404, { 'content-type': 'application/json' });
      res.end(known || check ? JSON.stringify({ tags: [{ id: PARTNER_ID, slug: 'partner' }] }) : '{"errors":[{"type":"NotFoundError"}]}');
    };
  });
  after(() => ghost.close());

  test('--help lists the commands', () => {
    const r = run(dir, '--help');
    assert.equal(r.code, 0);
    for (const c of ['init', 'serve', 'token', 'upstream', 'catalog', 'lab', 'probe', 'webhooks', 'admin'])
      assert.match(r.out, new RegExp(`\\b${c}\\b`));
  });

  test('init checks the credential with Ghost, then writes the config, a mode-600 master secret and the database, with the upstream key sealed', async () => {
    const refused = mkdtempSync(join(tmpdir(), 'ghostgate-cli-'));
    writeFileSync(join(refused, 'up.key'), `${UPSTREAM}\n`);
    const nobody = await runAsync(refused, 'init', '--upstream-url', 'http://127.0.0.1:9', '--upstream-key-file', 'up.key');
    assert.equal(nobody.code, 1);
    assert.match(nobody.err, /did not accept the credential/);
    assert.deepEqual(readdirSync(refused), ['up.key'], 'a refused init writes nothing');
    const before = ghost.requests.length;
    const r = await runAsync(dir, 'init', '--upstream-url', ghost.url, '--upstream-key-file', 'up.key', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      ghost.requests.slice(before).map((x) => `${x.method} ${x.url}`),
      ['GET /ghost/api/admin/tags/?limit=1&fields=id'],
      'one read to check the credential',
    );
    const out = JSON.parse(r.out);
    assert.equal(out.upstreamStored, true);
    assert.deepEqual(out.upstream, { kind: 'integration', role: 'Admin Integration' });
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    assert.ok(
      !readFileSync(join(dir, 'ghostgate.yaml'), 'utf8').includes(UPSTREAM.split(':')[1]!),
      "!readFileSync(join(dir, 'ghostgate.yaml'), 'utf8').includes(UPSTREAM.split(':')[1]!)",
    );
    assert.ok(
      !readFileSync(join(dir, 'ghostgate.db')).includes(Buffer.from(UPSTREAM.split(':')[1]!)),
      "!readFileSync(join(dir, 'ghostgate.db')).includes(Buffer.from(UPSTREAM.split(':')[1]!))",
    );
    assert.notEqual(run(dir, 'init', '--upstream-url', 'http://127.0.0.1:2368').code, 0, 'a second init refuses to overwrite');
  });

  test('upstream set stores the credential sealed and says running gateways switch to it (they reload it)', () => {
    const r = run(dir, 'upstream', 'set', '--key-file', 'up.key', '--json');
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.deepEqual([out.stored, out.id, out.pinnedByConfig, typeof out.reloadMs], [true, UPSTREAM.split(':')[0], false, 'number']);
    assert.ok(!r.out.includes(UPSTREAM.split(':')[1]!), 'the secret is not echoed');
    const text = run(dir, 'upstream', 'set', '--key-file', 'up.key');
    assert.match(text.out, /Running gateways switch to it within \d+ ms/);
    assert.doesNotMatch(text.out, /Restart/);
  });

  test('token create prints a Ghost-format key once; the database never holds its secret', () => {
    const r = run(dir, 'token', 'create', '--name', 'zapier', '--scope', 'posts:browse, posts:read,webhooks:add', '--json');
    assert.equal(r.code, 0, r.err);
    const k = JSON.parse(r.out);
    assert.match(k.key, /^[0-9a-f]{24}:[0-9a-f]{64}$/);
    assert.deepEqual(k.grant, { version: 1, scopes: ['posts:browse', 'posts:read', 'webhooks:add'] });
    const secret = k.key.split(':')[1];
    for (const f of ['ghostgate.db', 'ghostgate.db-wal']) {
      try {
        const bytes = readFileSync(join(dir, f));
        assert.ok(!bytes.includes(Buffer.from(secret)) && !bytes.includes(Buffer.from(secret, 'hex')), f);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
      }
    }
    const shown = JSON.parse(run(dir, 'token', 'show', k.id, '--json').out);
    assert.equal(shown.name, 'zapier');
    assert.deepEqual(shown.webhooks, [], 'token show lists the webhooks the key owns');
    assert.equal(shown.key, undefined);
    assert.ok(!run(dir, 'token', 'show', k.id).out.includes(secret), "!run(dir, 'token', 'show', k.id).out.includes(secret)");
    const list = JSON.parse(run(dir, 'token', 'list', '--json').out);
    assert.ok(
      list.some((x: { id: string }) => x.id === k.id),
      'list.some((x: { id: string }) => x.id === k.id)',
    );
    // The filters of the keys service (the management API's GET /ghostgate/v1/keys has the same).
    assert.deepEqual(
      JSON.parse(run(dir, 'token', 'list', '--search', 'ZAP', '--status', 'active', '--json').out).map((x: { id: string }) => x.id),
      [k.id],
    );
    assert.deepEqual(JSON.parse(run(dir, 'token', 'list', '--preset', 'publisher', '--json').out), []);
    assert.equal(run(dir, 'token', 'list', '--preset', 'nope').code, 1);
    const revoked = JSON.parse(run(dir, 'token', 'revoke', k.id, '--json').out);
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.changed, true);
  });

  test('admin token create prints a management API token once; the database holds only its hash; list and revoke', () => {
    assert.equal(run(dir, 'admin', 'token', 'create', '--name', 'ci', '--scope', 'admin:all').code, 1, 'an unknown scope is refused');
    assert.equal(
      run(dir, 'admin', 'token', 'create', '--name', 'ci', '--scope', 'admin:read', '--expires', '2000-01-01T00:00:00Z').code,
      1,
    );
    const r = run(dir, 'admin', 'token', 'create', '--name', 'ci', '--scope', 'admin:read', '--expires', '30d', '--json');
    assert.equal(r.code, 0, r.err);
    const t = JSON.parse(r.out);
    assert.match(t.token, /^ggadm_[0-9a-f]{24}_[0-9a-f]{64}$/);
    assert.deepEqual([t.name, t.scope, t.revoked_at], ['ci', 'admin:read', null]);
    const secret = t.token.split('_')[2];
    for (const f of ['ghostgate.db', 'ghostgate.db-wal']) {
      try {
        assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from(secret)), f);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
      }
    }
    const list = run(dir, 'admin', 'token', 'list', '--json');
    assert.ok(!list.out.includes(secret), '!list.out.includes(secret)');
    assert.ok(
      JSON.parse(list.out).some((x: { id: string }) => x.id === t.id),
      'JSON.parse(list.out).some((x: { id: string }) => x.id === t.id)',
    );
    assert.match(run(dir, 'admin', 'token', 'list').out, /ci\s+admin:read\s+active/);
    assert.equal(JSON.parse(run(dir, 'admin', 'token', 'revoke', t.id, '--json').out).changed, true);
    assert.equal(JSON.parse(run(dir, 'admin', 'token', 'revoke', t.id, '--json').out).changed, false);
    assert.match(run(dir, 'admin', 'token', 'revoke', 'f'.repeat(24)).err, /no admin token/);
  });

  test('unknown scopes, an empty name and unknown ids are refused with a clear message', () => {
    const bad = run(dir, 'token', 'create', '--name', 'x', '--scope', 'posts:brwose');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /posts:brwose.*no route needs this scope/);
    assert.equal(run(dir, 'token', 'create', '--name', ' ', '--scope', 'posts:browse').code, 1);
    assert.match(run(dir, 'token', 'show', 'f'.repeat(24)).err, /no key/);
  });

  test('token create refuses a not-before after the expiry, a time no date can hold and a day the month lacks, and creates nothing', () => {
    const before = JSON.parse(run(dir, 'token', 'list', '--json').out).length;
    const r = run(dir, 'token', 'create', '--name', 'never', '--scope', 'posts:browse', '--not-before', '2d', '--expires', '1d');
    assert.equal(r.code, 1);
    assert.match(r.err, /not-before/);
    // Review finding: 99999999d was written, then "Invalid time value" broke `token list` for every key.
    const far = run(dir, 'token', 'create', '--name', 'far', '--scope', 'posts:browse', '--expires', '99999999d');
    assert.equal(far.code, 1);
    assert.match(far.err, /expiry is not a valid time/);
    const feb30 = run(dir, 'token', 'create', '--name', 'feb30', '--scope', 'posts:browse', '--expires', '2099-02-30T00:00:00Z');
    assert.equal(feb30.code, 1);
    assert.match(feb30.err, /day its month does not have/);
    assert.equal(JSON.parse(run(dir, 'token', 'list', '--json').out).length, before);
    assert.equal(run(dir, 'token', 'list').code, 0);
  });

  test('init validates everything before writing anything: a bad URL or a missing key file leaves no file, with a plain message', () => {
    const d = mkdtempSync(join(tmpdir(), 'ghostgate-cli-'));
    const badUrl = run(d, 'init', '--upstream-url', 'not-a-url');
    assert.notEqual(badUrl.code, 0);
    const missing = run(d, 'init', '--upstream-url', 'http://127.0.0.1:2368', '--upstream-key-file', 'missing.key');
    assert.equal(missing.code, 1);
    assert.doesNotMatch(missing.err, /ENOENT/);
    assert.match(missing.err, /missing\.key/);
    const grant = run(dir, 'token', 'create', '--name', 'x', '--grant', 'nowhere.json');
    assert.equal(grant.code, 1);
    assert.doesNotMatch(grant.err, /ENOENT/);
    assert.deepEqual(readdirSync(d), [], 'nothing written');
  });

  test('a world-readable master secret is refused', () => {
    const d = mkdtempSync(join(tmpdir(), 'ghostgate-cli-'));
    assert.equal(run(d, 'init', '--upstream-url', 'http://127.0.0.1:2368').code, 0);
    spawnSync('chmod', ['644', join(d, 'master.key')]);
    const r = run(d, 'token', 'create', '--name', 'x', '--scope', 'posts:browse');
    assert.equal(r.code, 1);
    assert.match(r.err, /readable by others/);
  });

  test('catalog --json lists every route with its scope', () => {
    const r = run(dir, 'catalog', '--json');
    assert.equal(r.code, 0);
    const c = JSON.parse(r.out);
    assert.equal(c.routes.length, 237);
    assert.ok(
      c.routes.some(
        (x: { method: string; path: string; scope: string }) => x.method === 'POST' && x.path === '/webhooks' && x.scope === 'webhooks:add',
      ),
      "c.routes.some( (x: { method: string; path: string; scope: string }) => x.method === 'POST' && x.path === '/webhooks' && x.scope === 'webhooks:add', )",
    );
  });

  test('token create --preset with --grant overrides, and explain shows the rule and the constrained filter', async () => {
    writeFileSync(join(dir, 'partner.json'), JSON.stringify({ constraints: { posts: { tags: ['partner'] } } }));
    const before = ghost.requests.length;
    const r = await runAsync(dir, 'token', 'create', '--name', 'partner', '--preset', 'drafts-writer', '--grant', 'partner.json', '--json');
    assert.equal(r.code, 0, r.err);
    const k = JSON.parse(r.out);
    // The tag is pinned to its id in Ghost when the key is created: renaming tags cannot move the key's boundary.
    assert.deepEqual(k.grant.constraints.posts, { status: ['draft'], createdByKey: true, tags: [{ id: PARTNER_ID, slug: 'partner' }] });
    assert.deepEqual(
      ghost.requests.slice(before).map((q) => `${q.method} ${q.url}`),
      ['GET /ghost/api/admin/tags/slug/partner/?fields=id,slug'],
    );
    const browse = JSON.parse(run(dir, 'explain', '--key', k.id, 'GET', '/posts/?filter=tag:-partner', '--json').out);
    assert.equal(browse.decision, 'allow');
    assert.match(browse.forwarded_query, new RegExp(`tag:-'partner'\\)?\\+.*tags\\.id:\\['${PARTNER_ID}'\\]`));
    writeFileSync(join(dir, 'nosuch.json'), JSON.stringify({ constraints: { posts: { tags: ['no-such-tag'] } } }));
    const missing = await runAsync(dir, 'token', 'create', '--name', 'x', '--preset', 'drafts-writer', '--grant', 'nosuch.json');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no tag with the slug "no-such-tag"/);
    writeFileSync(join(dir, 'publish.json'), JSON.stringify({ posts: [{ status: 'published' }] }));
    const publish = run(dir, 'explain', '--key', k.id, 'POST', '/posts/', '--body', 'publish.json', '--json');
    assert.equal(publish.code, 1);
    const d = JSON.parse(publish.out);
    assert.equal(d.decision, 'deny');
    assert.equal(d.code, 'FIELD_REFUSED');
    assert.equal(JSON.parse(run(dir, 'explain', '--key', k.id, 'GET', '/posts/' + 'a'.repeat(24) + '/', '--json').out).decision, 'depends');
    const bad = run(dir, 'token', 'create', '--name', 'x', '--grant', 'publish.json');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid grant/);
  });

  test('token create --webhooks sets what the key’s webhooks do at its expiry; webhooks list and audit answer with --json', () => {
    const stop = JSON.parse(
      run(
        dir,
        'token',
        'create',
        '--name',
        'hooks',
        '--scope',
        'webhooks:add,posts:read',
        '--expires',
        '1h',
        '--webhooks',
        'stop',
        '--json',
      ).out,
    );
    assert.deepEqual(stop.limits, { webhooks: 'stop' });
    const bad = run(dir, 'token', 'create', '--name', 'hooks', '--scope', 'webhooks:add', '--webhooks', 'forever');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /outlive or stop/);
    assert.deepEqual(JSON.parse(run(dir, 'webhooks', 'list', '--json').out), []);
    assert.deepEqual(JSON.parse(run(dir, 'webhooks', 'audit', '--json').out), { legacy: [] });
    assert.deepEqual(JSON.parse(run(dir, 'webhooks', 'deliveries', '--json').out), []);
  });

  test('token create --preset agent-editor, and explain says a publish is held for approval while a draft edit is not', async () => {
    const r = await runAsync(dir, 'token', 'create', '--name', 'editor agent', '--preset', 'agent-editor', '--json');
    assert.equal(r.code, 0, r.err);
    const k = JSON.parse(r.out);
    assert.deepEqual(k.grant.confirm, ['posts:publish', 'pages:publish', 'posts:destroy']);
    writeFileSync(join(dir, 'go-live.json'), JSON.stringify({ posts: [{ status: 'published' }] }));
    const held = JSON.parse(run(dir, 'explain', '--key', k.id, 'POST', '/posts/', '--body', 'go-live.json', '--json').out);
    assert.equal(held.decision, 'allow');
    assert.match(held.approval, /confirm posts:publish/);
    writeFileSync(join(dir, 'draft.json'), JSON.stringify({ posts: [{ status: 'draft', title: 'x' }] }));
    assert.equal(
      JSON.parse(run(dir, 'explain', '--key', k.id, 'POST', '/posts/', '--body', 'draft.json', '--json').out).approval,
      undefined,
    );
    assert.deepEqual(JSON.parse(run(dir, 'explain', '--key', k.id, 'POST', '/posts/', '--json').out).needs, [
      'the request body (--body FILE)',
    ]);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ confirm: ['posts:publsh'] }));
    const typo = await runAsync(dir, 'token', 'create', '--name', 'x', '--scope', 'posts:browse', '--grant', 'typo.json');
    assert.equal(typo.code, 1);
    assert.match(typo.err, /posts:publsh/);
  });

  test('explain reads a webhook edit’s relay row as the gateway does: not relayed, or the stored event’s read scope', async () => {
    const k = JSON.parse(run(dir, 'token', 'create', '--name', 'hook-editor', '--scope', 'webhooks:edit,posts:read', '--json').out);
    const relayed = 'e1'.repeat(12);
    const raw = 'e2'.repeat(12);
    const store = openSqliteStore(join(dir, 'ghostgate.db'));
    for (const id of [relayed, raw]) await store.ledger.add(k.id, 'webhooks', id, Date.now());
    await store.webhooks.add({
      id: 'f'.repeat(32),
      keyId: k.id,
      event: 'member.added',
      targetUrl: 'https://hooks.example.com/m',
      secretSealed: null,
      relayUrl: 'https://gw.example.com/ghostgate/webhooks/relay/' + 'f'.repeat(32),
      createdAt: Date.now(),
    });
    await store.webhooks.activate('f'.repeat(32), relayed, Date.now());
    await store.close();
    writeFileSync(join(dir, 'rename.json'), JSON.stringify({ webhooks: [{ name: 'renamed' }] }));
    const notRelayed = run(dir, 'explain', '--key', k.id, 'PUT', `/webhooks/${raw}/`, '--body', 'rename.json', '--json');
    assert.equal(notRelayed.code, 1);
    assert.equal(JSON.parse(notRelayed.out).code, 'WEBHOOK_NOT_RELAYED');
    assert.match(JSON.parse(notRelayed.out).webhook, /not an active relay/);
    const member = JSON.parse(run(dir, 'explain', '--key', k.id, 'PUT', `/webhooks/${relayed}/`, '--body', 'rename.json', '--json').out);
    assert.equal(member.code, 'SCOPE_MISSING');
    assert.match(member.message, /members:read/);
    assert.match(member.webhook, /event member\.added, created by this key/);
  });

  test('explain runs the key checks of a request (revocation, window, IP, max uses, ancestors) and names those it skips', () => {
    const create = (...args: string[]) => JSON.parse(run(dir, 'token', 'create', '--name', 'x', '--json', ...args).out) as { id: string };
    const explain = (id: string, ...extra: string[]) => {
      const r = run(dir, 'explain', '--key', id, 'GET', '/posts/', '--json', ...extra);
      return JSON.parse(r.out) as { decision: string; code?: string; checked: string[]; skipped: string[] };
    };
    const fenced = create('--scope', 'posts:browse', '--ip', '10.0.0.0/8');
    const noIp = explain(fenced.id);
    assert.equal(noIp.decision, 'allow');
    assert.ok(noIp.skipped.includes('IP allowlist (give --ip)'), "noIp.skipped.includes('IP allowlist (give --ip)')");
    assert.ok(
      noIp.skipped.some((x) => /rate limits/.test(x)),
      'noIp.skipped.some((x) => /rate limits/.test(x))',
    );
    assert.equal(explain(fenced.id, '--ip', '192.168.1.1').code, 'IP_NOT_ALLOWED');
    assert.equal(explain(fenced.id, '--ip', '::ffff:10.1.2.3').decision, 'allow');
    assert.equal(explain(create('--scope', 'posts:browse', '--not-before', '2d').id).code, 'KEY_NOT_YET_VALID');
    const parent = create('--scope', 'posts:browse,keys:mint');
    const child = create('--scope', 'posts:browse', '--parent', parent.id);
    assert.equal(explain(child.id).decision, 'allow');
    assert.ok(
      explain(child.id).checked.some((x) => /1 parent key/.test(x)),
      'explain(child.id).checked.some((x) => /1 parent key/.test(x))',
    );
    assert.equal(run(dir, 'token', 'revoke', parent.id).code, 0);
    const orphan = JSON.parse(run(dir, 'explain', '--key', child.id, 'GET', '/posts/', '--json').out) as { code: string };
    assert.equal(orphan.code, 'KEY_REVOKED', 'revoking the parent revoked the child too');
    const once = create('--scope', 'posts:browse', '--max-uses', '1');
    assert.ok(explain(once.id).checked.includes('max uses: 1 of 1 left'), "explain(once.id).checked.includes('max uses: 1 of 1 left')");
  });
});

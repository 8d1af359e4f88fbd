import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { adminTokenSigner, MasterSecret, newKeyId } from '../secrets/keys.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { MAX_KEY_DEPTH, type KeyLimits, type KeyRecord, type Store } from '../store/store.js';
import { authenticateKey, runPipeline, takeTraffic, type PipelineDeps, type PipelineResult, type RecordFetcher } from './pipeline.js';
import { loadCatalog } from '../catalog/catalog.js';
import { RouteMatcher } from '../catalog/matcher.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../catalog/permissions.js';
import { decideApproval } from '../admin/approvals.js';
import { UpstreamCredential } from './forward/upstream.js';
import { RateLimiter, secondsToUtcMidnight } from './lifecycle/lifecycle.js';

const master = new MasterSecret(MasterSecret.generateHex());
/** A client's Authorization header for a key, signed as the official client does, with its secret of `generation`. */
const token = (id: string, generation = 1) => `Ghost ${adminTokenSigner({ id, secret: master.keySecret(id, generation) })('/admin/')}`;

/**
 * authenticateKey and takeTraffic called directly, with a real SQLite store and a chosen clock: the
 * edges the gateway tests, which run on the wall clock, cannot place a request on.
 */
describe('authenticateKey and takeTraffic', () => {
  let dir: string;
  let store: Store;
  let deps: PipelineDeps;
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-pipeline-'));
    store = openSqliteStore(join(dir, 'k.db'));
    deps = { store, master, clockSkewS: 30, rateLimiter: new RateLimiter() } as unknown as PipelineDeps;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const key = (spec: { parentId?: string; limits?: KeyLimits } = {}): Promise<KeyRecord> =>
    store.keys.create({ id: newKeyId(), name: 'k', grant: { version: 1, scopes: ['posts:browse'] }, createdAt: now - 60_000, ...spec });
  const code = (r: { ok: true } | { ok: false; refusal: { code: string } } | undefined) =>
    r === undefined || r.ok ? 'ok' : r.refusal.code;

  test('after a rotation the previous secret verifies until the grace period ends, and not at its last instant', async () => {
    const k = await key();
    const graceUntil = Date.now() + 10_000;
    const rotated = (await store.keys.rotate(k.id, graceUntil))!;
    assert.equal(rotated.graceUntil, graceUntil);
    const old = token(k.id, 1);
    assert.equal(code(await authenticateKey(deps, old, '/admin/', graceUntil - 1, '127.0.0.1')), 'ok');
    assert.equal(code(await authenticateKey(deps, old, '/admin/', graceUntil, '127.0.0.1')), 'TOKEN_SIGNATURE');
    assert.equal(code(await authenticateKey(deps, token(k.id, rotated.generation), '/admin/', graceUntil, '127.0.0.1')), 'ok');
  });

  test('a chain deeper than the store allows is refused as revoked, not thrown', async () => {
    let parent = await key();
    for (let i = 0; i < MAX_KEY_DEPTH + 1; i++) parent = await key({ parentId: parent.id });
    const r = await authenticateKey(deps, token(parent.id), '/admin/', Date.now(), '127.0.0.1');
    assert.equal(code(r), 'KEY_REVOKED');
    assert.equal(!r.ok && r.refusal.key?.id, parent.id);
  });

  test('traffic: false authenticates without spending the rate; the default spends it', async () => {
    const k = await key({ limits: { rate: { perSecond: 1, burst: 1 } } });
    const at = Date.now();
    for (let i = 0; i < 3; i++) assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1', false)), 'ok');
    assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1')), 'ok');
    assert.equal(code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1')), 'RATE_LIMITED');
    assert.equal(
      code(await authenticateKey(deps, token(k.id), '/admin/', at, '127.0.0.1', false)),
      'ok',
      'a check alone is never refused for rate',
    );
  });

  test('a rate refusal says when a request would pass again', async () => {
    const k = await key({ limits: { rate: { perMinute: 1 } } });
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    const r = await takeTraffic(deps, k, [], now);
    assert.equal(code(r), 'RATE_LIMITED');
    assert.equal(!r!.ok && r!.refusal.retryAfterS, 60, 'one request a minute');
  });

  test('a daily quota admits exactly its number of requests, then refuses until UTC midnight', async () => {
    const k = await key({ limits: { dailyQuota: 2 } });
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    assert.equal(await takeTraffic(deps, k, [], now), undefined);
    const r = await takeTraffic(deps, k, [], now);
    assert.equal(code(r), 'QUOTA_EXCEEDED');
    assert.equal(!r!.ok && r!.refusal.retryAfterS, secondsToUtcMidnight(now));
    assert.equal(!r!.ok && r!.refusal.key, k);
    // The next UTC day starts a new count.
    assert.equal(await takeTraffic(deps, k, [], now + 86_400_000), undefined);
  });

  test('a child is held to its parent’s daily quota, and the refusal names the parent', async () => {
    const parent = await key({ limits: { dailyQuota: 1 } });
    const child = await key({ parentId: parent.id });
    assert.equal(await takeTraffic(deps, child, [parent], now), undefined);
    const r = await takeTraffic(deps, child, [parent], now);
    assert.equal(code(r), 'QUOTA_EXCEEDED');
    assert.match(!r!.ok ? r!.refusal.context : '', /parent/);
    assert.equal(!r!.ok && r!.refusal.key, child);
  });
});

/**
 * runPipeline in process, with a real SQLite store and a strict fake of the gateway's reads from Ghost
 * (every path it is asked for must be one the test expects): the approval of a held call, a max-uses
 * key's reservation beside it, the pinning of constraint anchors and the record a route's exposure reads.
 */
describe('runPipeline', () => {
  const PREFIX = '/ghost/api/admin/';
  const POST = '5f1a2b3c4d5e6f7a8b9c0d1e';
  const catalog = loadCatalog();
  const permissions = loadPermissions();
  const info = { kind: 'integration', role: INTEGRATION_ROLE } as const;
  let dir: string;
  let store: Store;
  let holder: string;
  /** What Ghost answers to the gateway's own reads, by exact path; anything else fails the read (and the test). */
  let answers: Map<string, Record<string, unknown> | null | Error>;
  let asked: string[];
  const records: RecordFetcher = {
    fetchRecord: (path, authorization) => {
      asked.push(path);
      assert.match(authorization, /^Ghost [\w-]+\.[\w-]+\.[\w-]+$/, 'the gateway reads with the upstream credential');
      const a = answers.get(path);
      if (a === undefined) return Promise.reject(new Error(`unexpected read ${path}`));
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a === null ? null : structuredClone(a));
    },
  };
  const depsWith = (over: Partial<PipelineDeps> = {}): PipelineDeps => ({
    matcher: new RouteMatcher(catalog),
    store,
    master,
    upstream: {
      current: new UpstreamCredential(`${'ab'.repeat(12)}:${'cd'.repeat(32)}`, info),
      reach: (r) => upstreamReach(r, info, permissions),
    },
    records,
    ghostPath: 'ghost',
    clockSkewS: 30,
    maxInspectedBody: 1 << 20,
    rateLimiter: new RateLimiter(),
    holder,
    ...over,
  });
  /** A request as Node's server hands it over: its bytes as the stream, these headers and a host. */
  const incoming = (method: string, path: string, headers: Record<string, string>, bytes?: Buffer) =>
    Object.assign(Readable.from(bytes ? [bytes] : []), {
      method,
      url: `${PREFIX}${path}`,
      headers: { host: 'gw.local', ...headers },
    }) as unknown as IncomingMessage;
  const request = (keyId: string, method: string, path: string, body?: unknown) => {
    const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const type: Record<string, string> = bytes ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {};
    return incoming(method, path, { authorization: token(keyId), ...type }, bytes);
  };
  const key = (grant: object, spec: { parentId?: string; maxUses?: number } = {}) =>
    store.keys.create({ id: newKeyId(), name: 'agent', grant: grant as KeyRecord['grant'], createdAt: Date.now() - 60_000, ...spec });
  /** A call whose forward Ghost has answered: its record lock released, as the server does once Ghost answers. */
  const run = async (deps: PipelineDeps, k: KeyRecord, method: string, path: string, body?: unknown) => {
    const r = await held(deps, k, method, path, body);
    if (r.forward && r.lock) await store.recordLocks.release(r.lock, true, Date.now());
    return r;
  };
  /** A call decided and not answered by Ghost yet: a forwarded write still holds its record's lock. */
  const held = (deps: PipelineDeps, k: KeyRecord, method: string, path: string, body?: unknown) =>
    runPipeline(deps, request(k.id, method, path, body), Date.now(), '127.0.0.1');
  const refusal = (r: PipelineResult) => (r.forward ? 'forwarded' : r.code);
  const pendingFor = async (keyId: string) => (await store.approvals.list('pending')).filter((a) => a.keyId === keyId);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ghostgate-pipeline-run-'));
    store = openSqliteStore(join(dir, 'k.db'));
    holder = await store.holders.register({ pid: process.pid, host: 'test', startedAt: Date.now() }, Date.now() + 600_000);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    answers = new Map();
    asked = [];
  });

  const confirmGrant = { version: 1, scopes: ['posts:*'], confirm: ['posts:publish'] };
  const livePost = (over: Record<string, unknown> = {}) => ({
    posts: [{ id: POST, title: 'In Ghost', status: 'published', updated_at: '2026-01-01T00:00:00.000Z', ...over }],
  });
  const edit = { posts: [{ title: 'Sent', updated_at: '2026-01-01T00:00:00.000Z' }] };

  test('an edit of a live post is held with the title Ghost has; once approved it is forwarded once, with the bytes read, and the approval is spent', async () => {
    const k = await key(confirmGrant);
    const deps = depsWith();
    answers.set(`${PREFIX}posts/${POST}/?include=tags,authors`, livePost());
    const held = await run(deps, k, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(held), 'APPROVAL_PENDING');
    assert.equal(!held.forward && held.key?.id, k.id, 'the refusal names the key');
    assert.match(!held.forward ? (held.help ?? '') : '', /ghostgate approvals approve/);
    assert.deepEqual(asked, [`${PREFIX}posts/${POST}/?include=tags,authors`]);
    const [pending, ...more] = await pendingFor(k.id);
    assert.equal(more.length, 0, 'one approval opened');
    assert.match(pending!.summary, /title "In Ghost"/, 'the title as Ghost has it, not the body’s');
    assert.deepEqual(
      [pending!.call?.method, pending!.call?.pathAndQuery, pending!.call?.body],
      ['PUT', `${PREFIX}posts/${POST}/`, JSON.stringify(edit)],
    );
    await decideApproval({ store }, pending!.id, 'approved', Date.now());

    const ok = await run(deps, k, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(ok), 'forwarded');
    assert.equal(ok.forward && ok.body?.bytes.toString(), JSON.stringify(edit), 'the body the gateway read and the approval covers');
    assert.equal(ok.forward && ok.body?.type, 'application/json', 'forwarded as the JSON it was read as');
    assert.equal(ok.forward && ok.pathAndQuery, `${PREFIX}posts/${POST}/`);
    assert.equal(ok.forward && ok.effects.confirm, 'posts:publish');
    assert.notEqual((await store.approvals.get(pending!.id))!.usedAt, null, 'the approval is spent');
    const again = await run(deps, k, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(again), 'APPROVAL_PENDING', 'a retry needs its own approval');
  });

  test('a call on no record Ghost has is held with the title its body gives', async () => {
    const k = await key(confirmGrant);
    const held = await run(depsWith(), k, 'POST', 'posts/', { posts: [{ title: 'Launch', status: 'published' }] });
    assert.equal(refusal(held), 'APPROVAL_PENDING');
    assert.deepEqual(asked, [], 'an add reads no record');
    assert.match((await pendingFor(k.id))[0]!.summary, /title "Launch"/);
  });

  test('an approval holds for the record as it was: a member’s activity counters may move, any other field may not', async () => {
    const k = await key(confirmGrant);
    const deps = depsWith();
    const path = `${PREFIX}posts/${POST}/?include=tags,authors`;
    const approve = async () => {
      const pending = await pendingFor(k.id);
      assert.equal(pending.length, 1, 'one approval is pending');
      await decideApproval({ store }, pending[0]!.id, 'approved', Date.now());
    };
    answers.set(path, livePost({ email_count: 1, last_seen_at: null }));
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_PENDING');
    await approve();
    answers.set(path, livePost({ email_count: 2, last_seen_at: '2026-02-01T00:00:00.000Z', email_opened_count: 1, email_open_rate: 50 }));
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${POST}/`, edit)), 'forwarded', 'counters are not the record’s version');

    answers.set(path, livePost());
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_PENDING');
    await approve();
    answers.set(path, livePost({ custom_excerpt: 'changed since' }));
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_PENDING', 'the record changed: held anew');
    // The same record with its fields in another order is the same version.
    const [only] = livePost().posts;
    answers.set(path, { posts: [Object.fromEntries(Object.entries(only!).reverse())] });
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${POST}/`, edit)), 'forwarded');
  });

  test('of an approved call whose approval another retry spent first, none is forwarded and the max-uses reservation is given back', async () => {
    const k = await key(confirmGrant, { maxUses: 1 });
    answers.set(`${PREFIX}posts/${POST}/?include=tags,authors`, livePost());
    assert.equal(refusal(await run(depsWith(), k, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_PENDING');
    await decideApproval({ store }, (await pendingFor(k.id))[0]!.id, 'approved', Date.now());
    // The other retry spends the approval between this call's gate and its own use of it.
    const racing = new Proxy(store, {
      get: (t, p) => (p === 'approvals' ? { ...t.approvals, use: () => Promise.resolve(false) } : Reflect.get(t, p)),
    });
    const lost = await run(depsWith({ store: racing }), k, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(lost), 'APPROVAL_PENDING');
    assert.match(!lost.forward ? lost.context : '', /used by another call/);
    assert.deepEqual(await store.keys.uses(k.id, Date.now()), { spent: 0, reserved: 0, unknown: 0 }, 'the use is not held');
    const won = await run(depsWith(), k, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(won), 'forwarded');
    assert.equal(typeof (won.forward && won.reservation), 'string', 'the one use is reserved for it');
  });

  test('a max-uses key is refused by a process without a lease, and reserves a use in one that has one', async () => {
    const k = await key({ version: 1, scopes: ['posts:browse'] }, { maxUses: 2 });
    const { holder: _, ...noLease } = depsWith();
    assert.equal(refusal(await run(noLease as PipelineDeps, k, 'GET', 'posts/')), 'KEY_USES_EXHAUSTED');
    const r = await run(depsWith(), k, 'GET', 'posts/');
    assert.equal(refusal(r), 'forwarded');
    assert.equal((await store.keys.uses(k.id, Date.now())).reserved, 1);
    assert.equal(r.forward && (await store.keys.markSent(r.reservation!, 'req-1')), true);
    const plain = await key({ version: 1, scopes: ['posts:browse'] });
    const p = await run(depsWith(), plain, 'GET', 'posts/');
    assert.equal(p.forward && p.reservation, undefined, 'a key without max uses reserves nothing');
  });

  test('a record a route exposes by an id of a post or a page is looked for as a post, then as a page, and checked as what it is', async () => {
    const k = await key({
      version: 1,
      scopes: ['comments:browse', 'posts:browse', 'pages:browse', 'members:browse'],
      constraints: { pages: { visibility: ['public'] } },
    });
    const asPost = `${PREFIX}posts/${POST}/?include=tags,authors`;
    const asPage = `${PREFIX}pages/${POST}/?include=tags,authors`;
    const paidPage = { pages: [{ id: POST, visibility: 'paid', status: 'published' }] };
    answers.set(asPost, null);
    answers.set(asPage, paidPage);
    const paid = await run(depsWith(), k, 'GET', `comments/post/${POST}/`);
    assert.equal(refusal(paid), 'RECORD_OUTSIDE_GRANT', 'a paid page, under a public-pages constraint');
    assert.deepEqual(asked, [asPost, asPage]);

    asked.length = 0;
    answers.set(asPost, { posts: [{ id: POST, visibility: 'paid', status: 'published' }] });
    assert.equal(refusal(await run(depsWith(), k, 'GET', `comments/post/${POST}/`)), 'forwarded', 'a post: no posts constraint');
    assert.deepEqual(asked, [asPost], 'found as a post: not looked for as a page');

    answers.set(asPost, { posts: [] });
    answers.set(asPage, null);
    assert.equal(refusal(await run(depsWith(), k, 'GET', `comments/post/${POST}/`)), 'RECORD_OUTSIDE_GRANT', 'neither');
    answers.set(asPage, new Error('read ECONNRESET'));
    const failed = await run(depsWith(), k, 'GET', `comments/post/${POST}/`);
    assert.equal(refusal(failed), 'UPSTREAM_BAD_ANSWER');
    assert.match(!failed.forward ? failed.context : '', /^checking with Ghost: read ECONNRESET/);
  });

  test('member labels are matched against every label Ghost has, read page by page up to 100 pages', async () => {
    const VIP = '64b000000000000000000001';
    const k = await key({
      version: 1,
      scopes: ['members:add', 'members:browse'],
      constraints: { members: { labels: [{ id: VIP, slug: 'vip' }] } },
    });
    const page = (n: number) => `${PREFIX}labels/?limit=100&page=${n}&fields=id%2Cname%2Cslug`;
    const add = { members: [{ email: 'a@example.com', labels: [{ name: 'vip' }] }] };
    const other = { id: '64b0000000000000000000aa', name: 'Other', slug: 'other' };
    answers.set(page(1), { labels: [other], meta: { pagination: { pages: 2 } } });
    answers.set(page(2), { labels: [{ id: VIP, name: 'VIP', slug: 'vip' }], meta: { pagination: { pages: 2 } } });
    assert.equal(refusal(await run(depsWith(), k, 'POST', 'members/', add)), 'forwarded', 'the label, on the second page');
    assert.deepEqual(asked, [page(1), page(2)]);

    asked.length = 0;
    answers.set(page(1), { labels: [other], meta: { pagination: { pages: 1 } } });
    assert.notEqual(refusal(await run(depsWith(), k, 'POST', 'members/', add)), 'forwarded', 'no such label: Ghost would create it');
    assert.deepEqual(asked, [page(1)], 'one page when Ghost says there is one');

    answers.set(page(1), { meta: {} });
    const noList = await run(depsWith(), k, 'POST', 'members/', add);
    assert.equal(refusal(noList), 'UPSTREAM_BAD_ANSWER');
    assert.match(!noList.forward ? noList.context : '', /labels without a list/);

    asked.length = 0;
    for (let n = 1; n <= 101; n++) answers.set(page(n), { labels: [other], meta: { pagination: { pages: 500 } } });
    const endless = await run(depsWith(), k, 'POST', 'members/', add);
    assert.equal(refusal(endless), 'UPSTREAM_BAD_ANSWER');
    assert.match(!endless.forward ? endless.context : '', /more than 100 pages of labels/);
    assert.equal(asked.length, 100);
  });

  test('what Ghost is sent: the query as sent when Ghost reads every option, re-encoded without the ones it does not, no "?" without one', async () => {
    const k = await key({ version: 1, scopes: ['posts:browse'] });
    const sent = async (path: string) => {
      const r = await run(depsWith(), k, 'GET', path);
      return r.forward ? r.pathAndQuery : r.code;
    };
    assert.equal(await sent('posts/?limit=5&order=title%20asc'), `${PREFIX}posts/?limit=5&order=title%20asc`);
    assert.equal(await sent('posts/?limit=5&bogus=1&order=title%20asc'), `${PREFIX}posts/?limit=5&order=title+asc`);
    assert.equal(await sent('posts/'), `${PREFIX}posts/`);
    assert.equal(await sent('posts/?'), `${PREFIX}posts/`);
  });

  test('refused before the key is read: a malformed id, an upload that is not multipart; Ghost’s public /site/ is forwarded without a credential', async () => {
    const k = await key({ version: 1, scopes: ['posts:browse', 'images:upload'] });
    const badId = await run(depsWith(), k, 'GET', 'posts/not-an-id/');
    assert.equal(refusal(badId), 'PARAM_INVALID');
    assert.equal(!badId.forward && badId.key, undefined, 'decided before authentication');
    const upload = await run(depsWith(), k, 'POST', 'images/upload/', { file: 'x' });
    assert.equal(refusal(upload), 'BODY_INVALID');
    assert.equal(!upload.forward && upload.key, undefined, 'decided before authentication');
    const site = await runPipeline(depsWith(), incoming('GET', 'site/', {}), Date.now(), '127.0.0.1');
    assert.deepEqual(site.forward && [site.key, site.upstreamAuthorization, site.pathAndQuery], [undefined, undefined, `${PREFIX}site/`]);
    assert.deepEqual(asked, []);
  });

  test('a refusal carries the decision’s help', async () => {
    const k = await key({ version: 1, scopes: ['tags:browse'] });
    const r = await run(depsWith(), k, 'GET', 'posts/');
    assert.equal(refusal(r), 'SCOPE_MISSING');
    assert.equal(!r.forward && r.help, 'Grant posts:browse (or posts:*) to this key.');
  });

  test('a tag named by the slug a sub-directory Ghost rewrites is refused; another is looked up by Ghost’s own filter', async () => {
    const k = await key({ version: 1, scopes: ['posts:add'], constraints: { posts: { tags: [{ id: TAG, slug: 'blog' }] } } });
    const add = { posts: [{ title: 'x', tags: [{ slug: 'blog' }] }] };
    const under = await run(depsWith({ reservedSlugs: ['blog'] }), k, 'POST', 'posts/', add);
    assert.equal(refusal(under), 'REFERENCE_AMBIGUOUS', 'Ghost under /blog/ would make it blog-2');
    assert.deepEqual(asked, []);
    const lookup = `${PREFIX}tags/?filter=slug%3A%27blog%27&limit=2&fields=id%2Cname%2Cslug`;
    answers.set(lookup, { tags: [{ id: TAG, name: 'Blog', slug: 'blog' }] });
    assert.equal(refusal(await run(depsWith(), k, 'POST', 'posts/', add)), 'forwarded');
    assert.deepEqual(asked, [lookup]);
  });

  test('an author named by slug is looked up among staff users by id and slug', async () => {
    const OLIVE = '64c000000000000000000001';
    const k = await key({ version: 1, scopes: ['posts:add'], constraints: { posts: { authors: [{ id: OLIVE, slug: 'olive' }] } } });
    const lookup = `${PREFIX}users/?filter=slug%3A%27olive%27&limit=2&fields=id%2Cslug`;
    answers.set(lookup, { users: [{ id: OLIVE, slug: 'olive' }] });
    const r = await run(depsWith(), k, 'POST', 'posts/', { posts: [{ title: 'x', authors: [{ slug: 'olive' }] }] });
    assert.equal(refusal(r), 'forwarded');
    assert.deepEqual(asked, [lookup]);
  });

  test('a record read by slug is read from Ghost’s by-slug route', async () => {
    const k = await key({ version: 1, scopes: ['posts:read'], constraints: { posts: { tags: [{ id: TAG, slug: 'news' }] } } });
    const path = `${PREFIX}posts/slug/hello/?include=tags,authors`;
    answers.set(path, { posts: [{ id: POST, slug: 'hello', status: 'draft', tags: [{ id: TAG, slug: 'news' }], authors: [] }] });
    assert.equal(refusal(await run(depsWith(), k, 'GET', 'posts/slug/hello/')), 'forwarded');
    assert.deepEqual(asked, [path]);
  });

  test('a tag a field rule reads is read without an include (a tag has none); a change to a denied field is refused', async () => {
    const k = await key({ version: 1, scopes: ['tags:edit'], fields: { tags: { deny: ['description'] } } });
    const path = `${PREFIX}tags/${TAG}/`;
    answers.set(path, { tags: [{ id: TAG, name: 'News', slug: 'news', description: 'old' }] });
    const kept = await run(depsWith(), k, 'PUT', `tags/${TAG}/`, { tags: [{ name: 'Breaking', description: 'old' }] });
    assert.equal(refusal(kept), 'forwarded');
    assert.deepEqual(asked, [path], 'one read, of the tag itself');
    const changed = await run(depsWith(), k, 'PUT', `tags/${TAG}/`, { tags: [{ description: 'new' }] });
    assert.equal(refusal(changed), 'FIELD_REFUSED');
  });

  test('a denial covers the call for the whole family: a child of the key whose call was denied is refused too', async () => {
    const parent = await key(confirmGrant);
    const child = await key(confirmGrant, { parentId: parent.id });
    answers.set(`${PREFIX}posts/${POST}/?include=tags,authors`, livePost());
    assert.equal(refusal(await run(depsWith(), parent, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_PENDING');
    await decideApproval({ store }, (await pendingFor(parent.id))[0]!.id, 'denied', Date.now());
    assert.equal(refusal(await run(depsWith(), child, 'PUT', `posts/${POST}/`, edit)), 'APPROVAL_DENIED');
  });

  test('a post Ghost does not have is read as a post only, and a publish of it is still held', async () => {
    const k = await key(confirmGrant);
    const path = `${PREFIX}posts/${POST}/?include=tags,authors`;
    answers.set(path, null);
    const publish = { posts: [{ status: 'published', updated_at: '2026-01-01T00:00:00.000Z' }] };
    assert.equal(refusal(await run(depsWith(), k, 'PUT', `posts/${POST}/`, publish)), 'APPROVAL_PENDING');
    assert.deepEqual(asked, [path], 'not looked for as a page: the route says posts');
  });

  test('a theme upload under keepActive: Ghost’s active theme is read, the upload read whole and forwarded as sent, under its own type', async () => {
    const B = 'XyZboundary';
    const theme = (name: string) =>
      Buffer.from(
        `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/zip\r\n\r\nPK\r\n--${B}--\r\n`,
        'latin1',
      );
    const k = await key({ version: 1, scopes: ['themes:upload'], narrow: { themes: { keepActive: true } } });
    const upload = (bytes: Buffer) => {
      const headers = {
        authorization: token(k.id),
        'content-type': `multipart/form-data; boundary=${B}`,
        'content-length': String(bytes.length),
      };
      return runPipeline(depsWith(), incoming('POST', 'themes/upload/', headers, bytes), Date.now(), '127.0.0.1');
    };
    answers.set(`${PREFIX}settings/?group=theme`, { settings: [{ key: 'active_theme', value: 'casper' }] });
    const ok = await upload(theme('mytheme.zip'));
    assert.equal(refusal(ok), 'forwarded');
    assert.deepEqual(ok.forward && [ok.body?.bytes.equals(theme('mytheme.zip')), ok.body?.type], [
      true,
      `multipart/form-data; boundary=${B}`,
    ]);
    assert.deepEqual(asked, [`${PREFIX}settings/?group=theme`]);
    assert.equal(refusal(await upload(theme('casper.zip'))), 'THEME_ACTIVE_REFUSED');
  });

  const TAG = '64a000000000000000000001';
  const newsGrant = { version: 1, scopes: ['posts:browse'], constraints: { posts: { tags: ['news'] } } };
  const newsPath = `${PREFIX}tags/slug/news/?fields=id,slug`;

  test('a constraint written as a slug is pinned to the id Ghost has for it on first use, stored, and not looked up again', async () => {
    const k = await key(newsGrant);
    answers.set(newsPath, { tags: [{ id: TAG, slug: 'news' }] });
    const first = await run(depsWith(), k, 'GET', 'posts/');
    assert.equal(refusal(first), 'forwarded');
    assert.deepEqual(asked, [newsPath]);
    assert.deepEqual((await store.keys.get(k.id))!.grant.constraints?.posts?.tags, [{ id: TAG, slug: 'news' }]);
    assert.match(first.forward ? first.pathAndQuery : '', new RegExp(`filter=.*${TAG}`), 'the filter names the pinned id');
    asked.length = 0;
    answers.clear();
    assert.equal(refusal(await run(depsWith(), (await store.keys.get(k.id))!, 'GET', 'posts/')), 'forwarded');
    assert.deepEqual(asked, [], 'pinned once');
  });

  test('a child’s slug takes its parent’s pin, not what Ghost now calls by that slug', async () => {
    const parent = await key({ ...newsGrant, constraints: { posts: { tags: [{ id: TAG, slug: 'news' }] } } });
    const child = await key(newsGrant, { parentId: parent.id });
    answers.set(newsPath, { tags: [{ id: '64a0000000000000000000ff', slug: 'news' }] });
    assert.equal(refusal(await run(depsWith(), child, 'GET', 'posts/')), 'forwarded');
    assert.deepEqual(asked, []);
    assert.deepEqual((await store.keys.get(child.id))!.grant.constraints?.posts?.tags, [{ id: TAG, slug: 'news' }]);
  });

  test('an anchor Ghost does not have is CONSTRAINT_UNENFORCEABLE; a failed read is UPSTREAM_BAD_ANSWER; neither stores a pin', async () => {
    const k = await key(newsGrant);
    answers.set(newsPath, { tags: [] });
    assert.equal(refusal(await run(depsWith(), k, 'GET', 'posts/')), 'CONSTRAINT_UNENFORCEABLE');
    answers.set(newsPath, null);
    assert.equal(refusal(await run(depsWith(), k, 'GET', 'posts/')), 'CONSTRAINT_UNENFORCEABLE');
    answers.set(newsPath, new Error('socket hang up'));
    const failed = await run(depsWith(), k, 'GET', 'posts/');
    assert.equal(refusal(failed), 'UPSTREAM_BAD_ANSWER');
    assert.match(!failed.forward ? failed.context : '', /socket hang up/);
    assert.deepEqual((await store.keys.get(k.id))!.grant.constraints?.posts?.tags, ['news']);
  });

  test('a write holds its record’s lock until Ghost answers: another write to the record, by any key, is refused before it reads anything', async () => {
    const reader = await key({ version: 1, scopes: ['posts:*'], confirm: ['posts:publish'] });
    const plain = await key({ version: 1, scopes: ['posts:*'] });
    const deps = depsWith();
    // A write whose decision reads no record takes the lock too, so that no decision reading it overlaps the write.
    const first = await held(deps, plain, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(first), 'forwarded');
    assert.equal(typeof (first.forward && first.lock), 'string', 'the forwarded write holds the lock');
    assert.deepEqual(asked, [], 'no record read for it');
    answers.set(`${PREFIX}posts/${POST}/?include=tags,authors`, livePost());
    const busy = await held(deps, reader, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(busy), 'RECORD_BUSY');
    assert.equal(!busy.forward && busy.retryAfterS, 1);
    assert.equal(!busy.forward && busy.key?.id, reader.id, 'the refusal names the key');
    assert.deepEqual(asked, [], 'refused before the record is read: the decision never reads a record another write may change');
    assert.equal(refusal(await held(deps, plain, 'DELETE', `posts/${POST}/`)), 'RECORD_BUSY', 'a plain write waits too');
    assert.equal(refusal(await run(deps, plain, 'GET', `posts/${POST}/`)), 'forwarded', 'a read takes no lock');
    assert.equal(refusal(await run(deps, plain, 'PUT', `posts/${'0'.repeat(24)}/`, edit)), 'forwarded', 'another record is another lock');
    await store.recordLocks.release(first.forward ? first.lock! : '', true, Date.now());
    const after = await run(deps, reader, 'PUT', `posts/${POST}/`, edit);
    assert.equal(refusal(after), 'APPROVAL_PENDING', 'once Ghost has answered, the record is read and decided on');
    assert.deepEqual(asked, [`${PREFIX}posts/${POST}/?include=tags,authors`]);
    assert.equal(refusal(await held(deps, plain, 'PUT', `posts/${POST}/`, edit)), 'forwarded', 'a refusal gave its lock back');
  });

  test('a write to a record is refused by a process without a lease; one another process holds past its life is taken over', async () => {
    const k = await key({ version: 1, scopes: ['tags:*'] });
    const { holder: _, ...noLease } = depsWith();
    const path = `tags/${'1'.repeat(24)}/`;
    const r = await run(noLease as PipelineDeps, k, 'PUT', path, { tags: [{ name: 'x' }] });
    assert.equal(refusal(r), 'STORE_UNAVAILABLE');
    const other = await store.holders.register({ pid: 2, host: 'other', startedAt: Date.now() }, Date.now() + 600_000);
    assert.ok(await store.recordLocks.take('1'.repeat(24), other, Date.now(), Date.now() + 60_000), 'another process writes the tag');
    assert.equal(refusal(await run(depsWith(), k, 'PUT', path, { tags: [{ name: 'x' }] })), 'RECORD_BUSY');
    await store.holders.release(other);
    assert.equal(refusal(await run(depsWith(), k, 'PUT', path, { tags: [{ name: 'x' }] })), 'forwarded', 'a dead process holds nothing');
  });

  test('a key the decision refuses holds no lock, also while the gateway reads the record for it', async () => {
    const drafts = await key({ version: 1, scopes: ['posts:*'], constraints: { posts: { status: ['draft'] } } });
    const id = 'd'.repeat(24);
    const before = await store.recordLocks.state(id, Date.now());
    let heldDuringRead: boolean | undefined;
    const deps = depsWith({
      records: {
        fetchRecord: async (path, authorization) => {
          heldDuringRead = (await store.recordLocks.state(id, Date.now())).held;
          return records.fetchRecord(path, authorization);
        },
      },
    });
    answers.set(`${PREFIX}posts/${id}/?include=tags,authors`, livePost({ id }));
    const r = await held(deps, drafts, 'PUT', `posts/${id}/`, edit);
    assert.equal(refusal(r), 'RECORD_OUTSIDE_GRANT');
    assert.equal(heldDuringRead, false, 'nothing held while its decision read the post');
    assert.deepEqual(await store.recordLocks.state(id, Date.now()), before, 'and nothing taken');
  });

  test('a write whose record another write changed after the gateway read it is refused, and decided afresh when retried', async () => {
    const k = await key(confirmGrant);
    const id = 'e'.repeat(24);
    const other = await store.holders.register({ pid: 3, host: 'other', startedAt: Date.now() }, Date.now() + 600_000);
    let racing = true;
    const deps = depsWith({
      records: {
        fetchRecord: async (path, authorization) => {
          const answer = await records.fetchRecord(path, authorization);
          // Another process's write takes the post and is answered while this call's decision reads it.
          if (racing)
            await store.recordLocks.release((await store.recordLocks.take(id, other, Date.now(), Date.now() + 60_000))!, true, Date.now());
          return answer;
        },
      },
    });
    const draftEdit = { posts: [{ title: 'A draft edit', updated_at: '2026-01-01T00:00:00.000Z' }] };
    answers.set(`${PREFIX}posts/${id}/?include=tags,authors`, livePost({ id, status: 'draft' }));
    const late = await held(deps, k, 'PUT', `posts/${id}/`, draftEdit);
    assert.equal(refusal(late), 'RECORD_BUSY');
    assert.match(!late.forward ? late.context : '', /changed .* after this one read it/);
    assert.equal((await store.recordLocks.state(id, Date.now())).held, false, 'the refused call holds nothing');
    racing = false;
    assert.equal(refusal(await run(deps, k, 'PUT', `posts/${id}/`, draftEdit)), 'forwarded', 'read again, nothing changed since');
  });

  test('a lock lasts its life from when it is taken, not from when the request began: a slow body holds none while it arrives', async () => {
    const k = await key({ version: 1, scopes: ['posts:*'], fields: { posts: { deny: ['authors'] } } });
    const id = 'f'.repeat(24);
    answers.set(`${PREFIX}posts/${id}/?include=tags,authors`, livePost({ id, status: 'draft' }));
    const bytes = Buffer.from(JSON.stringify(edit));
    const body = new Readable({ read() {} });
    const req = Object.assign(body, {
      method: 'PUT',
      url: `${PREFIX}posts/${id}/`,
      headers: { host: 'gw.local', authorization: token(k.id), 'content-type': 'application/json', 'content-length': String(bytes.length) },
    }) as unknown as IncomingMessage;
    const deciding = runPipeline(depsWith({ recordLockMs: 1000 }), req, Date.now(), '127.0.0.1');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await store.recordLocks.state(id, Date.now())).held, false, 'no lock while the body arrives');
    await new Promise((r) => setTimeout(r, 600)); // past the lock's life, counted from the request's start
    body.push(bytes);
    body.push(null);
    const r = await deciding;
    assert.equal(refusal(r), 'forwarded');
    assert.equal((await store.recordLocks.state(id, Date.now())).held, true, 'held for its whole life after the body came');
    await store.recordLocks.release(r.forward ? r.lock! : '', true, Date.now());
  });

  test('a call held for approval, out of uses, or refused after its take leaves the record’s lock count as it was', async () => {
    const id = '9'.repeat(24);
    const path = `${PREFIX}posts/${id}/?include=tags,authors`;
    const count = async () => store.recordLocks.state(id, Date.now());
    const before = await count();
    answers.set(path, livePost({ id }));
    const editor = await key(confirmGrant);
    assert.equal(refusal(await held(depsWith(), editor, 'PUT', `posts/${id}/`, edit)), 'APPROVAL_PENDING');
    assert.deepEqual(await count(), before, 'held for approval: no take');
    const spent = await key({ version: 1, scopes: ['posts:*'] }, { maxUses: 1 });
    const use = await held(depsWith(), spent, 'PUT', `posts/${id}/`, edit);
    assert.equal(refusal(use), 'forwarded');
    await store.keys.settleUse(use.forward ? use.reservation! : '', 'succeeded', Date.now());
    await store.recordLocks.release(use.forward ? use.lock! : '', true, Date.now());
    const after = await count();
    assert.deepEqual(after, { taken: before.taken + 1, held: false }, 'a forwarded write counts');
    assert.equal(refusal(await held(depsWith(), spent, 'PUT', `posts/${id}/`, edit)), 'KEY_USES_EXHAUSTED');
    assert.deepEqual(await count(), after, 'out of uses: no take');
    // Approved, then the approval spent by another retry between the gate and its use: refused after the take.
    await decideApproval({ store }, (await pendingFor(editor.id))[0]!.id, 'approved', Date.now());
    const racing = new Proxy(store, {
      get: (t, p) => (p === 'approvals' ? { ...t.approvals, use: () => Promise.resolve(false) } : Reflect.get(t, p)),
    });
    const lost = await held(depsWith({ store: racing }), editor, 'PUT', `posts/${id}/`, edit);
    assert.equal(refusal(lost), 'APPROVAL_PENDING');
    assert.deepEqual(await count(), after, 'refused after its take: the take given back');
  });
});

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ipaddr from 'ipaddr.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../../src/catalog/permissions.js';
import { compileGrant } from '../../src/grants/grant.js';
import { authorize } from '../../src/pipeline/authorize/authorize.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';
import { isPrivateIp } from '../../src/webhooks/ssrf.js';
import { lab } from './lab-helper.js';

/**
 * The gateway's webhook rules against Ghost's own code, loaded from the lab's
 * install: the event list, the body schema, the private-address rule, and
 * what Ghost's HTTP client does with a failing webhook POST.
 */
let ghostDir: string;
let requireGhost: NodeJS.Require;
before(async () => {
  ghostDir = (await lab()).ghostDir;
  requireGhost = createRequire(join(ghostDir, 'core', 'server', 'services', 'webhooks', 'listen.js'));
});

test('the event list is Ghost’s (services/webhooks/listen.js registers a listener for each)', () => {
  const registerListeners = requireGhost('./listen.js') as (d: unknown) => void;
  const events: string[] = [];
  registerListeners({ events: { hasRegisteredListener: () => false, on: (e: string) => events.push(e) }, trigger: {} });
  assert.deepEqual([...events].sort(), [...WEBHOOK_EVENTS].sort());
});

test('every webhook body the gateway forwards passes Ghost’s own schema, and every one Ghost refuses the gateway refuses', async () => {
  const schema = (await import(
    pathToFileURL(join(ghostDir, 'node_modules', '@tryghost', 'admin-api-schema', 'build', 'index.js')).href
  )) as { validate: (o: { data: unknown; schema: string }) => Promise<void> };
  const ghostAccepts = async (data: unknown, which: 'webhooks-add' | 'webhooks-edit') =>
    schema.validate({ data: structuredClone(data), schema: which }).then(
      () => true,
      () => false,
    );
  const catalog = loadCatalog();
  const permissions = loadPermissions();
  const integration = { kind: 'integration' as const, role: INTEGRATION_ROLE };
  const ok = 'https://hooks.example.com/x';
  const items: Record<string, unknown>[] = [
    { event: 'post.added', target_url: ok },
    { event: 'post.added', target_url: ok, secret: 's', name: 'n', api_version: 'v6', integration_id: 'i'.repeat(24) },
    { event: 'post.added', target_url: ok, secret: null, name: null, api_version: null, integration_id: null },
    { event: 'post.added', target_url: ok, extra: 'dropped by Ghost' },
    { event: 'post.added', target_url: ok, secret: 7 },
    { event: 'post.added', target_url: ok, name: 'n'.repeat(191) },
    { event: 'post.added', target_url: ok, name: 'n'.repeat(192) },
    { event: 'post.added', target_url: ok, name: '😀'.repeat(191) },
    { event: 'post.added', target_url: ok, secret: 's'.repeat(192) },
    { event: 'post.added', target_url: ok, api_version: 'v'.repeat(51) },
    { event: 'post.added', target_url: ok, integration_id: 'i'.repeat(25) },
    { event: 'post.added' },
    { target_url: ok },
    { event: 'Post.Added', target_url: ok },
    { event: 'post.added', target_url: 5 },
    { event: 'post.added', target_url: null },
    { event: null, target_url: ok },
    { event: 'post.added', target_url: ok, name: 5 },
  ];
  const bodies: unknown[] = [
    ...items.map((i) => ({ webhooks: [i] })),
    { webhooks: [] },
    { webhooks: [items[0], items[0]] },
    { webhooks: items[0] },
    {},
    { webhook: [items[0]] },
  ];
  for (const [method, path, which] of [
    ['POST', '/webhooks', 'webhooks-add'],
    ['PUT', '/webhooks/:id', 'webhooks-edit'],
  ] as const) {
    const route = catalog.routes.find((r) => r.method === method && r.path === path)!;
    for (const body of bodies) {
      const d = authorize({
        grant: compileGrant({ version: 1, scopes: ['*'] }),
        route,
        upstream: upstreamReach(route, integration, permissions),
        request: {
          query: new Map(),
          params: { id: 'w1' },
          body,
          ownedIds: new Set(['w1']),
          webhook: { event: 'post.added', createdByKey: true },
        },
      });
      const ghost = await ghostAccepts(body, which);
      const name = `${method} ${JSON.stringify(body)}`;
      if (!ghost) assert.equal(d.allow, false, `Ghost refuses, so must the gateway: ${name}`);
      if (d.allow === true) {
        const w = d.effects.webhook!;
        // The body the relay forwards (webhooks/service.ts): the read fields, the relay's target and secret.
        const forwarded = {
          webhooks: [
            {
              ...(w.event ? { event: w.event } : {}),
              target_url: 'http://127.0.0.1:8787/ghostgate/webhooks/relay/' + '0'.repeat(32),
              secret: 'f'.repeat(64),
              ...w.rest,
            },
          ],
        };
        assert.equal(await ghostAccepts(forwarded, which), true, `Ghost accepts what the gateway forwards for ${name}`);
        // What Ghost would have read from the client's body, but for the relay's target and secret.
        const read = structuredClone(body) as { webhooks: Record<string, unknown>[] };
        await schema.validate({ data: read, schema: which });
        const { target_url: _t, secret: _s, ...ghostRead } = read.webhooks[0]!;
        const { target_url: _t2, secret: _s2, ...sent } = forwarded.webhooks[0]!;
        assert.deepEqual(sent, ghostRead, `the same fields as Ghost reads them: ${name}`);
      }
    }
  }
});

test('the private-address rule is Ghost’s (lib/request-external.js isPrivateIp, with its ipaddr.js)', () => {
  // request-external.js also loads Ghost's config and HTTP client; its address functions are taken from its source as they are.
  const src = readFileSync(join(ghostDir, 'core', 'server', 'lib', 'request-external.js'), 'utf8');
  const from = src.indexOf('function normalizeIPv4');
  const to = src.indexOf('async function errorIfHostnameResolvesToPrivateIp');
  assert.ok(from > 0 && to > from, 'the functions are where they were');
  const net = requireGhost('net');
  const ghostIpaddr = requireGhost('ipaddr.js') as typeof ipaddr;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs Ghost's own isPrivateIp, cut from the lab's install
  const ghostIsPrivate = new Function('ipaddr', 'net', `${src.slice(from, to)}\nreturn isPrivateIp;`)(ghostIpaddr, net) as (
    a: string,
  ) => boolean;
  const addresses = [
    '127.0.0.1',
    '127.1',
    '0x7f.1',
    '2130706433',
    '017700000001',
    '10.0.0.1',
    '172.16.5.4',
    '172.32.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.9',
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:8.8.8.8',
    '::7f00:1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    '2001:db8::1',
    '2606:4700:4700::1111',
    '64:ff9b::808:808',
    '64:ff9b::a00:1',
    '64:ff9b:1::1',
    '2002:7f00:1::',
    '2002:808:808::',
    '::ffff:0:7f00:1',
    'ff02::1',
    '',
    'not-an-ip',
    '1.2.3',
    '8.8.8.8.8',
    '[::1]',
  ];
  for (const a of addresses) assert.equal(isPrivateIp(a), ghostIsPrivate(a), a);
  assert.equal((ghostIpaddr as unknown as { IPv4: { prototype: object } }).IPv4 !== undefined, true);
  assert.equal(
    JSON.parse(readFileSync(join(ghostDir, 'node_modules', 'ipaddr.js', 'package.json'), 'utf8')).version,
    JSON.parse(readFileSync(new URL('../../node_modules/ipaddr.js/package.json', import.meta.url), 'utf8')).version,
    'the same ipaddr.js version',
  );
});

test('Ghost’s own HTTP client makes one attempt at a failing webhook POST (got retries only idempotent methods), so 5 retries are more', async () => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((r) =>
    server.listen(0, '127.0.0.1', () => {
      r();
    }),
  );
  try {
    const got = (
      (await import(pathToFileURL(join(ghostDir, 'node_modules', 'got', 'dist', 'source', 'index.js')).href)) as {
        default: (url: string, o: unknown) => Promise<unknown>;
      }
    ).default;
    // The options webhook-trigger.js passes (timeout 2 s, retry limit 5), through got as @tryghost/request calls it.
    await got(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      timeout: { request: 2000 },
      retry: { limit: 5 },
    }).catch(() => {});
    assert.equal(hits, 1);
  } finally {
    server.close();
  }
});

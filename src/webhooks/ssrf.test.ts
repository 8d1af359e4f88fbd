import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { checkTarget, parseTarget, pinnedLookup, type Resolver } from './ssrf.js';

// (Ghost's own isPrivateIp is compared address by address in test/e2e/webhooks-ghost-code.test.ts.)
const resolver =
  (answers: Record<string, string[]>): Resolver =>
  async (host) => {
    const a = answers[host];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return a.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

test('a target is an absolute http(s) URL without spaces or control characters', () => {
  const table: [string, boolean][] = [
    ['https://hooks.zapier.com/hooks/catch/1/abc/', true],
    ['http://example.com', true],
    ['ftp://example.com/x', false],
    ['/relative/path', false],
    ['//example.com/x', false],
    ['https://example.com/a b', false],
    ['https://example.com/\tx', false],
    ['https://exa\nmple.com/', false],
    ['javascript:alert(1)', false],
    ['https://', false],
  ];
  for (const [raw, ok] of table) assert.equal(parseTarget(raw).ok, ok, raw);
});

test('a target is refused when any address its host resolves to is private, unless allowed', async () => {
  const resolve = resolver({
    'public.example': ['93.184.216.34'],
    'mixed.example': ['93.184.216.34', '10.0.0.5'],
    'inside.example': ['fd00::1'],
  });
  const check = (u: string, allow = false) => checkTarget(new URL(u), allow, resolve).then((r) => r.ok);
  assert.equal(await check('https://public.example/x'), true);
  assert.equal(await check('https://mixed.example/x'), false);
  assert.equal(await check('https://inside.example/x'), false);
  assert.equal(await check('https://inside.example/x', true), true);
  assert.equal(await check('http://127.0.0.1:8080/x'), false);
  assert.equal(await check('http://[::1]/x'), false);
  assert.equal(await check('http://0x7f.1/x'), false, 'WHATWG reads 0x7f.1 as 127.0.0.1');
  assert.equal(await check('https://unknown.example/x'), false, 'a name that does not resolve');
});

test('the connection’s own lookup checks the address it hands the socket: a name that rebinds to a private address is refused', async () => {
  let calls = 0;
  // Public when checked at creation, private when the connection is made.
  const rebinding: Resolver = async () =>
    calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
  assert.equal((await checkTarget(new URL('https://rebind.example/'), false, rebinding)).ok, true);
  const lookup = pinnedLookup(false, rebinding);
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    lookup('rebind.example', {}, (e) => {
      resolve(e);
    });
  });
  assert.equal(err?.code, 'TARGET_PRIVATE');
  const ok = await new Promise<string>((resolve) => {
    pinnedLookup(false, resolver({ 'a.example': ['93.184.216.34'] }))('a.example', {}, (_e, address) => {
      resolve(String(address));
    });
  });
  assert.equal(ok, '93.184.216.34');
});

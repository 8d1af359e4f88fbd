import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { signatureHeader, verifySignature } from './signature.js';

// Deliveries Ghost 6.65.0 really sent (secret "sekrit"), captured in the lab.
const captured = JSON.parse(readFileSync(new URL('./testdata/ghost-6.65-deliveries.json', import.meta.url), 'utf8')).deliveries as Record<
  string,
  { headers: Record<string, string>; body: unknown }
>;
const WINDOW = 300_000;
const tOf = (h: string) => Number(/t=(\d+)$/.exec(h)![1]);

test('Ghost’s own signatures verify, over the body as sent (JSON.stringify of what was parsed is the same string)', () => {
  for (const [name, d] of Object.entries(captured)) {
    const header = d.headers['x-ghost-signature']!;
    const body = Buffer.from(JSON.stringify(d.body));
    assert.equal(String(body.length), d.headers['content-length'], `${name}: byte for byte`);
    const v = verifySignature(header, body, 'sekrit', tOf(header) + 1000, WINDOW);
    assert.equal(v.ok, true, name);
    // And the gateway signs exactly as Ghost did.
    assert.equal(signatureHeader('sekrit', body.toString('utf8'), tOf(header)), header, name);
  }
});

test('refuses a forged, a wrongly keyed, a malformed, a missing and a stale signature, each with its code', () => {
  const d = captured['post.published']!;
  const header = d.headers['x-ghost-signature']!;
  const t = tOf(header);
  const body = Buffer.from(JSON.stringify(d.body));
  const tampered = Buffer.from(JSON.stringify({ ...(d.body as object), event: 'post.deleted' }));
  const table: [string, string | string[] | undefined, Buffer, string, number, string][] = [
    ['a changed body', header, tampered, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['another webhook’s secret', header, body, 'other-webhook-secret', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['a signature made up', `sha256=${'0'.repeat(64)}, t=${t}`, body, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['a changed time', header.replace(/t=\d+$/, `t=${t + 1}`), body, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['no header', undefined, body, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['two headers', [header, header], body, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    [
      'upper-case hex',
      header.replace(/sha256=([0-9a-f]+)/, (_, h: string) => `sha256=${h.toUpperCase()}`),
      body,
      'sekrit',
      t,
      'WEBHOOK_SIGNATURE_INVALID',
    ],
    ['no space after the comma', header.replace(', ', ','), body, 'sekrit', t, 'WEBHOOK_SIGNATURE_INVALID'],
    ['replayed after the window', header, body, 'sekrit', t + WINDOW + 1, 'WEBHOOK_SIGNATURE_STALE'],
    ['signed too far ahead', header, body, 'sekrit', t - WINDOW - 1, 'WEBHOOK_SIGNATURE_STALE'],
  ];
  for (const [name, h, b, secret, now, code] of table) {
    const v = verifySignature(h, b, secret, now, WINDOW);
    assert.equal(v.ok ? 'ok' : v.code, code, name);
  }
  assert.equal(verifySignature(header, body, 'sekrit', t + WINDOW, WINDOW).ok, true, 'the window’s edge is inside');
});

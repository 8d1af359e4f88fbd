import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import type { ApprovalRecord, ApprovalStore, KeyRecord, Store } from '../store/store.js';
import { APPROVAL_TTL_MS, MAX_PENDING_APPROVALS, approvalGate, fingerprint, heldCall, subject, type ConfirmedCall } from './approval.js';

const catalog = loadCatalog();
const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';
const edit = route('PUT', '/posts/:id');
const call = (c: Partial<ConfirmedCall> = {}): ConfirmedCall => ({
  key: { id: 'k1', name: 'writer' } as KeyRecord,
  item: 'posts:publish',
  route: edit,
  pathAndQuery: `/ghost/api/admin/posts/${ID}/`,
  params: { id: ID },
  body: Buffer.from('{"posts":[{"status":"published"}]}'),
  family: 'k0',
  ...c,
});

/** A Store whose only member is approvals.open, answering `answer` and keeping what it was asked. */
function fakeStore(answer: Partial<ApprovalRecord> | undefined) {
  const asked: Parameters<ApprovalStore['open']>[0][] = [];
  const approvals = new Proxy({} as ApprovalStore, {
    get: (_t, name) => {
      if (name !== 'open') throw new Error(`approvalGate called approvals.${String(name)}`);
      return async (a: Parameters<ApprovalStore['open']>[0]) => {
        asked.push(a);
        return answer === undefined ? undefined : { id: a.id, expiresAt: a.expiresAt, ...answer };
      };
    },
  });
  const store = new Proxy({} as Store, {
    get: (_t, name) => {
      if (name !== 'approvals') throw new Error(`approvalGate called store.${String(name)}`);
      return approvals;
    },
  });
  return { store, asked };
}

test('the fingerprint is the exact call: method, path and query, body bytes, and the record version when there is one', () => {
  const base = fingerprint(call());
  assert.equal(fingerprint(call()), base);
  assert.notEqual(fingerprint(call({ route: route('DELETE', '/posts/:id') })), base);
  assert.notEqual(fingerprint(call({ pathAndQuery: `/ghost/api/admin/posts/${ID}/?x=1` })), base);
  assert.notEqual(fingerprint(call({ body: Buffer.from('{"posts":[{"status":"draft"}]}') })), base);
  assert.notEqual(fingerprint(call({ body: null })), base);
  assert.notEqual(fingerprint(call({ recordVersion: 'v1' })), base);
  assert.notEqual(fingerprint(call({ recordVersion: 'v1' })), fingerprint(call({ recordVersion: 'v2' })));
  assert.notEqual(fingerprint(call({ recordVersion: null })), base, 'a record Ghost did not have is a version too');
});

test('the subject is the family, item, route and record, whatever the body or the order of the parameters', () => {
  const two = { id: ID, type: 'x' };
  const base = subject(call({ params: two }));
  assert.equal(subject(call({ params: { type: 'x', id: ID } })), base);
  assert.equal(subject(call({ params: two, body: null, pathAndQuery: '/other' })), base);
  assert.notEqual(subject(call({ params: { id: 'x', type: ID } })), base);
  assert.notEqual(subject(call({ params: two, family: 'k9' })), base);
  assert.notEqual(subject(call({ params: two, item: 'posts:edit' })), base);
  assert.notEqual(subject(call({ params: two, route: route('DELETE', '/posts/:id') })), base);
  assert.notEqual(subject(call({ params: two, route: route('PUT', '/pages/:id') })), base);
});

test('the held call shows the body as text when it is UTF-8, else as base64, and the record version when known', () => {
  assert.deepEqual(heldCall(call({ body: null })), { method: 'PUT', pathAndQuery: call().pathAndQuery, body: null, bodyEncoding: 'utf8' });
  assert.deepEqual(heldCall(call({ recordVersion: null })), {
    method: 'PUT',
    pathAndQuery: call().pathAndQuery,
    recordVersion: null,
    body: '{"posts":[{"status":"published"}]}',
    bodyEncoding: 'utf8',
  });
  const bytes = Buffer.from([0xff, 0xfe, 0x00]);
  assert.deepEqual(heldCall(call({ body: bytes })), {
    method: 'PUT',
    pathAndQuery: call().pathAndQuery,
    body: bytes.toString('base64'),
    bodyEncoding: 'base64',
  });
});

test('the gate opens the call for the family with its fingerprint, subject, a day to live and the pending cap', async () => {
  const { store, asked } = fakeStore({ status: 'pending' });
  const c = call({ recordVersion: 'v1' });
  const d = await approvalGate(store, c, 1_000_000);
  assert.equal(asked.length, 1);
  const a = asked[0]!;
  assert.equal(a.keyId, 'k1');
  assert.equal(a.family, 'k0');
  assert.equal(a.fingerprint, fingerprint(c));
  assert.equal(a.subject, subject(c));
  assert.deepEqual(a.call, heldCall(c));
  assert.equal(a.now, 1_000_000);
  assert.equal(a.expiresAt, 1_000_000 + APPROVAL_TTL_MS);
  assert.equal(a.deniedSince, 1_000_000 - APPROVAL_TTL_MS);
  assert.equal(a.maxPending, MAX_PENDING_APPROVALS);
  assert.equal(APPROVAL_TTL_MS, 24 * 3600_000);
  assert.equal(MAX_PENDING_APPROVALS, 10);
  await approvalGate(store, c, 1_000_000);
  assert.notEqual(asked[1]!.id, a.id, 'each opening proposes a new id');
  assert.equal(d.ok, false);
  if (!d.ok) assert.equal(d.code, 'APPROVAL_PENDING');
});

test('the gate passes an approved call only; a denied one, a pending one and one over the cap are refused by code', async () => {
  const approved = await approvalGate(fakeStore({ status: 'approved' }).store, call(), 0);
  assert.ok(approved.ok, 'approved.ok');
  if (approved.ok) assert.match(approved.approval, /^[0-9a-f-]{36}$/);
  for (const [answer, code] of [
    [{ status: 'denied' }, 'APPROVAL_DENIED'],
    [{ status: 'pending' }, 'APPROVAL_PENDING'],
    [undefined, 'APPROVAL_LIMIT'],
  ] as const) {
    const d = await approvalGate(fakeStore(answer).store, call(), 0);
    assert.equal(d.ok, false);
    if (!d.ok) assert.equal(d.code, code);
  }
});

test('the summary never carries a raw control character of the title, and is at most 300 characters', async () => {
  const { store, asked } = fakeStore({ status: 'pending' });
  await approvalGate(store, call({ title: '\u001b]0;x\u0007 launch' }), 0);
  assert.ok(![...asked[0]!.summary].some((ch) => ch.charCodeAt(0) < 0x20), asked[0]!.summary);
  await approvalGate(store, call({ title: 'x'.repeat(500), item: 'y'.repeat(400) }), 0);
  assert.equal(asked[1]!.summary.length, 300);
});

test('the summary the person deciding reads names the route, the record, the title (JSON-quoted, its first 80 characters), the item and the key', async () => {
  const { store, asked } = fakeStore({ status: 'pending' });
  await approvalGate(store, call({ title: 'Launch "day"' }), 0);
  assert.equal(asked[0]!.summary, `PUT /posts/:id id=${ID} title "Launch \\"day\\"" (posts:publish) by key writer`);
  await approvalGate(store, call({ params: { id: ID, type: 'x' } }), 0);
  assert.equal(asked[1]!.summary, `PUT /posts/:id id=${ID} type=x (posts:publish) by key writer`);
  await approvalGate(store, call({ title: 'x'.repeat(100) }), 0);
  assert.equal(asked[2]!.summary, `PUT /posts/:id id=${ID} title "${'x'.repeat(80)}" (posts:publish) by key writer`);
});

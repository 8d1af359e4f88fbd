import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMemberWrite } from './members.js';
import type { Constraint } from './constraints.js';

const only = (...status: ('free' | 'paid' | 'comped')[]): Constraint => ({ kind: 'member', c: { status } });
/** OK, or the field that would move the member to a status the key may not touch. */
function verdict(c: Constraint | undefined, body: Record<string, unknown>, current?: Record<string, unknown>): string {
  const v = checkMemberWrite(c, body, current);
  if (v.ok) return 'OK';
  assert.equal(v.code, 'BODY_OUTSIDE_GRANT');
  return v.field ?? '';
}
const MEMBER = { id: 'm1', status: 'free' };

test('each field that changes a member status is refused when it leads to a status outside the key', () => {
  const table: [Constraint, Record<string, unknown>, Record<string, unknown> | undefined, string][] = [
    // Tiers or products make a member comped; an empty list on an existing member makes it free again.
    [only('free'), { tiers: [{ id: 't' }] }, undefined, 'tiers'],
    [only('free'), { products: [{ id: 't' }] }, undefined, 'tiers'],
    [only('comped'), { tiers: [{ id: 't' }] }, undefined, 'OK'],
    [only('comped'), { tiers: [] }, MEMBER, 'tiers'],
    [only('free'), { tiers: [] }, MEMBER, 'OK'],
    [only('comped'), { tiers: [] }, undefined, 'OK'], // a new member without tiers is free only if nothing else says so
    [only('free'), { tiers: 'gold' }, MEMBER, 'OK'], // not a list: Ghost's schema refuses it
    // comped: true makes it comped; comped: false on an existing member makes it free.
    [only('free'), { comped: true }, undefined, 'comped'],
    [only('comped'), { comped: true }, undefined, 'OK'],
    [only('comped'), { comped: false }, MEMBER, 'comped'],
    [only('comped'), { comped: false }, undefined, 'OK'],
    [only('free'), { comped: false }, MEMBER, 'OK'],
    [only('free'), { comped: 'yes' }, MEMBER, 'OK'],
    // A Stripe customer or subscriptions make it paid.
    [only('free'), { stripe_customer_id: 'cus_1' }, MEMBER, 'stripe_customer_id'],
    [only('free', 'comped'), { subscriptions: [] }, MEMBER, 'subscriptions'],
    [only('paid'), { stripe_customer_id: 'cus_1', subscriptions: [] }, MEMBER, 'OK'],
    [only('free'), { name: 'x', email: 'a@b.c', labels: [] }, MEMBER, 'OK'],
  ];
  for (const [c, body, current, expected] of table) {
    assert.equal(verdict(c, body, current), expected, `${JSON.stringify(c.c)} ${JSON.stringify(body)} ${current ? 'edit' : 'add'}`);
  }
});

test('only a member constraint with statuses limits these fields', () => {
  const body = { comped: true, stripe_customer_id: 'cus_1', tiers: [{ id: 't' }] };
  assert.equal(verdict(undefined, body), 'OK');
  assert.equal(verdict({ kind: 'member', c: { labels: ['a00000000000000000000001'] } }, body), 'OK');
  // A post constraint has statuses of its own (draft, published...): they say nothing about members.
  assert.equal(verdict({ kind: 'post', c: { status: ['published'] } }, body), 'OK');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestEvents, type RequestEvent } from './events.js';
import { testEntry } from './audit/entry.test.support.js';

const event = (requestId: string): RequestEvent => testEntry(1, { requestId, resource: 'posts', action: 'browse', bytesOut: 2 });

test('every listener hears every event in order; one that throws stops none of the others; unsubscribed hears nothing', () => {
  const errors: string[] = [];
  const events = new RequestEvents((e) => errors.push(e.message));
  const a: string[] = [];
  const b: string[] = [];
  events.subscribe(() => {
    throw new Error('broken listener');
  });
  const stopA = events.subscribe((e) => a.push(e.requestId));
  events.subscribe((e) => b.push(e.requestId));
  events.emit(event('r1'));
  stopA();
  events.emit(event('r2'));
  assert.deepEqual(a, ['r1']);
  assert.deepEqual(b, ['r1', 'r2']);
  assert.deepEqual(errors, ['broken listener', 'broken listener']);
});

test('unsubscribing the first listener stops it alone, and unsubscribing twice removes no other listener', () => {
  const events = new RequestEvents();
  const heard: string[] = [];
  const stopFirst = events.subscribe((e) => heard.push(`first ${e.requestId}`));
  events.subscribe((e) => heard.push(`second ${e.requestId}`));
  const stopThird = events.subscribe((e) => heard.push(`third ${e.requestId}`));
  stopFirst();
  stopFirst();
  events.emit(event('r1'));
  stopThird();
  events.emit(event('r2'));
  assert.deepEqual(heard, ['second r1', 'third r1', 'second r2']);
});

test('a listener that throws is not fatal without an error handler', () => {
  const events = new RequestEvents();
  const heard: string[] = [];
  events.subscribe(() => {
    throw new Error('broken listener');
  });
  events.subscribe((e) => heard.push(e.requestId));
  events.emit(event('r1'));
  assert.deepEqual(heard, ['r1']);
});

import t from 'tap';
import { TypedEmitter } from '../lib/events.js';

interface Ev extends Record<string, unknown> {
  a: number;
  b: string;
}

t.test('typed handlers, unsubscribe, and a throwing handler does not stop others', async (t) => {
  const e = new TypedEmitter<Ev>();
  const got: unknown[] = [];
  const off = e.on('a', (n) => got.push(n));
  e.on('a', () => {
    throw new Error('boom');
  });
  e.onAny((type, p) => got.push(`${String(type)}:${String(p)}`));
  e.emit('a', 1);
  off();
  e.emit('a', 2);
  e.emit('b', 'x');
  t.same(got, [1, 'a:1', 'a:2', 'b:x']);
});

t.test('events() is an async iterable with a bounded buffer', async (t) => {
  const e = new TypedEmitter<Ev>();
  const it = e.events(2);
  e.emit('a', 1);
  e.emit('a', 2);
  e.emit('b', 'three');
  t.equal(it.dropped, 1, 'oldest dropped past the buffer');
  const seen: unknown[] = [];
  for await (const ev of it) {
    seen.push(ev.payload);
    if (seen.length === 2) break;
  }
  t.same(seen, [2, 'three']);
});

t.test('hasListeners reflects subscriptions', async (t) => {
  const e = new TypedEmitter<Ev>();
  t.notOk(e.hasListeners('a'));
  const off = e.on('a', () => {});
  t.ok(e.hasListeners('a'));
  t.notOk(e.hasListeners('b'));
  off();
  t.notOk(e.hasListeners('a'));
  e.onAny(() => {});
  t.ok(e.hasListeners('b'), 'a catch-all listener counts');
});

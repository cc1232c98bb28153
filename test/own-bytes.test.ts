import t from 'tap';
import { ownBytes, ownPayload } from '../lib/own-bytes.js';

const owns = (b: unknown): boolean => b instanceof Uint8Array && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;

t.test('ownBytes copies a view of a larger buffer and keeps an array that owns its buffer', async (t) => {
  const whole = new Uint8Array([1, 2, 3]);
  t.equal(ownBytes(whole), whole, 'no copy when it spans its buffer');
  const frame = new Uint8Array(16384).fill(7);
  const view = frame.subarray(100, 104);
  const own = ownBytes(view);
  t.not(own, view);
  t.ok(owns(own), 'the copy has a buffer of its own size');
  t.same([...own], [7, 7, 7, 7]);
  frame[100] = 0;
  t.equal(own[0], 7, 'later writes to the frame do not reach the copy');
  // a Buffer from the shared 8 KiB pool is a view too (of the slab)
  const pooled = Buffer.from('abc');
  t.ok(owns(ownBytes(pooled)));
  t.ok(owns(ownBytes(frame.subarray(0, 8))), 'a prefix view is copied as well');
});

t.test('ownPayload replaces views at any depth, in place, and leaves everything else alone', async (t) => {
  const frame = new Uint8Array(4096);
  const date = new Date(5);
  const v = { a: 1, s: 'x', b: frame.subarray(1, 3), list: [frame.subarray(3, 4), 'y', [frame.subarray(4, 6)], null], nested: { d: date, deeper: { c: frame.subarray(6, 9) } } };
  const out = ownPayload(v);
  t.equal(out, v, 'the same object (mutated in place)');
  t.ok(owns(v.b));
  t.ok(owns(v.list[0]));
  t.ok(owns((v.list[2] as unknown[])[0]));
  t.ok(owns(v.nested.deeper.c));
  t.equal(v.nested.d, date);
  t.same({ a: v.a, s: v.s, b: [...v.b], len: v.list.length }, { a: 1, s: 'x', b: [0, 0], len: 4 });
  t.ok(owns(ownPayload(frame.subarray(0, 2))), 'bytes at the top are returned as a copy');
  for (const x of ['str', 5, null, undefined, true]) t.equal(ownPayload(x), x);
});

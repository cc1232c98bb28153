import t from 'tap';
import fc from 'fast-check';
import { MAX_CURSOR_CHARS, MAX_CURSOR_ORIGINS, cursorScope, decodeReadCursor, encodeReadCursor, originKey } from '../../lib/replica/cursor.js';
import type { ReadCursor } from '../../lib/replica/cursor.js';

const scope = cursorScope('prod', 'room');

const cursorArb: fc.Arbitrary<ReadCursor> = fc.record({
  floor: fc.option(fc.record({ ts: fc.nat(), node: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\u0000') && !s.includes('\ufffd')), epoch: fc.nat(), seq: fc.nat() }), { nil: undefined }),
  origins: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.nat(), fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 5 })), { maxLength: 30, selector: (o) => o[0] })
    .map((os) => new Map(os.map(([k, c, xs]) => [k, { c, extras: [...xs].sort((a, b) => a - b).map((x) => c + x) }]))),
  readAt: fc.option(fc.nat(), { nil: undefined }),
}).map((c): ReadCursor => (c.readAt === undefined ? { floor: c.floor, origins: c.origins } : { floor: c.floor, origins: c.origins, readAt: c.readAt }));

t.test('encode/decode round trip, base64url, compact', async (t) => {
  fc.assert(fc.property(cursorArb, (c) => {
    const s = encodeReadCursor(c, scope);
    if (!/^[A-Za-z0-9_-]+$/.test(s)) return false;
    const back = decodeReadCursor(s, scope);
    t.same(back, c);
    return true;
  }), { numRuns: 300 });
  const small: ReadCursor = { floor: undefined, origins: new Map([[originKey('n1', 3), { c: 17, extras: [] }]]) };
  t.ok(encodeReadCursor(small, scope).length <= 24, 'one origin: a couple of dozen characters');
});

t.test('bad cursors are refused with E_BAD_CURSOR naming the problem, never a crash', async (t) => {
  const good = encodeReadCursor({ floor: { ts: 5, node: 'n1', epoch: 1, seq: 2 }, origins: new Map([[originKey('n1', 1), { c: 4, extras: [6] }]]) }, scope);
  const bytes = Buffer.from(good, 'base64url');
  const with0 = (b: Buffer): string => b.toString('base64url');
  const cases: [unknown, RegExp][] = [
    ['', /non-empty string/],
    [42, /non-empty string/],
    ['a'.repeat(MAX_CURSOR_CHARS + 1), /longer than/],
    ['!!', /not base64url/],
    [with0(Buffer.from([9])), /version 9 is newer/],
    [with0(Buffer.from([0, 1, 2])), /unknown version 0/],
    [encodeReadCursor({ floor: undefined, origins: new Map() }, cursorScope('staging', 'room')), /another cluster/],
    [encodeReadCursor({ floor: undefined, origins: new Map() }, cursorScope('prod', 'lobby')), /another channel/],
    [with0(bytes.subarray(0, bytes.length - 2)), /truncated/],
    [with0(Buffer.concat([bytes, Buffer.from([0])])), /trailing bytes/],
    [with0(Buffer.concat([bytes.subarray(0, 9), Buffer.from([7])])), /unknown flags 7/],
  ];
  for (const [input, message] of cases) t.throws(() => decodeReadCursor(input, scope), { code: 'E_BAD_CURSOR', message }, String(input).slice(0, 20));
  // a count the bytes cannot hold is refused before anything is allocated for it
  // version, tags, flags 0 (no floor, no read time): the origin count comes next
  const header = Buffer.from(encodeReadCursor({ floor: undefined, origins: new Map() }, scope), 'base64url').subarray(0, 10);
  const huge = Buffer.concat([header, Buffer.from([0x80, 0x08])]); // 1024 origins, no bytes for them
  t.throws(() => decodeReadCursor(huge.toString('base64url'), scope), { code: 'E_BAD_CURSOR', message: /truncated \(origins\)/ });
  const tooMany = Buffer.concat([header, Buffer.from([0x81, 0x08])]); // 1025
  t.throws(() => decodeReadCursor(tooMany.toString('base64url'), scope), { code: 'E_BAD_CURSOR', message: new RegExp(`more than ${MAX_CURSOR_ORIGINS}`) });
  // random bytes never throw anything but E_BAD_CURSOR
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    try {
      decodeReadCursor(Buffer.concat([Buffer.from([1]), Buffer.from(b)]).toString('base64url') || 'AQ', scope);
    } catch (err) {
      return (err as { code?: string }).code === 'E_BAD_CURSOR';
    }
    return true;
  }), { numRuns: 500 });
});

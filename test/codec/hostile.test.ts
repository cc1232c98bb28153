import t from 'tap';
import { Deflate, deflateSync } from 'fflate';
import { boundedInflate } from '../../lib/codec/bounded-inflate.js';
import { FrameDecoder, FrameEncoder, FLAG_DEFLATED, type FrameRejectReason } from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage } from '../../lib/codec/messages.js';
import { DEFAULT_MSGPACK_LIMITS, scanMsgpack } from '../../lib/codec/msgpack-limits.js';
import { Random } from '../../lib/random.js';

const rnd = new Random('hostile');
const key = rnd.bytes(32);
const sample = [
  encodeMessage({ type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: '10.0.0.1:7946' }),
  encodeMessage({ type: 'alive', node: 'a', incarnation: 3, addr: '10.0.0.1:7946', meta: new Uint8Array(400) }),
];

/** A plaintext frame around a raw body (flags given). */
function raw(body: Uint8Array | number[], flags = 0): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = 1;
  out[1] = flags;
  out.set(body, 2);
  return out;
}

function code(d: FrameDecoder, frame: Uint8Array): FrameRejectReason | 'ok' {
  const r = d.decode(frame);
  return r.ok ? 'ok' : (r.error.code as FrameRejectReason);
}

t.test('header defects', async (t) => {
  const d = new FrameDecoder();
  t.equal(code(d, new Uint8Array(0)), 'E_FRAME_TRUNCATED');
  t.equal(code(d, new Uint8Array([1])), 'E_FRAME_TRUNCATED');
  t.equal(code(d, new Uint8Array([2, 0, 0x90])), 'E_FRAME_VERSION');
  t.equal(code(d, new Uint8Array([1, 0x08, 0x90])), 'E_FRAME_FLAGS');
  t.equal(code(d, new Uint8Array([1, 0x80, 0x90])), 'E_FRAME_FLAGS');
  t.equal(code(d, new Uint8Array([1, 0x04])), 'E_FRAME_TRUNCATED');
  t.equal(code(d, new Uint8Array([1, 0x04, 0])), 'E_FRAME_LABEL');
  t.equal(code(d, new Uint8Array([1, 0x04, 5, 0x61])), 'E_FRAME_TRUNCATED');
  t.equal(code(d, new Uint8Array([1, 0])), 'E_FRAME_TRUNCATED', 'empty body');
  t.equal(code(d, new Uint8Array([1, 0, 0x90])), 'ok', 'empty message list is a valid frame');
  t.equal(code(d, new Uint8Array([1, 0x02, 1, 2, 3])), 'E_FRAME_DECRYPT', 'sealed frame without a keyring');
  const k = new FrameDecoder({ keyring: new Keyring(key) });
  t.equal(code(k, new Uint8Array([1, 0x02, 1, 2, 3])), 'E_FRAME_TRUNCATED', 'sealed frame shorter than nonce+tag');
  t.equal(code(d, raw([0x01])), 'E_FRAME_DECODE', 'body is not an array');
  t.equal(code(d, raw([0x91, 0x01])), 'E_MESSAGE_INVALID', 'message is not an array');
});

t.test('truncations of valid frames are all refused, never thrown', async (t) => {
  for (const [name, encoder, decoder] of [
    ['plain', new FrameEncoder({ compressThreshold: Infinity }), new FrameDecoder()],
    ['deflated', new FrameEncoder({ compressThreshold: 0 }), new FrameDecoder()],
    ['sealed', new FrameEncoder({ keyring: new Keyring(key), noncePrefix: rnd.bytes(6), label: 'l' }), new FrameDecoder({ keyring: new Keyring(key), label: 'l' })],
  ] as const) {
    const frame = encoder.encode(sample);
    let refused = 0;
    for (let n = 0; n < frame.length; n++) if (!decoder.decode(frame.subarray(0, n)).ok) refused++;
    t.equal(refused, frame.length, `${name}: every truncation refused`);
  }
});

t.test('oversized frames and bodies', async (t) => {
  const d = new FrameDecoder({ maxFrameBytes: 1400 });
  t.equal(code(d, new Uint8Array(1401).fill(1)), 'E_FRAME_TOO_LARGE');
  const small = new FrameDecoder({ maxBodyBytes: 100 });
  t.equal(code(small, raw(new Uint8Array(200))), 'E_FRAME_TOO_LARGE');
  const deflated = raw(deflateSync(new Uint8Array(1000)), FLAG_DEFLATED);
  t.equal(code(small, deflated), 'E_FRAME_INFLATE');
  t.equal(code(small, raw([0xff, 0xff, 0xff], FLAG_DEFLATED)), 'E_FRAME_INFLATE', 'corrupt deflate');
  t.equal(code(small, raw([0x03], FLAG_DEFLATED)), 'E_FRAME_INFLATE', 'truncated deflate');
});

t.test('wrong key, garbled ciphertext, replay', async (t) => {
  const enc = new FrameEncoder({ keyring: new Keyring(key), noncePrefix: rnd.bytes(6) });
  const d = new FrameDecoder({ keyring: new Keyring(rnd.bytes(32)) });
  t.equal(code(d, enc.encode(sample)), 'E_FRAME_DECRYPT');
  const good = new FrameDecoder({ keyring: new Keyring(key) });
  const f = enc.encode(sample);
  const g = f.slice();
  g[40]! ^= 0x10;
  t.equal(code(good, g), 'E_FRAME_DECRYPT');
  t.equal(code(good, f), 'ok', 'the garbled copy did not burn the nonce');
  t.equal(code(good, f), 'E_FRAME_REPLAY');
});

t.test('absurd msgpack lengths are refused before allocation', async (t) => {
  const d = new FrameDecoder();
  const cases: [string, number[]][] = [
    ['array32 of 4G', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['array16 longer than the buffer', [0xdc, 0xff, 0xff, 0xc0]],
    ['map32 of 4G', [0x91, 0xdf, 0xff, 0xff, 0xff, 0xff]],
    ['str32 of 4G', [0x91, 0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff]],
    ['bin32 of 4G', [0x91, 0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff]],
    ['ext32 of 4G', [0x91, 0x92, 0x01, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['reserved 0xc1', [0x91, 0xc1]],
    ['trailing garbage', [0x90, 0x00]],
    ['truncated uint64', [0x91, 0x92, 0x04, 0xcf, 0x00]],
  ];
  for (const [name, body] of cases) t.equal(code(d, raw(body)), 'E_FRAME_DECODE', name);
  t.equal(code(d, raw([0x91, 0x92, 0x04, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'E_MESSAGE_INVALID', 'uint64 beyond 2^53');
  t.equal(code(d, raw([0x91, 0x92, 0x04, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'E_MESSAGE_INVALID', 'negative int64');
  t.equal(code(d, raw([0x91, 0x92, 0x04, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])), 'E_MESSAGE_INVALID', 'float seq');
  t.equal(code(d, raw([0x91, 0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x01])), 'E_FRAME_DECODE', '__proto__ key');
  // a 100,000-element array needs 100,000 bytes: 5 bytes claiming it is a lie
  t.throws(() => scanMsgpack(new Uint8Array([0xdd, 0, 1, 0x86, 0xa0]), DEFAULT_MSGPACK_LIMITS), { code: 'E_FRAME_DECODE' });
});

t.test('deep nesting is refused', async (t) => {
  const d = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  const depth = 200_000;
  const body = new Uint8Array(depth + 1).fill(0x91);
  body[depth] = 0xc0;
  t.equal(code(d, raw(body)), 'E_FRAME_DECODE');
  const r = d.decode(raw(body));
  t.match(!r.ok && r.error.message, /nesting deeper than 16/);
  // depth 16 is the default limit: 17 nested arrays refused, 16 accepted by the scanner
  const deep = new Uint8Array(18).fill(0x91);
  deep[17] = 0xc0;
  t.throws(() => scanMsgpack(deep, DEFAULT_MSGPACK_LIMITS), { message: /nesting/ });
  t.doesNotThrow(() => scanMsgpack(deep.subarray(1), DEFAULT_MSGPACK_LIMITS));
});

t.test('deflate bomb: 100 MiB of zeros never inflates past the cap', async (t) => {
  // build the bomb by streaming 1 MiB chunks so the test itself never holds 100 MiB
  const parts: Uint8Array[] = [];
  const deflater = new Deflate({ level: 9 }, (chunk) => parts.push(chunk));
  const zeros = new Uint8Array(1 << 20);
  for (let i = 0; i < 100; i++) deflater.push(zeros, i === 99);
  const bomb = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bomb.set(p, at);
    at += p.length;
  }
  t.ok(bomb.length < 200_000, `bomb is ${bomb.length} bytes`);
  const d = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  const frame = raw(bomb, FLAG_DEFLATED);
  const before = process.memoryUsage();
  const started = performance.now();
  const r = d.decode(frame);
  const elapsed = performance.now() - started;
  const after = process.memoryUsage();
  t.equal(!r.ok && r.error.code, 'E_FRAME_INFLATE');
  t.match(!r.ok && r.error.message, /exceeds the cap of 1048576/);
  const grown = after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed;
  t.ok(grown < 32 << 20, `memory grew by ${(grown / 1048576).toFixed(1)} MiB (< 32)`);
  t.ok(elapsed < 2000, `refused in ${elapsed.toFixed(1)} ms`);
  // the same stream is accepted when the cap allows it (proves the cap is what refused it)
  const tiny = deflateSync(new Uint8Array(5000));
  t.equal(boundedInflate(tiny, 5000).length, 5000);
  t.throws(() => boundedInflate(tiny, 4999), { code: 'E_FRAME_INFLATE' });
  t.throws(() => boundedInflate(new Uint8Array(0), 10), { code: 'E_FRAME_INFLATE' });
});

t.test('large deflated bodies (native zlib path): exact cap, over cap, truncated and corrupt', async (t) => {
  // text-like bytes that deflate to well over the native threshold (4 KiB)
  const rnd = new Random('inflate');
  const plain = new Uint8Array(200_000);
  for (let i = 0; i < plain.length; i++) plain[i] = 97 + rnd.int(20);
  const packed = deflateSync(plain, { level: 1 });
  t.ok(packed.length > 8192, `compressed ${packed.length} bytes`);
  t.same(boundedInflate(packed, plain.length), plain);
  t.throws(() => boundedInflate(packed, plain.length - 1), { code: 'E_FRAME_INFLATE', message: /exceeds the cap/ });
  t.throws(() => boundedInflate(packed.subarray(0, packed.length - 100), plain.length), { code: 'E_FRAME_INFLATE' }, 'truncated');
  const corrupt = packed.slice();
  for (let i = 100; i < 5000; i++) corrupt[i] = 0xff;
  t.throws(() => boundedInflate(corrupt, plain.length), { code: 'E_FRAME_INFLATE' }, 'corrupt');
});

import t from 'tap';
import { encode } from '@msgpack/msgpack';
import { APP_WIRE_LIMITS, AppMessageType, encodeAppMessageTrusted } from '../../lib/codec/app-messages.js';
import { decodeMessage, encodeMessage } from '../../lib/codec/messages.js';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

t.test('an app message round-trips through a frame, its body split in 64 KiB-safe parts', async (t) => {
  for (const n of [0, 1, 65_000, 65_001, 300_000]) {
    const body = bytes(n);
    const wire = encodeAppMessageTrusted('n1', 'sio', body);
    t.ok(Buffer.from(wire).equals(encodeMessage({ type: 'app', from: 'n1', topic: 'sio', body })), 'trusted and validated encodings agree');
    const frame = new FrameEncoder({}).encode([wire]);
    const r = new FrameDecoder({ maxFrameBytes: 16 << 20, maxBodyBytes: 16 << 20 }).decode(frame);
    t.ok(r.ok, `a ${n}-byte body decodes`);
    if (!r.ok) continue;
    const m = r.messages[0]!;
    t.equal(m.type, 'app');
    if (m.type !== 'app') continue;
    t.equal(m.from, 'n1');
    t.equal(m.topic, 'sio');
    t.ok(Buffer.from(m.body).equals(body), 'the body arrives whole');
  }
});

t.test('malformed app messages are refused with a message naming the field', async (t) => {
  const N = AppMessageType.app;
  const cases: [unknown[], RegExp][] = [
    [[N, 'n1', '', []], /app\.topic: must not be empty/],
    [[N, 'n1', 'x'.repeat(APP_WIRE_LIMITS.maxTopicBytes + 1), []], /app\.topic: 257 bytes exceed the cap of 256/],
    [[N, '', 'sio', []], /app\.from: must not be empty/],
    [[N, 'n1', 'sio', [['not binary']]], /app\.parts\[0\]\.part: expected binary data/],
    [[N, 'n1', 'sio', [[bytes(APP_WIRE_LIMITS.partBytes + 1)]]], /part: 65001 bytes exceed the cap of 65000/],
    [[N, 'n1', 'sio', new Array(200).fill([bytes(1)])], /app\.parts: 200 items exceed the cap of 130/],
    [[N, 'n1', 'sio'], /app\.parts: missing/],
  ];
  for (const [value, re] of cases) {
    t.throws(() => decodeMessage(value), { code: 'E_MESSAGE_INVALID', message: re }, String(re));
  }
  // and in a frame: the frame is refused (counted by code), nothing is delivered
  const dec = new FrameDecoder({});
  const r = dec.decode(new FrameEncoder({}).encode([encode([N, 'n1', '', []])]));
  t.notOk(r.ok);
});

t.test('a body over the wire cap fails at the sender', async (t) => {
  t.throws(() => encodeAppMessageTrusted('n1', 'sio', new Uint8Array(APP_WIRE_LIMITS.maxBodyBytes + 1)), { code: 'E_LIMIT' });
});

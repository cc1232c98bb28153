import t from 'tap';
import fc from 'fast-check';
import {
  DEFAULT_COMPRESS_THRESHOLD,
  encodeBody,
  ENCRYPTION_OVERHEAD,
  FLAG_DEFLATED,
  FLAG_ENCRYPTED,
  FLAG_LABELLED,
  FrameDecoder,
  FrameEncoder,
  FRAME_VERSION,
} from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage, type AnyMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { decode } from '@msgpack/msgpack';
import { anyMessage, norm } from './fixtures/arbitraries.js';

const seed = 424242;
const rnd = new Random('frame-test');
const key1 = rnd.bytes(32);
const key2 = rnd.bytes(32);

t.test('body is an array header plus the concatenated messages', async (t) => {
  const ms = [encodeMessage({ type: 'nack', seq: 1 }), encodeMessage({ type: 'ack', seq: 2 })];
  const body = encodeBody(ms);
  t.equal(body.length, 1 + ms[0]!.length + ms[1]!.length);
  t.same(decode(body), [[4, 1], [3, 2]]);
  const many = Array.from({ length: 20 }, (_, i) => encodeMessage({ type: 'nack', seq: i }));
  t.equal(encodeBody(many).length, 3 + many.reduce((n, m) => n + m.length, 0));
  t.equal((decode(encodeBody(many)) as unknown[]).length, 20);
  const lots = Array.from({ length: 70000 }, () => encodeMessage({ type: 'nack', seq: 0 }));
  t.equal((decode(encodeBody(lots)) as unknown[]).length, 70000);
});

const configs = [
  { name: 'plain', compress: false, encrypt: false, label: '' },
  { name: 'deflated', compress: true, encrypt: false, label: '' },
  { name: 'encrypted', compress: false, encrypt: true, label: '' },
  { name: 'deflated+encrypted+labelled', compress: true, encrypt: true, label: 'prod-eu' },
  { name: 'labelled', compress: false, encrypt: false, label: 'ünïcode-label' },
];

for (const c of configs) {
  t.test(`frames round-trip: ${c.name}`, async (t) => {
    const keyring = c.encrypt ? new Keyring(key1) : undefined;
    const encoder = new FrameEncoder({
      label: c.label,
      ...(keyring ? { keyring, noncePrefix: rnd.bytes(6) } : {}),
      compressThreshold: c.compress ? 0 : Infinity,
    });
    const decoder = new FrameDecoder({ label: c.label, ...(keyring ? { keyring } : {}) });
    let deflatedSeen = 0;
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 0, maxLength: 12 }), (messages: AnyMessage[]) => {
        const frame = encoder.encode(messages.map((m) => encodeMessage(m)));
        if (frame[0] !== FRAME_VERSION) return false;
        const flags = frame[1]!;
        if (flags & FLAG_DEFLATED) deflatedSeen++;
        if (!c.compress && flags & FLAG_DEFLATED) return false;
        if (Boolean(flags & FLAG_ENCRYPTED) !== c.encrypt) return false;
        if (Boolean(flags & FLAG_LABELLED) !== (c.label !== '')) return false;
        const r = decoder.decode(frame);
        if (!r.ok) throw r.error;
        return r.skipped === 0 && JSON.stringify(norm(r.messages)) === JSON.stringify(norm(messages));
      }),
      { seed, numRuns: 250 },
    );
    if (c.compress) t.ok(deflatedSeen > 0, 'some frames were deflated');
    t.equal(decoder.accepted, 250);
  });
}

t.test('deflate only when it pays and the body is above the threshold', async (t) => {
  const enc = new FrameEncoder();
  const small = [encodeMessage({ type: 'nack', seq: 1 })];
  t.equal(enc.encode(small)[1]! & FLAG_DEFLATED, 0, 'tiny body stays plain');
  const meta = new Uint8Array(DEFAULT_COMPRESS_THRESHOLD);
  const big = [encodeMessage({ type: 'alive', node: 'n', incarnation: 1, addr: 'a:1', meta })];
  const f = enc.encode(big);
  t.equal(f[1]! & FLAG_DEFLATED, FLAG_DEFLATED, 'compressible body is deflated');
  t.ok(f.length < meta.length);
  const noise = [encodeMessage({ type: 'alive', node: 'n', incarnation: 1, addr: 'a:1', meta: rnd.bytes(1000) })];
  const g = enc.encode(noise);
  t.equal(g[1]! & FLAG_DEFLATED, 0, 'incompressible body is sent plain');
  t.equal(g.length, 2 + encodeBody(noise).length);
  t.equal(enc.stats.deflated, 1);
});

t.test('overhead accounts header, label and nonce+tag exactly', async (t) => {
  const keyring = new Keyring(key1);
  const enc = new FrameEncoder({ label: 'abc', keyring, noncePrefix: rnd.bytes(6), compressThreshold: Infinity });
  t.equal(enc.overhead(), 2 + 1 + 3 + ENCRYPTION_OVERHEAD);
  const ms = [encodeMessage({ type: 'nack', seq: 5 })];
  t.equal(enc.encode(ms).length, enc.overhead() + encodeBody(ms).length);
  keyring.encryptOutgoing = false;
  t.equal(enc.overhead(), 6);
  t.equal(enc.encode(ms).length, 6 + encodeBody(ms).length);
});

t.test('unknown message types are skipped and counted, not fatal', async (t) => {
  const enc = new FrameEncoder();
  const dec = new FrameDecoder();
  const future = new Uint8Array([0x93, 40, 0xa1, 0x78, 0x01]); // [40, "x", 1]
  const r = dec.decode(enc.encode([future, encodeMessage({ type: 'nack', seq: 3 }), future]));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.skipped, 2);
    t.same(r.messages, [{ type: 'nack', seq: 3 }]);
  }
  t.equal(dec.skippedMessages, 2);
  const bad = dec.decode(enc.encode([encodeMessage({ type: 'nack', seq: 3 }), new Uint8Array([0x92, 4, 0xff])]));
  t.notOk(bad.ok, 'a malformed known message rejects the frame');
  t.equal(dec.rejected.E_MESSAGE_INVALID, 1);
});

t.test('label rules', async (t) => {
  const enc = new FrameEncoder({ label: 'a' });
  const plain = new FrameEncoder();
  t.equal(new FrameDecoder({ label: 'b' }).decode(enc.encode([])).ok, false);
  const d = new FrameDecoder({ label: 'a' });
  t.equal(d.decode(plain.encode([])).ok, false, 'unlabelled frame refused by a labelled cluster');
  t.equal(new FrameDecoder().decode(enc.encode([])).ok, false, 'labelled frame refused by an unlabelled cluster');
  t.equal(d.rejected.E_FRAME_LABEL, 1);
  t.throws(() => new FrameEncoder({ label: 'x'.repeat(256) }), { code: 'E_CONFIG' });
});

t.test('config validation', async (t) => {
  t.throws(() => new FrameEncoder({ keyring: new Keyring(key1) }), { code: 'E_CONFIG' });
  t.throws(() => new FrameEncoder({ keyring: new Keyring(key1), noncePrefix: new Uint8Array(5) }), { code: 'E_CONFIG' });
  t.throws(() => new FrameEncoder({ compressLevel: 10 }), { code: 'E_CONFIG' });
  t.throws(() => new FrameDecoder({ maxFrameBytes: 0 }), { code: 'E_CONFIG' });
  t.throws(() => new FrameDecoder({ msgpack: { maxDepth: 0 } }), { code: 'E_CONFIG' });
  t.ok(new FrameDecoder({ keyring: new Keyring(key2) }));
});

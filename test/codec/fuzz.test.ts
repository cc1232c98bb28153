import t from 'tap';
import fc from 'fast-check';
import { encodeBody, FrameDecoder, FrameEncoder, FRAME_REJECT_REASONS } from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { anyMessage } from './fixtures/arbitraries.js';

const INPUTS = 100_000;
const rnd = new Random('fuzz-frames');
const key = rnd.bytes(32);

interface Family {
  name: string;
  encoder: FrameEncoder;
  decoder: FrameDecoder;
  frames: Uint8Array[];
  bodies: Uint8Array[];
  fed: number;
}

function family(name: string, label: string, encrypt: boolean, compressThreshold: number): Family {
  const ring = new Keyring(key, { requireEncryptedIncoming: encrypt });
  const encoder = new FrameEncoder({
    label,
    compressThreshold,
    ...(encrypt ? { keyring: ring, noncePrefix: rnd.bytes(6) } : {}),
  });
  const decoder = new FrameDecoder({ label, ...(encrypt ? { keyring: ring } : {}), maxFrameBytes: 4096 });
  return { name, encoder, decoder, frames: [], bodies: [], fed: 0 };
}

const families = [
  family('plain', '', false, Infinity),
  family('deflated', '', false, 0),
  family('sealed+deflated+labelled', 'fuzz-cluster', true, 0),
  family('sealed+labelled', 'fuzz-cluster', true, Infinity),
];

// a corpus of valid frames per family: 1–8 random membership messages each
const batches = fc.sample(fc.array(anyMessage, { minLength: 1, maxLength: 8 }), { seed: 31337, numRuns: 150 });
for (const f of families) {
  for (const batch of batches) {
    const body = encodeBody(batch.map((m) => encodeMessage(m)));
    f.bodies.push(body);
    f.frames.push(f.encoder.encodeBody(body));
  }
}

const interesting = [0x00, 0xff, 0x7f, 0x80, 0x90, 0x91, 0x9f, 0xc0, 0xc1, 0xc6, 0xc9, 0xcf, 0xd3, 0xdb, 0xdd, 0xdf];

function flipBits(b: Uint8Array): Uint8Array {
  const out = b.slice();
  if (out.length === 0) return out;
  for (let i = rnd.between(1, 8); i > 0; i--) out[rnd.int(out.length)]! ^= 1 << rnd.int(8);
  return out;
}

function poke(b: Uint8Array): Uint8Array {
  const out = b.slice();
  if (out.length === 0) return out;
  for (let i = rnd.between(1, 4); i > 0; i--) out[rnd.int(out.length)] = interesting[rnd.int(interesting.length)]!;
  return out;
}

function splice(a: Uint8Array, b: Uint8Array): Uint8Array {
  const i = rnd.int(a.length + 1);
  const j = rnd.int(b.length + 1);
  const out = new Uint8Array(i + b.length - j);
  out.set(a.subarray(0, i));
  out.set(b.subarray(j), i);
  return out;
}

function overwriteRun(b: Uint8Array): Uint8Array {
  const out = b.slice();
  if (out.length === 0) return out;
  const at = rnd.int(out.length);
  out.set(rnd.bytes(Math.min(out.length - at, rnd.between(1, 32))), at);
  return out;
}

function insertOrDelete(b: Uint8Array): Uint8Array {
  const at = rnd.int(b.length + 1);
  if (rnd.chance(0.5) && b.length > 0) return splice(b.subarray(0, at), b.subarray(Math.min(b.length, at + rnd.between(1, 8))));
  const extra = rnd.bytes(rnd.between(1, 16));
  const out = new Uint8Array(b.length + extra.length);
  out.set(b.subarray(0, at));
  out.set(extra, at);
  out.set(b.subarray(at), at + extra.length);
  return out;
}

function mutate(f: Family): Uint8Array {
  const frame = f.frames[rnd.int(f.frames.length)]!;
  switch (rnd.int(10)) {
    case 0:
      return flipBits(frame);
    case 1:
      return frame.subarray(0, rnd.int(frame.length));
    case 2:
      return splice(frame, f.frames[rnd.int(f.frames.length)]!);
    case 3:
      return overwriteRun(frame);
    case 4:
      return insertOrDelete(frame);
    case 5:
      return rnd.bytes(rnd.int(200));
    case 6:
      return poke(frame);
    case 7:
      // valid, or a replay when the family is sealed and the frame was fed before
      return frame;
    default: {
      // corrupt the plaintext body, then frame it properly: exercises inflate, msgpack
      // and message validation behind a valid seal
      const body = f.bodies[rnd.int(f.bodies.length)]!;
      const bad = [flipBits, poke, overwriteRun, insertOrDelete][rnd.int(4)]!(body);
      return f.encoder.encodeBody(rnd.chance(0.1) ? splice(bad, f.bodies[rnd.int(f.bodies.length)]!) : bad);
    }
  }
}

t.test(`fuzz: ${INPUTS} random and mutated frames`, async (t) => {
  const before = process.memoryUsage().heapUsed;
  let thrown = 0;
  for (let i = 0; i < INPUTS; i++) {
    const f = families[i % families.length]!;
    const input = mutate(f);
    f.fed++;
    try {
      f.decoder.decode(input);
    } catch {
      thrown++;
    }
  }
  const after = process.memoryUsage().heapUsed;
  t.equal(thrown, 0, 'decode never threw');
  for (const f of families) {
    const rejected = FRAME_REJECT_REASONS.reduce((n, r) => n + f.decoder.rejected[r], 0);
    t.equal(rejected + f.decoder.accepted, f.fed, `${f.name}: every input counted (${f.decoder.accepted} accepted)`);
    t.equal(f.decoder.unexpected, 0, `${f.name}: no unexpected exception`);
    t.ok(f.decoder.accepted > 0, `${f.name}: some frames accepted`);
    t.comment(`${f.name}: ${JSON.stringify(Object.fromEntries(Object.entries(f.decoder.rejected).filter(([, n]) => n > 0)))}`);
  }
  const sealed = families[2]!.decoder.rejected;
  t.ok(sealed.E_FRAME_REPLAY > 0 && sealed.E_FRAME_DECRYPT > 0 && sealed.E_MESSAGE_INVALID > 0, 'deep layers reached behind the seal');
  const grown = (after - before) / 1048576;
  t.ok(grown < 128, `heap grew by ${grown.toFixed(1)} MiB (bound 128)`);
});

/**
 * Frame encode/decode throughput in messages per second, for plain, deflated,
 * encrypted and deflated+encrypted frames, each against a JSON baseline measured in the
 * same run (JSON.stringify + UTF-8 encode, and UTF-8 decode + JSON.parse, of the same
 * messages with binary fields as base64, as a naive JSON protocol would send them).
 * Our decode also validates every field; the baseline validates nothing.
 */
import { randomBytes } from 'node:crypto';
import { FrameDecoder, FrameEncoder } from '../lib/codec/frame.js';
import { Keyring } from '../lib/codec/keyring.js';
import { encodeMessage, type AnyMessage } from '../lib/codec/messages.js';
import { membershipMessages } from './fixtures.js';
import { opsPerSecond, rate, table, type BenchResult } from './harness.js';

const PER_FRAME = 12;
const FRAMES = 200;

function jsonable(m: AnyMessage): unknown {
  return Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v]),
  );
}

export default async function bench(): Promise<BenchResult> {
  const batches: AnyMessage[][] = [];
  const all = membershipMessages(PER_FRAME * FRAMES);
  for (let i = 0; i < FRAMES; i++) batches.push(all.slice(i * PER_FRAME, (i + 1) * PER_FRAME));

  const utf8 = new TextEncoder();
  const utf8d = new TextDecoder();
  let bi = 0;
  const jsonFrames = batches.map((b) => utf8.encode(JSON.stringify(b.map(jsonable))));
  const jsonEncode = opsPerSecond(() => void utf8.encode(JSON.stringify(batches[bi++ % FRAMES]!.map(jsonable))), PER_FRAME);
  const jsonDecode = opsPerSecond(() => void JSON.parse(utf8d.decode(jsonFrames[bi++ % FRAMES]!)), PER_FRAME);
  const jsonBytes = jsonFrames.reduce((n, f) => n + f.length, 0) / FRAMES;

  const key = randomBytes(32);
  const variants = [
    { name: 'plain', deflate: false, encrypt: false },
    { name: 'deflated', deflate: true, encrypt: false },
    { name: 'encrypted', deflate: false, encrypt: true },
    { name: 'deflated + encrypted', deflate: true, encrypt: true },
  ];
  const rows: (string | number)[][] = [['JSON baseline', rate(jsonEncode), '1.00×', rate(jsonDecode), '1.00×', Math.round(jsonBytes)]];
  for (const v of variants) {
    const ring = new Keyring(key);
    const encOpts = {
      compressThreshold: v.deflate ? 0 : Infinity,
      ...(v.encrypt ? { keyring: ring, noncePrefix: randomBytes(6) } : {}),
    };
    const encoder = new FrameEncoder(encOpts);
    let i = 0;
    const encode = opsPerSecond(() => void encoder.encode(batches[i++ % FRAMES]!.map((m) => encodeMessage(m))), PER_FRAME);
    // a second encoder (its own nonce prefix) for the frames to decode; a fresh decoder
    // per pass so the replay window does not refuse the second pass
    const source = new FrameEncoder({ ...encOpts, ...(v.encrypt ? { noncePrefix: randomBytes(6) } : {}) });
    const frames = batches.map((b) => source.encode(b.map((m) => encodeMessage(m))));
    const bytes = frames.reduce((n, f) => n + f.length, 0) / FRAMES;
    const decOpts = v.encrypt ? { keyring: ring } : {};
    const decode = opsPerSecond(() => {
      const d = new FrameDecoder(decOpts);
      for (const f of frames) {
        const r = d.decode(f);
        if (!r.ok) throw r.error;
      }
    }, PER_FRAME * FRAMES);
    rows.push([v.name, rate(encode), `${(encode / jsonEncode).toFixed(2)}×`, rate(decode), `${(decode / jsonDecode).toFixed(2)}×`, Math.round(bytes)]);
  }
  return {
    title: 'Frame codec throughput',
    markdown: [
      `${FRAMES} frames of ${PER_FRAME} membership messages each (ping, ack, alive with metadata, suspect, ping-req, dead; bench/fixtures.ts).`,
      'Encode = encodeMessage (with sender-side validation) for each message + FrameEncoder.encode; decode = FrameDecoder.decode',
      '(size/label/flag checks, decrypt, bounded inflate, msgpack pre-scan and decode, field validation). Ratios are against',
      'the JSON baseline of the same run (higher is faster). "deflated" forces compression on every frame.',
      '',
      table(['variant', 'encode msg/s', 'vs JSON', 'decode msg/s', 'vs JSON', 'bytes/frame'], rows),
    ].join('\n'),
  };
}

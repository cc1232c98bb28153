/**
 * Compression, measured on what the runtime compresses today and with what it uses
 * (native zlib, raw DEFLATE), against fflate in the same run:
 *
 * - datagram frame bodies built by the real {@link Batcher} from real encoded messages
 *   (membership gossip, replication `deltas` messages of publishes and presence joins,
 *   and both in one frame), for body sizes 64–1398 bytes: what deflate saves, what it
 *   costs (deflate + inflate), and so where it starts to pay — the frame encoder's
 *   DEFAULT_COMPRESS_THRESHOLD comes from this table (decisions 0002, 0048);
 * - bulk catch-up chunks (`BulkSender`, 64 KiB, deflate level 1 as lib/replicator.ts);
 * - a replica snapshot (`Replica.snapshotBytes`, stored uncompressed today).
 *
 * Timings interleave the two libraries round by round and keep each one's fastest round,
 * so their ratio is a same-run comparison on a noisy machine.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { deflateSync, inflateSync } from 'fflate';
import { encode } from '@msgpack/msgpack';
import { Batcher } from '../lib/codec/batcher.js';
import { DEFAULT_COMPRESS_LEVEL, DEFAULT_COMPRESS_THRESHOLD, FrameEncoder } from '../lib/codec/frame.js';
import { encodeMessage } from '../lib/codec/messages.js';
import { encodeDeltasTrusted } from '../lib/codec/replication-messages.js';
import { hlcPack } from '../lib/hlc.js';
import { Replica } from '../lib/replica/replica.js';
import type { Delta } from '../lib/replica/delta.js';
import { BulkSender } from '../lib/sync/bulk.js';
import { historyEntries, membershipMessages, presenceUpdates } from './fixtures.js';
import { table, type BenchResult } from './harness.js';

/** Body sizes (bytes); 1398 is the largest body of a 1400-byte datagram without label or encryption. */
const SIZES = [64, 128, 192, 256, 320, 384, 512, 768, 1024, 1398];
/** Lower edges of the body-length buckets the threshold is read from. */
const BUCKETS = [0, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 448, 512];
/** Bodies per cell. */
const BODIES = 60;
const NOW = hlcPack(1_717_000_000_000, 0);
type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

interface Pair {
  zlib: number;
  fflate: number;
}

/**
 * Fastest time per call (µs) of `a` and `b` over `rounds` interleaved rounds of `calls`
 * calls each (the machine is shared: other processes only ever add time, so the
 * fastest round is the least disturbed), and the ratio b/a of those.
 */
function race(a: (i: number) => void, b: (i: number) => void, calls: number, rounds: number): Pair & { ratio: number } {
  const once = (f: (i: number) => void): number => {
    const t = performance.now();
    for (let i = 0; i < calls; i++) f(i);
    return ((performance.now() - t) * 1000) / calls;
  };
  // warm-up (JIT for fflate, first-call allocations for zlib)
  once(a);
  once(b);
  let za = Infinity;
  let fb = Infinity;
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first, so neither always runs right after the other's garbage
    if (r % 2 === 0) {
      za = Math.min(za, once(a));
      fb = Math.min(fb, once(b));
    } else {
      fb = Math.min(fb, once(b));
      za = Math.min(za, once(a));
    }
  }
  return { zlib: za, fflate: fb, ratio: fb / za };
}

function sum(xs: readonly Uint8Array[]): number {
  let n = 0;
  for (const x of xs) n += x.length;
  return n;
}

/** Deltas of one origin node as a busy chat broker makes them: publishes over 64 rooms, or presence joins. */
function deltas(kind: 'publish' | 'presence', n: number): Delta[] {
  const r = new Replica({ node: 'broker-eu-03', epoch: 4, history: { defaultMaxEntries: 100_000 } });
  const out: Delta[] = [];
  if (kind === 'publish') {
    const entries = historyEntries(n);
    entries.forEach((h, i) => out.push(r.publish(`room:${1 + (i * 37) % 64}`, JSON.parse(h.payload), NOW + i).delta!));
  } else {
    for (const p of presenceUpdates(n)) out.push(r.join(p.channel, p.clientId, p.user, p.info, NOW).delta!);
  }
  return out;
}

/**
 * One `deltas` message per flush holding as many deltas as fit `maxMessage` (as
 * Replicator.encodeBatches does), taken from the stream in order.
 */
function deltasMessages(stream: readonly Delta[], maxMessage: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const batch: Delta[] = [stream[at++ % stream.length]!];
    let msg = encodeDeltasTrusted('broker-eu-03', batch);
    for (;;) {
      const next = encodeDeltasTrusted('broker-eu-03', [...batch, stream[at % stream.length]!]);
      if (next.length > maxMessage) break;
      batch.push(stream[at++ % stream.length]!);
      msg = next;
    }
    if (msg.length <= maxMessage) out.push(msg);
  }
  return out;
}

/**
 * Plain bodies of frames the Batcher builds for one peer with a body budget of `size`
 * bytes: membership messages are enqueued as 'membership', deltas messages as
 * 'replication', the order and packing are the batcher's.
 */
function batchedBodies(size: number, membership: readonly Uint8Array[], replication: readonly Uint8Array[]): Uint8Array[] {
  // no compression, no label, no encryption: a frame is [version, flags, ...body]
  const encoder = new FrameEncoder({ compressThreshold: Infinity });
  const batcher = new Batcher({ encoder, maxFrameBytes: size + 2, replicationBytesPerFlush: 1 << 30, syncBytesPerFlush: 1 << 30, bulkBytesPerFlush: 1 << 30, maxOutboxBytes: 1 << 30 });
  for (const m of membership) batcher.enqueue('10.0.0.1:7946', m, 'membership');
  for (const m of replication) batcher.enqueue('10.0.0.1:7946', m, 'replication');
  return batcher.flush(0).frames.map((f) => f.frame.subarray(2));
}

type Kind = 'membership' | 'publish deltas' | 'presence deltas' | 'gossip + deltas';
const KINDS: Kind[] = ['membership', 'publish deltas', 'presence deltas', 'gossip + deltas'];

function bodiesOf(kind: Kind, size: number, gossip: readonly Uint8Array[], pubs: readonly Delta[], pres: readonly Delta[]): Uint8Array[] {
  const maxMessage = size - 1;
  let bodies: Uint8Array[];
  switch (kind) {
    case 'membership':
      bodies = batchedBodies(size, gossip.filter((m) => m.length <= maxMessage), []);
      break;
    case 'publish deltas':
      bodies = batchedBodies(size, [], deltasMessages(pubs, maxMessage, BODIES));
      break;
    case 'presence deltas':
      bodies = batchedBodies(size, [], deltasMessages(pres, maxMessage, BODIES));
      break;
    default: {
      // a flush that carries a little gossip and fills the rest with one deltas message
      const g = gossip.filter((m) => m.length <= size / 3).slice(0, 2 * BODIES);
      const room = Math.max(16, size - 1 - 3 - (g[0]?.length ?? 0) - (g[1]?.length ?? 0));
      const d = deltasMessages(pubs, room, BODIES);
      bodies = batchedBodies(size, g, d);
    }
  }
  // fewer bodies than asked only when every message is larger than the body budget
  return bodies.filter((b) => b.length > 1).slice(0, BODIES);
}

interface Cell {
  saved: number;
  savedFflate: number;
  body: number;
  deflate: Pair & { ratio: number };
  inflate: Pair & { ratio: number };
}

function measureBodies(bodies: readonly Uint8Array[], level: Level, rounds: number): Cell {
  const z = bodies.map((b) => deflateRawSync(b, { level }));
  const f = bodies.map((b) => deflateSync(b, { level }));
  const original = sum(bodies);
  // a body that would not shrink is sent plain (FrameEncoder)
  const packedZ = z.reduce((n, c, i) => n + Math.min(c.length, bodies[i]!.length), 0);
  const packedF = f.reduce((n, c, i) => n + Math.min(c.length, bodies[i]!.length), 0);
  const k = bodies.length;
  const deflate = race((i) => void deflateRawSync(bodies[i % k]!, { level }), (i) => void deflateSync(bodies[i % k]!, { level }), k, rounds);
  const inflate = race(
    (i) => void inflateRawSync(z[i % k]!, { maxOutputLength: 1 << 20 }),
    (i) => void inflateSync(f[i % k]!),
    k,
    rounds,
  );
  return { saved: 1 - packedZ / original, savedFflate: 1 - packedF / original, body: original / k, deflate, inflate };
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const us = (x: number): string => (x < 10 ? x.toFixed(1) : x.toFixed(0));
const times = (x: number): string => `${x.toFixed(1)}×`;

export default async function bench(): Promise<BenchResult> {
  const gossip = membershipMessages(600).map((m) => encodeMessage(m));
  const pubs = deltas('publish', 3000);
  const pres = deltas('presence', 3000);

  // ── datagram bodies ──────────────────────────────────────────────────────────
  const frameRows: (string | number)[][] = [];
  const costRows: (string | number)[][] = [];
  const bySize = new Map<number, { worst: number; usPerBody: number; savedPerBody: number }>();
  // every body measured, by kind, for the table by actual body length
  const all: { kind: Kind; length: number; packed: number }[] = [];
  for (const size of SIZES) {
    let worst = 1;
    let usSum = 0;
    let savedBytes = 0;
    for (const kind of KINDS) {
      const bodies = bodiesOf(kind, size, gossip, pubs, pres);
      if (bodies.length === 0) continue;
      const c = measureBodies(bodies, DEFAULT_COMPRESS_LEVEL as Level, 15);
      const c1 = measureBodies(bodies, 1, 3);
      for (const b of bodies) all.push({ kind, length: b.length, packed: Math.min(b.length, deflateRawSync(b, { level: DEFAULT_COMPRESS_LEVEL }).length) });
      worst = Math.min(worst, c.saved);
      const cpu = c.deflate.zlib + c.inflate.zlib;
      usSum += cpu;
      savedBytes += c.saved * c.body;
      frameRows.push([
        size, kind, Math.round(c.body), pct(c.saved), pct(c1.saved), pct(c.savedFflate),
        us(c.deflate.zlib), us(c.deflate.fflate), times(c.deflate.ratio),
        us(c.inflate.zlib), us(c.inflate.fflate), times(c.inflate.ratio),
        c.saved > 0 ? (cpu / (c.saved * c.body)).toFixed(3) : '–',
      ]);
    }
    bySize.set(size, { worst, usPerBody: usSum / KINDS.length, savedPerBody: savedBytes / KINDS.length });
    costRows.push([size, pct(worst), us(usSum / KINDS.length), Math.round(savedBytes / KINDS.length)]);
  }
  // by actual body length: the threshold compares a body's length, not the batcher's budget
  const bucketRows: (string | number)[][] = [];
  const worstFrom: number[] = [];
  BUCKETS.forEach((lo, bi) => {
    const hi = BUCKETS[bi + 1] ?? Infinity;
    const cells: string[] = [];
    let worst = 1;
    for (const kind of KINDS) {
      const xs = all.filter((x) => x.kind === kind && x.length >= lo && x.length < hi);
      if (xs.length < 5) {
        cells.push('–');
        continue;
      }
      const saved = 1 - xs.reduce((n, x) => n + x.packed, 0) / xs.reduce((n, x) => n + x.length, 0);
      worst = Math.min(worst, saved);
      cells.push(`${pct(saved)} (${xs.length})`);
    }
    worstFrom.push(worst);
    bucketRows.push([hi === Infinity ? `≥ ${lo}` : `${lo}–${hi - 1}`, ...cells, pct(worst)]);
  });
  // the smallest edge from which every bucket saves ≥ 20% for every kind with bodies there
  let chosenAt = BUCKETS.length - 1;
  while (chosenAt > 0 && worstFrom[chosenAt - 1]! >= 0.2) chosenAt--;
  const chosen = BUCKETS[chosenAt]!;

  // ── bulk chunks and a snapshot ───────────────────────────────────────────────
  const src = new Replica({ node: 'src', epoch: 1, history: { defaultMaxEntries: 1000 } });
  const entries = historyEntries(100_000);
  const pubSrc = new Replica({ node: 'broker-eu-01', epoch: 2, history: { defaultMaxEntries: 1000 } });
  for (let i = 0; i < 100_000; i++) {
    const d = pubSrc.publish(`room:${1 + (i % 2000)}`, JSON.parse(entries[i]!.payload), NOW + i).delta!;
    src.apply([d], NOW + i);
  }
  for (const p of presenceUpdates(5000)) {
    const d = pubSrc.join(p.channel, p.clientId, p.user, p.info, NOW).delta!;
    src.apply([d], NOW);
  }
  const sender = new BulkSender(src, 65_536);
  const chunks: Uint8Array[] = [];
  for (let c = sender.next(); c && chunks.length < 40; c = sender.next()) chunks.push(encode(c));
  const snapshot = src.snapshotBytes();

  const bigRows: (string | number)[][] = [];
  const big = (label: string, inputs: readonly Uint8Array[], level: Level, rounds: number): void => {
    const z = inputs.map((b) => deflateRawSync(b, { level }));
    const f = inputs.map((b) => deflateSync(b, { level }));
    const k = inputs.length;
    const d = race((i) => void deflateRawSync(inputs[i % k]!, { level }), (i) => void deflateSync(inputs[i % k]!, { level }), k, rounds);
    // both inflate into a buffer of the known size, as the bulk receiver does
    const inf = race(
      (i) => void inflateRawSync(z[i % k]!, { maxOutputLength: inputs[i % k]!.length }),
      (i) => void inflateSync(f[i % k]!, { out: new Uint8Array(inputs[i % k]!.length) }),
      k,
      rounds,
    );
    const mib = (n: number): string => (n / 1048576).toFixed(2);
    bigRows.push([
      label, level, `${k} × ${Math.round(sum(inputs) / k / 1024)} KiB`, pct(1 - sum(z) / sum(inputs)), pct(1 - sum(f) / sum(inputs)),
      `${us(d.zlib)} (${mib((sum(inputs) / k / d.zlib) * 1e6)} MiB/s)`, us(d.fflate), times(d.ratio),
      us(inf.zlib), us(inf.fflate), times(inf.ratio),
    ]);
  };
  big('bulk chunks (BulkSender, 64 KiB budget)', chunks, 1, 5);
  big('replica snapshot (snapshotBytes)', [snapshot], 1, 5);
  big('replica snapshot (snapshotBytes)', [snapshot], 6, 5);

  const head = ['body budget', 'traffic', 'mean body B', 'saved L6 (zlib)', 'saved L1 (zlib)', 'saved L6 (fflate)',
    'deflate µs zlib', 'deflate µs fflate', 'fflate/zlib', 'inflate µs zlib', 'inflate µs fflate', 'fflate/zlib', 'zlib µs per B saved'];
  return {
    title: 'Compression: native zlib vs fflate on frames, bulk chunks and snapshots; the frame threshold',
    markdown: [
      `Frame bodies are built by the real \`Batcher\` (body budget = the size in the first column) from real encoded messages: membership gossip (bench/fixtures.ts), \`deltas\` messages of publishes (chat JSON over 64 rooms) and of presence joins, packed as \`Replicator\` packs one flush, and a flush carrying two gossip messages plus deltas. ${BODIES} bodies per row (fewer where few messages fit). "saved" is the share of body bytes removed (a body that would grow is sent plain); times are per body, the fastest of interleaved rounds (zlib and fflate alternate; on a shared machine other work only adds time), and "fflate/zlib" is their ratio; "µs per B saved" is zlib's deflate + inflate time over the bytes saved at level ${DEFAULT_COMPRESS_LEVEL}.`,
      '',
      table(head, frameRows),
      '',
      'Per body budget, over the four kinds of traffic (native zlib, level 6):',
      '',
      table(['body budget', 'worst saving', 'mean deflate + inflate µs', 'mean bytes saved'], costRows),
      '',
      `The same bodies by their actual length (level ${DEFAULT_COMPRESS_LEVEL}, native zlib; in brackets the number of bodies; buckets with fewer than 5 bodies of a kind are left out):`,
      '',
      table(['body bytes', ...KINDS.map((k) => `${k} saved`), 'worst'], bucketRows),
      '',
      `Smallest body length from which level ${DEFAULT_COMPRESS_LEVEL} saves at least 20% for every kind of traffic in every bucket: **${chosen} bytes** (DEFAULT_COMPRESS_THRESHOLD is ${DEFAULT_COMPRESS_THRESHOLD}; docs/decisions/0048-native-zlib-and-the-threshold-re-derived.md).`,
      '',
      `Large inputs: ${chunks.length} bulk chunks of a replica holding 100,000 history entries over 2,000 rooms and 5,000 presence entries, and that replica's snapshot (${(snapshot.length / 1048576).toFixed(1)} MiB). Inflate writes into a buffer of the known size for both libraries.`,
      '',
      table(['input', 'level', 'inputs', 'saved (zlib)', 'saved (fflate)', 'deflate µs zlib', 'deflate µs fflate', 'fflate/zlib', 'inflate µs zlib', 'inflate µs fflate', 'fflate/zlib'], bigRows),
    ].join('\n'),
  };
}

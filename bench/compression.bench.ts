/**
 * Where deflate starts to pay: for frame bodies of increasing size built from
 * representative traffic (membership gossip, presence, history), how many bytes
 * fflate's raw deflate saves and what it costs in CPU (deflate + inflate). The frame
 * encoder's DEFAULT_COMPRESS_THRESHOLD comes from this table.
 */
import { deflateSync, inflateSync } from 'fflate';
import { DEFAULT_COMPRESS_THRESHOLD, encodeBody } from '../lib/codec/frame.js';
import { encodeMessage } from '../lib/codec/messages.js';
import { encodePresence, encodeHistory, historyEntries, membershipMessages, presenceUpdates } from './fixtures.js';
import { opsPerSecond, table, type BenchResult } from './harness.js';

const SIZES = [64, 128, 192, 256, 384, 512, 768, 1024, 1400];
const LEVELS = [1, 6, 9] as const;

/** Bodies of about `size` bytes: whole messages taken from a stream until the size is reached. */
function bodies(stream: Uint8Array[], size: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const parts: Uint8Array[] = [];
    let total = 1;
    while (total < size) {
      const m = stream[at++ % stream.length]!;
      if (total + m.length > size && parts.length > 0) break;
      parts.push(m);
      total += m.length;
    }
    out.push(encodeBody(parts));
  }
  return out;
}

export default async function bench(): Promise<BenchResult> {
  const streams = {
    membership: membershipMessages(600).map((m) => encodeMessage(m)),
    presence: presenceUpdates(600).map(encodePresence),
    history: historyEntries(600).map(encodeHistory),
  };
  const rows: (string | number)[][] = [];
  const summary: Record<number, { saved: number; worst: number }> = {};
  for (const size of SIZES) {
    for (const level of LEVELS) {
      let original = 0;
      let packed = 0;
      let usTotal = 0;
      let samples = 0;
      let worst = 1;
      const cells: string[] = [];
      for (const stream of Object.values(streams)) {
        const bs = bodies(stream, size, 50);
        const sum = bs.reduce((n, b) => n + b.length, 0);
        const comp = bs.map((b) => deflateSync(b, { level }));
        const csum = comp.reduce((n, c, i) => n + Math.min(c.length, bs[i]!.length), 0);
        let k = 0;
        const dps = opsPerSecond(() => void deflateSync(bs[k++ % bs.length]!, { level }), 1, 150);
        let j = 0;
        const ips = opsPerSecond(() => void inflateSync(comp[j++ % comp.length]!), 1, 150);
        const us = 1e6 / dps + 1e6 / ips;
        original += sum;
        packed += csum;
        usTotal += us;
        samples++;
        worst = Math.min(worst, 1 - csum / sum);
        cells.push(`${((1 - csum / sum) * 100).toFixed(0)}%`);
      }
      const saved = 1 - packed / original;
      const avgBody = original / (samples * 50);
      const usPerSavedByte = usTotal / samples / Math.max(1e-9, saved * avgBody);
      if (level === 6) summary[size] = { saved, worst };
      rows.push([size, level, ...cells, `${(saved * 100).toFixed(0)}%`, (usTotal / samples).toFixed(1), usPerSavedByte.toFixed(3)]);
    }
  }
  const chosen = SIZES.find((s) => summary[s]!.worst >= 0.2) ?? SIZES[SIZES.length - 1]!;
  return {
    title: 'Compression threshold (fflate raw deflate on frame bodies)',
    markdown: [
      'Bodies built from whole encoded messages of each traffic kind (bench/fixtures.ts); 50 bodies per cell.',
      '"saved" is the share of body bytes deflate removes (a body that would grow is sent plain);',
      '"µs" is deflate + inflate time for one body; "µs/B saved" is the CPU paid per byte saved.',
      '',
      table(['body bytes', 'level', 'membership saved', 'presence saved', 'history saved', 'mean saved', 'µs', 'µs/B saved'], rows),
      '',
      `Smallest body size where level 6 saves at least 20% for every traffic kind: **${chosen} bytes** (DEFAULT_COMPRESS_THRESHOLD is ${DEFAULT_COMPRESS_THRESHOLD}; see docs/decisions/0002-compression-threshold.md).`,
    ].join('\n'),
  };
}

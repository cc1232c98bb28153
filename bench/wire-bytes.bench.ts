/**
 * Bytes on the wire per presence update and per history message, batched by the real
 * Batcher into ≤ 1400-byte frames (msgpack arrays, deflate when it pays), against a
 * naive baseline of one JSON object per datagram, in the same run. Presence and history
 * are encoded with the local helpers in bench/fixtures.ts because replica/ has not
 * registered those message types yet. Goal: at batch 100, ≤ 0.35× the baseline.
 */
import { randomBytes } from 'node:crypto';
import { Batcher } from '../lib/codec/batcher.js';
import { FrameEncoder } from '../lib/codec/frame.js';
import { Keyring } from '../lib/codec/keyring.js';
import {
  encodeHistory,
  encodePresence,
  historyEntries,
  presenceUpdates,
  type History,
  type Presence,
} from './fixtures.js';
import { table, type BenchResult } from './harness.js';

const BATCHES = [1, 10, 100, 1000];
/** IPv4 + UDP headers, paid once per datagram. */
const UDP_IP = 28;

interface Cost {
  payload: number;
  datagrams: number;
}

function batched(items: Uint8Array[], encrypt: boolean): Cost {
  const ring = new Keyring(randomBytes(32));
  const encoder = new FrameEncoder(encrypt ? { keyring: ring, noncePrefix: randomBytes(6) } : {});
  const b = new Batcher({ encoder, replicationBytesPerFlush: 1 << 30, bulkBytesPerFlush: 1 << 30 });
  for (const m of items) if (b.enqueue('peer', m, 'replication') !== 'queued') throw new Error('not queued');
  const out = b.flush(0);
  return { payload: out.frames.reduce((n, f) => n + f.frame.length, 0), datagrams: out.frames.length };
}

function naive(items: unknown[]): Cost {
  const utf8 = new TextEncoder();
  return { payload: items.reduce<number>((n, x) => n + utf8.encode(JSON.stringify(x)).length, 0), datagrams: items.length };
}

export default async function bench(): Promise<BenchResult> {
  const kinds: [string, Presence[] | History[], (x: never) => Uint8Array][] = [
    ['presence', presenceUpdates(1000), encodePresence as (x: never) => Uint8Array],
    ['history', historyEntries(1000), encodeHistory as (x: never) => Uint8Array],
  ];
  const rows: (string | number)[][] = [];
  const at100: string[] = [];
  for (const [kind, all, enc] of kinds) {
    for (const n of BATCHES) {
      const items = all.slice(0, n);
      const encoded = items.map((x) => enc(x as never));
      const base = naive(items);
      const plain = batched(encoded, false);
      const sealed = batched(encoded, true);
      const per = (c: Cost): number => c.payload / n;
      const wire = (c: Cost): number => (c.payload + c.datagrams * UDP_IP) / n;
      rows.push([
        kind,
        n,
        per(base).toFixed(1),
        per(plain).toFixed(1),
        (per(plain) / per(base)).toFixed(3),
        per(sealed).toFixed(1),
        (per(sealed) / per(base)).toFixed(3),
        `${plain.datagrams} / ${n}`,
        (wire(plain) / wire(base)).toFixed(3),
      ]);
      if (n === 100) {
        at100.push(
          `${kind}: ${(per(plain) / per(base)).toFixed(3)}× plaintext, ${(per(sealed) / per(base)).toFixed(3)}× encrypted (payload bytes; ${(wire(plain) / wire(base)).toFixed(3)}× counting UDP/IP headers)`,
        );
      }
    }
  }
  return {
    title: 'Bytes on the wire: batched msgpack frames vs one JSON message per datagram',
    markdown: [
      'Representative messages (bench/fixtures.ts): presence `{channel, clientId, user, info: {name, avatar, status}, node, since}`',
      'with random client ids; history `{channel, id: {origin, seq}, ts: {wall, logical}, payload: ~100 B chat JSON}`.',
      'Batched = the Batcher packing a batch into ≤ 1400-byte frames (frame header included; deflate per frame when it pays);',
      'encrypted adds the 28-byte nonce+tag per frame. Baseline = `JSON.stringify` of each object, one per datagram.',
      'Byte columns are per message; "+UDP/IP" adds 28 bytes per datagram to both sides.',
      '',
      table(['kind', 'batch', 'JSON B/msg', 'frames B/msg', 'ratio', 'encrypted B/msg', 'ratio', 'datagrams', 'ratio +UDP/IP'], rows),
      '',
      `**At batch size 100** (goal ≤ 0.35×): ${at100.join('; ')}.`,
    ].join('\n'),
  };
}

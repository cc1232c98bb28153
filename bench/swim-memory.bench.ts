/**
 * Heap held by one Membership per member it tracks.
 * Standalone: `node --expose-gc --import=tsx bench/swim-memory.bench.ts` (without
 * --expose-gc, e.g. under bench/run.ts, it re-runs itself in a child process that has it).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { ManualClock } from '../lib/clock.js';
import { swimOptions } from '../lib/config.js';
import { decodeMessage, encodeMessage } from '../lib/codec/messages.js';
import type { PushPullMessage } from '../lib/codec/messages.js';
import { Random } from '../lib/random.js';
import { Membership } from '../lib/swim/membership.js';
import { encodeMeta } from '../lib/swim/meta.js';
import { decode } from '@msgpack/msgpack';
import { fmt, runIfMain, stopwatch, table, verdict } from '../simulations/report.js';

const SIZES = [1000, 10_000];

interface Sample {
  members: number;
  /** Bytes per member right after the join (broadcast queue full of the news). */
  joined: number;
  /** Bytes per member once the queue has drained (steady state). */
  steady: number;
  wireBytesPerMember: number;
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * One node learns `n` members from a push-pull decoded from real bytes, as on the wire:
 * metadata like a broker's (roles, a zone tag, a WebSocket endpoint, a load figure;
 * one member in ten a broker).
 */
function measure(n: number): Sample {
  const members = Array.from({ length: n }, (_, i) => ({
    node: `node-${i.toString(36).padStart(5, '0')}`,
    addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7946`,
    incarnation: i % 7,
    state: 'alive' as const,
    meta: encodeMeta({ roles: [i % 10 === 0 ? 'broker' : 'worker'], tags: { zone: `z${i % 3}` }, endpoints: i % 10 === 0 ? { ws: `wss://10.0.${i >> 8 & 255}.${i & 255}:8443` } : {}, load: { clients: i % 1000 } }),
  }));
  const wire = encodeMessage({ type: 'push-pull', join: false, members });
  members.length = 0;
  const base = heap();
  const clock = new ManualClock();
  const m = new Membership({
    name: 'self', address: '10.255.255.255:7946', options: swimOptions('lan'), clock, random: new Random(1),
    out: { send: () => {}, gossip: () => {}, pushPull: () => {}, streamPing: () => {} },
  });
  m.handlePushPull(decodeMessage(decode(wire)) as PushPullMessage);
  const joined = heap() - base;
  while (m.queuedBroadcasts > 0) m.piggyback(Number.MAX_SAFE_INTEGER);
  const steady = heap() - base;
  if (m.counts().alive !== n + 1) throw new Error(`expected ${n + 1} alive, got ${m.counts().alive}`);
  return { members: n, joined: joined / n, steady: steady / n, wireBytesPerMember: wire.length / n };
}

export default async function memory(): Promise<BenchResult> {
  const elapsed = stopwatch();
  let samples: Sample[];
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') {
    samples = SIZES.map(measure);
  } else {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import=tsx', fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8' });
    samples = JSON.parse(out) as Sample[];
  }
  const at10k = samples.find((s) => s.members === 10_000)!;
  const markdown = [
    'One Membership learns every member from a single push-pull decoded from its wire bytes (each member: a 10-character name, an address, a metadata record of about 40–70 bytes; one in ten a broker with an endpoint). Heap measured with `global.gc()` before and after, including everything the node keeps: member table, probe order, broker list, metadata views (which keep the decoded push-pull buffer alive), and, right after the join, the broadcast queue holding the news of every new member.',
    '',
    table(['members', 'heap / member after the join (KiB)', 'heap / member, queue drained (KiB)', 'wire bytes / member'], samples.map((s) => [s.members, fmt(s.joined / 1024), fmt(s.steady / 1024), fmt(s.wireBytesPerMember, 0)])),
    '',
    `Goal: ≤ 2 KiB per member at 10,000 members → ${verdict(Math.max(at10k.joined, at10k.steady) <= 2048)} (${fmt(at10k.steady / 1024)} KiB steady, ${fmt(at10k.joined / 1024)} KiB with the queue full).`,
    '',
    `Wall time: ${fmt(elapsed(), 1)} s.`,
  ].join('\n');
  return { title: 'SWIM memory per member', markdown };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(SIZES.map(measure)));
} else {
  runIfMain(import.meta.url, memory);
}

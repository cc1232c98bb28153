/**
 * Heap the replication runtime holds per known peer when idle (docs/decisions/0057): one
 * Replicator (the production class) learns `n` members, then receives from each of them
 * the deltas of one presence join and its leave (as after a quiet period of a cluster
 * where every member once had a client), decoded from real bytes as on the wire. Measured
 * with `global.gc()` before and after (JS heap and external memory, after a warm-up run so
 * that compiled code is not counted): the peer table, the version vector, the per-origin
 * delta rings (holding those two deltas each) and the removed-origin bookkeeping. The
 * Membership itself is measured by bench/swim-memory.bench.ts.
 * Standalone: `node --expose-gc --import=tsx bench/replication-peer-memory.bench.ts` (without
 * --expose-gc, e.g. under bench/run.ts, it re-runs itself in a child process that has it).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decode } from '@msgpack/msgpack';
import type { BenchResult } from './harness.js';
import { ManualClock } from '../lib/clock.js';
import { decodeMessage } from '../lib/codec/messages.js';
import type { AnyMessage } from '../lib/codec/messages.js';
import { encodeDeltasTrusted } from '../lib/codec/replication-messages.js';
import { Random } from '../lib/random.js';
import type { Delta } from '../lib/replica/delta.js';
import { Replicator } from '../lib/replication/replicator.js';
import type { ReplicatorHost } from '../lib/replication/replicator.js';
import type { Membership } from '../lib/swim/membership.js';
import { fmt, runIfMain, stopwatch, table, verdict } from '../simulations/report.js';

const SIZES = [1000, 5000];

interface Sample {
  members: number;
  /** Bytes per peer once it is known (member-join), before it sent anything. */
  known: number;
  /** Bytes per peer once each sent a presence join and its leave (idle afterwards). */
  idle: number;
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  // typed arrays' backing stores (a ring's sizes) live outside the JS heap
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

// the slice of Membership the Replicator reads: its events, and members for start()
function membershipStub(): { m: Membership; emit: (ev: string, name: string) => void } {
  const handlers = new Map<string, ((info: { name: string }) => void)[]>();
  const m = {
    on: (ev: string, fn: (info: { name: string }) => void) => void handlers.set(ev, [...(handlers.get(ev) ?? []), fn]),
    members: () => [],
    member: () => undefined,
    incarnation: 0,
  } as unknown as Membership;
  return { m, emit: (ev, name) => { for (const fn of handlers.get(ev) ?? []) fn({ name }); } };
}

function measure(n: number): Sample {
  const names = Array.from({ length: n }, (_, i) => `node-${i.toString(36).padStart(5, '0')}`);
  // the wire messages, decoded before the baseline (a real node decodes each datagram and lets it go)
  const messages: AnyMessage[] = names.map((name) => {
    const join: Delta = { kind: 'join', node: name, epoch: 1, seq: 1, channel: 'room', clientId: `c-${name}`, user: 'u', info: { status: 'here' }, since: 1 };
    const leave: Delta = { kind: 'leave', node: name, epoch: 1, seq: 2, channel: 'room', clientId: `c-${name}` };
    return decodeMessage(decode(encodeDeltasTrusted(name, [join, leave])));
  });
  const clock = new ManualClock();
  const { m, emit } = membershipStub();
  const host: ReplicatorHost = {
    name: 'self', clock, random: new Random(1), membership: m,
    maxDatagramMessage: () => 1200, enqueue: () => {}, dial: () => new Promise(() => {}), rawFrame: () => new Uint8Array(), fastFrame: () => new Uint8Array(),
    rejected: () => {}, defer: () => {},
  };
  const rep = new Replicator(host, 1);
  const base = heap();
  for (const name of names) emit('member-join', name);
  const known = heap() - base;
  for (const msg of messages) rep.handle(msg, '10.0.0.1:7946');
  messages.length = 0;
  const idle = heap() - base;
  if (rep.replica.vector.size !== n + 1 || rep.replica.presence.channelCount !== 0) throw new Error(`expected ${n + 1} origins and no presence`);
  return { members: n, known: known / n, idle: idle / n };
}

function measureAll(): Sample[] {
  measure(200); // warm-up: the code paths compiled before anything is counted
  return SIZES.map(measure);
}

export default async function peerMemory(): Promise<BenchResult> {
  const elapsed = stopwatch();
  let samples: Sample[];
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') {
    samples = measureAll();
  } else {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import=tsx', fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8' });
    samples = JSON.parse(out) as Sample[];
  }
  const at1k = samples.find((s) => s.members === 1000)!;
  const markdown = [
    'One Replicator learns every member (member-join), then receives from each a batch with a presence join and its leave, decoded from wire bytes; heap (JS heap and external memory) measured with `global.gc()` before and after, after a warm-up run. "known": the peer table entry only; "idle": with the version-vector entry and the delta ring that the two deltas leave behind (each ring holds them: it answers lagging peers).',
    '',
    table(['members', 'heap / peer, known (bytes)', 'heap / peer, idle after a join and leave (bytes)'], samples.map((s) => [s.members, fmt(s.known, 0), fmt(s.idle, 0)])),
    '',
    `Goal: ≤ 1 KiB per known peer at 1,000 members, idle → ${verdict(at1k.idle <= 1024)} (${fmt(at1k.idle, 0)} bytes).`,
    '',
    `Wall time: ${fmt(elapsed(), 1)} s.`,
  ].join('\n');
  return { title: 'Replication memory per known peer', markdown };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(measureAll()));
} else {
  runIfMain(import.meta.url, peerMemory);
}

/**
 * Merkle anti-entropy at n = 1,000,000 records with d = 100 scattered differences:
 * bytes, round trips and CPU per side of one session, against a full-state push-pull of
 * the same data; Merkle tree memory at 1M records; two-lane sums versus BigInt.
 * Standalone: `node --expose-gc --import=tsx bench/merkle.bench.ts` (without --expose-gc,
 * e.g. under bench/run.ts, it re-runs itself in a child process that has it).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import type { BenchResult } from './harness.js';
import { Replica, type ReplicaEvent, type SyncRecord } from '../lib/replica/replica.js';
import type { HistoryEntry } from '../lib/replica/history.js';
import { hlcPack } from '../lib/hlc.js';
import { Random } from '../lib/random.js';
import { BulkSender } from '../lib/sync/bulk.js';
import { ExchangeSession, type ExchangeMessage } from '../lib/sync/exchange.js';
import { MerkleTree } from '../lib/summary/merkle.js';
import { hashString64 } from '../lib/summary/hash64.js';
import { fmt, runIfMain, table, verdict } from '../simulations/report.js';

const N = 1_000_000;
const D = 100;
const CHANNELS = 10_000;
const NOW = hlcPack(1_700_000_000_000, 0);

interface Result {
  n: number;
  d: number;
  messages: number;
  roundTrips: number;
  bytes: number;
  messageBytes: number[];
  cpuA: number;
  cpuB: number;
  repaired: boolean;
  fullStateBytes: number;
  treeBytes: number;
  treeBuildMs: number;
  replicaBytesPerRecord: number;
  laneNsPerAdd: number;
  bigintNsPerAdd: number;
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function measure(): Result {
  const rnd = new Random('merkle-bench');
  // tree memory alone: keys exist beforehand (they are the replica's), only the index is counted
  const keys = Array.from({ length: N }, (_, i) => `h\u0000ch-${i % CHANNELS}\u0000origin-${i % 7}\u00001\u0000${i}`);
  // hashing flattens the template strings (ropes), which would otherwise shrink inside the measurement
  for (const k of keys) hashString64(k);
  const before = heap();
  const t0 = performance.now();
  const tree = new MerkleTree();
  for (let i = 0; i < N; i++) tree.set(keys[i]!, i, 0);
  const treeBuildMs = performance.now() - t0;
  const treeBytes = heap() - before;
  tree.clear();
  keys.length = 0;

  const opts = { history: { defaultMaxEntries: 1000 } };
  const base = heap();
  const a = new Replica({ node: 'a', epoch: 1, ...opts });
  const b = new Replica({ node: 'b', epoch: 1, ...opts });
  const skipA = new Set<number>();
  const skipB = new Set<number>();
  while (skipA.size < D / 2) skipA.add(rnd.int(N));
  while (skipB.size < D / 2) { const i = rnd.int(N); if (!skipA.has(i)) skipB.add(i); }
  const none: ReplicaEvent[] = [];
  for (let i = 0; i < N; i++) {
    const entry: HistoryEntry = { ts: NOW + i, node: `origin-${i % 7}`, epoch: 1, seq: i + 1, c: i + 1, channel: `ch-${i % CHANNELS}`, data: `message number ${i} with a little text` };
    const rec: SyncRecord = { kind: 'history', entry };
    if (!skipA.has(i)) a.applyRecord(rec, NOW, none);
    if (!skipB.has(i)) b.applyRecord(rec, NOW, none);
    none.length = 0;
  }
  const replicaBytesPerRecord = (heap() - base) / (2 * N);

  const sa = new ExchangeSession<SyncRecord, ReplicaEvent>(a, 1);
  const sb = new ExchangeSession<SyncRecord, ReplicaEvent>(b, 1);
  let cpuA = 0;
  let cpuB = 0;
  let t = performance.now();
  let msg: ExchangeMessage<SyncRecord> | undefined = sa.open();
  cpuA += performance.now() - t;
  let to: 'a' | 'b' = 'b';
  const messageBytes: number[] = [];
  while (msg) {
    messageBytes.push(encode(msg).byteLength);
    t = performance.now();
    const step = (to === 'a' ? sa : sb).receive(msg, NOW);
    const spent = performance.now() - t;
    if (to === 'a') cpuA += spent; else cpuB += spent;
    msg = step.reply;
    to = to === 'a' ? 'b' : 'a';
  }
  const repaired = a.history.size === N && b.history.size === N &&
    a.tree.hiOf(0) === b.tree.hiOf(0) && a.tree.loOf(0) === b.tree.loOf(0);

  // full-state push-pull: each side sends all of its records, chunked and msgpack-encoded
  let fullStateBytes = 0;
  for (const side of [a, b]) {
    const s = new BulkSender(side);
    for (let c = s.next(); c; c = s.next()) fullStateBytes += encode(c).byteLength;
  }

  // combining hashes: two 32-bit lanes with carry versus BigInt modulo 2^64
  const M = 2_000_000;
  const his = new Uint32Array(1024).map(() => rnd.uint32());
  const los = new Uint32Array(1024).map(() => rnd.uint32());
  let hi = 0;
  let lo = 0;
  t = performance.now();
  for (let i = 0; i < M; i++) {
    lo += los[i & 1023]!;
    let carry = 0;
    if (lo >= 4294967296) { lo -= 4294967296; carry = 1; }
    hi = (hi + his[i & 1023]! + carry) >>> 0;
  }
  const laneNsPerAdd = ((performance.now() - t) * 1e6) / M;
  const bigs = Array.from(his, (h, i) => (BigInt(h) << 32n) | BigInt(los[i]!));
  let sum = 0n;
  t = performance.now();
  for (let i = 0; i < M; i++) sum = BigInt.asUintN(64, sum + bigs[i & 1023]!);
  const bigintNsPerAdd = ((performance.now() - t) * 1e6) / M;
  if (sum === 1n && hi === lo) console.error('');

  return {
    n: N, d: D, messages: messageBytes.length, roundTrips: messageBytes.length / 2, bytes: messageBytes.reduce((x, y) => x + y, 0),
    messageBytes, cpuA, cpuB, repaired, fullStateBytes, treeBytes, treeBuildMs, replicaBytesPerRecord, laneNsPerAdd, bigintNsPerAdd,
  };
}

export default async function bench(): Promise<BenchResult> {
  let r: Result;
  if ((globalThis as { gc?: unknown }).gc) {
    r = measure();
  } else {
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import=tsx', fileURLToPath(import.meta.url), '--json'],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
    r = JSON.parse(out) as Result;
  }
  const ok = r.bytes <= 65_536 && r.roundTrips <= 4 && r.cpuA <= 200 && r.cpuB <= 200 && r.repaired;
  const markdown = [
    `Two replicas hold n = ${r.n.toLocaleString('en-US')} history records (${CHANNELS.toLocaleString('en-US')} channels, payload a ~40-byte string); each lacks ${r.d / 2} records the other has (d = ${r.d}, scattered uniformly). One Merkle session (16-ary tree, depth 4: 65,536 leaves) runs between them in-process; sizes are the msgpack encoding of each session message, CPU is the time spent inside each side's state machine (encode/transport excluded).`,
    '',
    table(['metric', 'value'], [
      ['messages (initiator → responder → …)', `${r.messages} (${r.messageBytes.map((b) => b.toLocaleString('en-US')).join(' / ')} bytes)`],
      ['round trips', fmt(r.roundTrips, 1)],
      ['bytes exchanged, both directions', r.bytes.toLocaleString('en-US')],
      ['full-state push-pull of the same data (64 KiB chunks, msgpack)', `${r.fullStateBytes.toLocaleString('en-US')} bytes (${fmt(r.fullStateBytes / r.bytes, 0)}× more)`],
      ['CPU, initiator / responder (ms)', `${fmt(r.cpuA, 1)} / ${fmt(r.cpuB, 1)}`],
      ['repaired (both sides hold all n, equal roots)', r.repaired ? 'yes' : 'NO'],
      ['Merkle tree heap at 1M records (keys excluded: the replica owns them)', `${fmt(r.treeBytes / 1048576, 1)} MiB (${fmt(r.treeBytes / r.n, 1)} B/record)`],
      ['tree build, 1M inserts', `${fmt(r.treeBuildMs, 0)} ms (${fmt((r.treeBuildMs * 1e6) / r.n, 0)} ns/insert)`],
      ['whole replica heap per history record (entry, indexes, tree)', `${fmt(r.replicaBytesPerRecord, 0)} B`],
      ['sum modulo 2^64: two 32-bit lanes vs BigInt', `${fmt(r.laneNsPerAdd, 1)} ns vs ${fmt(r.bigintNsPerAdd, 1)} ns per add`],
    ]),
    '',
    `Goal: ≤ 64 KiB in ≤ 4 round trips and ≤ 200 ms CPU per side, tree ≤ 64 MiB → ${verdict(ok && r.treeBytes <= 64 * 1048576)}.`,
  ].join('\n');
  return { title: 'Merkle repair: 1M records, 100 differences', markdown };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(measure()));
} else {
  runIfMain(import.meta.url, bench);
}

/**
 * The replication core in CPU time, without sockets, so that it can be compared across
 * runs on a shared machine (decision 0026):
 * - publish pipeline: three replicas; per 100 ms window each publishes its share, encodes
 *   one delta batch (trusted path), frames it once (deflate level 1), and the two others
 *   decode the frame and apply it — the per-publish work of the 3-node UDP benchmark
 *   minus transport and timers;
 * - insert: HistoryStore + Merkle tree inserts at 1,000,000 entries;
 * - bulk receiver: decode + apply of pre-encoded bulk chunks into an empty replica (the
 *   joiner's side of a bulk catch-up, inflate and transport excluded).
 * Standalone: `node --import=tsx bench/replication-core.bench.ts`.
 */
import os from 'node:os';
import { encode, decode } from '@msgpack/msgpack';
import type { BenchResult } from './harness.js';
import { Replica, type ReplicaEvent } from '../lib/replica/replica.js';
import { HistoryStore, type HistoryEntry } from '../lib/replica/history.js';
import { MerkleTree } from '../lib/summary/merkle.js';
import { BulkReceiver, BulkSender, type BulkChunk } from '../lib/sync/bulk.js';
import { hlcPack } from '../lib/hlc.js';
import { encodeDeltasTrusted } from '../lib/codec/replication-messages.js';
import { FrameDecoder, FrameEncoder } from '../lib/codec/frame.js';
import type { Delta } from '../lib/replica/delta.js';
import { fmt, runIfMain, table } from '../simulations/report.js';

const NOW = hlcPack(1_700_000_000_000, 0);
const cpuMicros = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

function pipeline(total: number, perWindow: number): number {
  const payload = { text: 'a short chat message of about forty bytes' };
  const reps = [1, 2, 3].map((i) => new Replica({ node: `n${i}`, epoch: 1, history: { defaultMaxEntries: 100_000 } }));
  const enc = new FrameEncoder({ compressLevel: 1 });
  const dec = new FrameDecoder({ maxFrameBytes: 16 << 20, maxBodyBytes: 16 << 20 });
  let ts = NOW;
  let published = 0;
  const t0 = cpuMicros();
  while (published < total) {
    for (let r = 0; r < 3; r++) {
      const out: Delta[] = [];
      for (let k = 0; k < perWindow / 3; k++) out.push(reps[r]!.publish(`tp-${(published + k) % 64}`, payload, (ts += 1)).delta!);
      const frame = enc.encode([encodeDeltasTrusted(`n${r + 1}`, out)]);
      for (let o = 0; o < 3; o++) {
        if (o === r) continue;
        for (const m of dec.decodeOrThrow(frame).messages) reps[o]!.apply((m as unknown as { deltas: Delta[] }).deltas, ts);
      }
      published += out.length;
    }
  }
  const us = (cpuMicros() - t0) / published;
  if (!reps.every((r) => r.history.size === published && r.tree.hiOf(0) === reps[0]!.tree.hiOf(0))) throw new Error('replicas diverged');
  return us;
}

function inserts(n: number, channels: number, withTree: boolean): number {
  const entries: HistoryEntry[] = [];
  for (let i = 0; i < n; i++) entries.push({ ts: NOW + i * 3, node: `node-${i % 3}`, epoch: 1, seq: Math.floor(i / 3) + 1, c: Math.floor(i / 3) + 1, channel: `ch-${i % channels}`, data: 'x' });
  const h = new HistoryStore({ defaultMaxEntries: 100 }, withTree ? new MerkleTree() : undefined);
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) h.insert(entries[i]!, 10, NOW);
  return (cpuMicros() - t0) / n;
}

function bulkReceiver(n: number): { decode: number; apply: number } {
  const src = new Replica({ node: 'src', epoch: 1, history: { defaultMaxEntries: 1000 } });
  const none: ReplicaEvent[] = [];
  for (let i = 0; i < n; i++) {
    src.applyRecord({ kind: 'history', entry: { ts: NOW + i, node: `origin-${i % 7}`, epoch: 1, seq: i + 1, c: i + 1, channel: `ch-${i % 10_000}`, data: `message number ${i} with a little text` } }, NOW, none);
    none.length = 0;
  }
  const sender = new BulkSender(src, 60_000);
  const wire: Uint8Array[] = [];
  for (let chunk = sender.next(); chunk; chunk = sender.next()) wire.push(encode(chunk));
  const joiner = new Replica({ node: 'joiner', epoch: 1, history: { defaultMaxEntries: 1000 } });
  const receiver = new BulkReceiver(joiner);
  let dec = 0;
  let app = 0;
  for (const w of wire) {
    let t = cpuMicros();
    const chunk = decode(w) as BulkChunk;
    dec += cpuMicros() - t;
    t = cpuMicros();
    receiver.apply(chunk, NOW);
    app += cpuMicros() - t;
  }
  if (joiner.history.size !== n || joiner.tree.hiOf(0) !== src.tree.hiOf(0)) throw new Error('bulk receiver diverged');
  return { decode: dec / n, apply: app / n };
}

export default async function bench(): Promise<BenchResult> {
  const pipe = pipeline(300_000, 3000);
  const withTree = inserts(1_000_000, 10_000, true);
  const noTree = inserts(1_000_000, 10_000, false);
  const bulk = bulkReceiver(1_000_000);
  const bulkUs = bulk.decode + bulk.apply;
  const markdown = [
    'CPU time (`process.cpuUsage`, including the garbage collector) of the replication core without sockets or timers, one process: comparable across runs on a shared machine where wall-clock rates are not. Layout and algorithms: decision 0026.',
    '',
    table(['measurement', 'CPU µs per item', 'items per CPU-second'], [
      ['publish pipeline, 3 replicas: publish + batch encode + one deflated frame + decode and apply on 2 peers (300,000 publishes, ~50-byte payloads, 64 channels)', fmt(pipe, 2), Math.round(1e6 / pipe).toLocaleString('en-US')],
      ['history + Merkle insert, 1,000,000 entries (10,000 channels × 100)', fmt(withTree, 2), Math.round(1e6 / withTree).toLocaleString('en-US')],
      ['history insert alone (no tree), same entries', fmt(noTree, 2), Math.round(1e6 / noTree).toLocaleString('en-US')],
      ['bulk receiver: msgpack decode + validate + insert + Merkle, 1,000,000 records (inflate and transport excluded)', `${fmt(bulkUs, 2)} (${fmt(bulk.decode, 2)} decode + ${fmt(bulk.apply, 2)} apply)`, Math.round(1e6 / bulkUs).toLocaleString('en-US')],
    ]),
    '',
    `1-minute load average at the end: ${fmt(os.loadavg()[0]!, 1)} on ${os.availableParallelism()} CPUs (other processes on the machine inflate CPU time too, through shared caches; compare runs at similar load).`,
    '',
    'For the 3-node UDP goal (≥ 50,000 replicated publishes/s) the whole runtime should reach ≥ ~55,000 publishes per CPU-second (≤ ~18 CPU µs per publish across the three nodes, so that one thread could carry all three); the pipeline row is the part of that cost that does not depend on the transport.',
  ].join('\n');
  return { title: 'Replication core in CPU time: publish pipeline, inserts, bulk receiver', markdown };
}

runIfMain(import.meta.url, bench);

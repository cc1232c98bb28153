/**
 * Replication on real UDP: three ClusterNodes on 127.0.0.1-3 (NetTransport, one process,
 * one JavaScript thread for all three), default timings (100 ms batch window).
 * - latency: publish-to-visible-everywhere, at a light load, in an HDR histogram;
 * - throughput: history publishes at a paced rate from all three nodes; replicated
 *   publishes per second = entries stored on every node / time until the last one got them.
 * Standalone: `node --import=tsx bench/replication-udp.bench.ts`.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { BenchResult } from './harness.js';
import { ClusterNode } from '../lib/node.js';
import { NetTransport } from '../lib/transport/net.js';
import { fmt, runIfMain, table, verdict } from '../simulations/report.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(2);
  }
  return true;
}

async function startCluster(tag: string): Promise<ClusterNode[]> {
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= 3; i++) {
    const transport = await NetTransport.listen({ bind: `127.0.0.${i}:0` });
    // history cap large enough that nothing is evicted during the run
    nodes.push(new ClusterNode({ name: `${tag}-${i}`, transport, replica: { history: { defaultMaxEntries: 100_000 } } }));
  }
  for (const n of nodes) n.start();
  await nodes[0]!.join([]);
  for (const n of nodes.slice(1)) await n.join([nodes[0]!.transport.advertiseAddress]);
  if (!(await waitFor(() => nodes.every((n) => n.ready && n.members().filter((m) => m.state === 'alive').length === 3), 20_000))) {
    throw new Error('cluster did not form');
  }
  return nodes;
}

interface Latency {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

async function latency(nodes: ClusterNode[], perSecond: number, seconds: number): Promise<Latency> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  // id → [publish time, nodes that still have to see it]
  const pending = new Map<string, [number, number]>();
  for (const n of nodes) {
    n.channelEvents.on('message', (e) => {
      const p = pending.get(e.message.id);
      if (!p) return;
      if (--p[1] === 0) {
        histogram.recordValue(Math.round((performance.now() - p[0]) * 1000));
        pending.delete(e.message.id);
      }
    });
  }
  const total = perSecond * seconds;
  const interval = 1000 / perSecond;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const at = performance.now();
    const r = nodes[i % 3]!.channels.publish(`lat-${i % 8}`, { i, text: 'a short chat message' });
    // the publisher saw it at once; the two others have to receive it
    pending.set(r.id, [at, 2]);
  }
  await waitFor(() => pending.size === 0, 5000);
  const us = (q: number): number => histogram.getValueAtPercentile(q) / 1000;
  const out = { samples: histogram.totalCount, p50: us(50), p99: us(99), max: histogram.maxValue / 1000 };
  histogram.destroy();
  return out;
}

interface Throughput {
  target: number;
  published: number;
  seconds: number;
  rate: number;
  cpuSeconds: number;
  complete: boolean;
}

async function throughput(nodes: ClusterNode[], target: number, seconds: number): Promise<Throughput> {
  const counts = nodes.map(() => 0);
  nodes.forEach((n, i) => n.channelEvents.on('message', () => counts[i]!++));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const slice = 10;
  let published = 0;
  const payload = { text: 'a short chat message of about forty bytes' };
  for (let t = 0; t < seconds * 1000; t += slice) {
    const due = start + t;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else await new Promise((r) => setImmediate(r));
    const perNode = Math.round((target * slice) / 1000 / 3);
    for (let k = 0; k < perNode; k++) for (let i = 0; i < 3; i++) nodes[i]!.channels.publish(`tp-${(published + i) % 64}`, payload);
    published += perNode * 3;
  }
  const complete = await waitFor(() => counts.every((c) => c >= published), 30_000);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const stored = Math.min(...counts);
  return { target, published, seconds: elapsed, rate: stored / elapsed, cpuSeconds: (cpu.user + cpu.system) / 1e6, complete };
}

interface Child {
  proc: ChildProcess;
  next(type: string): Promise<Record<string, unknown>>;
}

function spawnNode(index: number): Child {
  const proc = fork(fileURLToPath(new URL('./replication-node.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, REPL_NODE_INDEX: String(index) },
  });
  const waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();
  const inbox: Record<string, unknown>[] = [];
  proc.on('message', (m: Record<string, unknown>) => {
    const w = waiting.get(m.type as string)?.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  return {
    proc,
    next: (type) => {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!);
      return new Promise((r) => {
        const list = waiting.get(type) ?? [];
        list.push(r);
        waiting.set(type, list);
      });
    },
  };
}

/**
 * The same throughput run with each node in its own process (a third of the load
 * generated in each), as a deployment runs them: the two cores are shared by three
 * threads instead of one. CPU = the three processes' user + system time.
 */
export async function throughputProcesses(target: number, seconds: number): Promise<Throughput> {
  const children = [1, 2, 3].map(spawnNode);
  try {
    const addrs = await Promise.all(children.map(async (c) => (await c.next('addr')).addr as string));
    children[0]!.proc.send({ type: 'join', seeds: [] });
    await sleep(200);
    for (const c of children.slice(1)) c.proc.send({ type: 'join', seeds: [addrs[0]] });
    await Promise.all(children.map((c) => c.next('joined')));
    const cpu0 = await Promise.all(children.map(async (c) => {
      c.proc.send({ type: 'count' });
      return (await c.next('count')).cpu as number;
    }));
    const start = performance.now();
    for (const c of children) c.proc.send({ type: 'run', target: target / 3, seconds });
    const published = (await Promise.all(children.map((c) => c.next('published')))).reduce((a, m) => a + (m.n as number), 0);
    let counts: Record<string, unknown>[] = [];
    let complete = false;
    while (performance.now() - start < seconds * 1000 + 30_000) {
      counts = await Promise.all(children.map(async (c) => {
        c.proc.send({ type: 'count' });
        return c.next('count');
      }));
      if (counts.every((m) => (m.n as number) >= published)) {
        complete = true;
        break;
      }
      await sleep(10);
    }
    const elapsed = (performance.now() - start) / 1000;
    const stored = Math.min(...counts.map((m) => m.n as number));
    const cpu = counts.reduce((a, m, i) => a + (m.cpu as number) - cpu0[i]!, 0);
    if (process.env.BENCH_DEBUG) console.error(JSON.stringify(counts));
    return { target, published, seconds: elapsed, rate: stored / elapsed, cpuSeconds: cpu, complete };
  } finally {
    for (const c of children) c.proc.send({ type: 'close' });
    await Promise.all(children.map((c) => new Promise((r) => (c.proc.exitCode !== null ? r(null) : c.proc.once('exit', r)))));
  }
}

export default async function bench(): Promise<BenchResult> {
  const a = await startCluster('lat');
  const lat = await latency(a, 200, 10);
  for (const n of a) await n.close();
  const runs: Throughput[] = [];
  for (const target of [30_000, 60_000]) {
    const b = await startCluster(`tp${target}`);
    runs.push(await throughput(b, target, 5));
    for (const n of b) await n.close();
  }
  const procRuns: Throughput[] = [];
  for (const target of [60_000, 90_000]) procRuns.push(await throughputProcesses(target, 5));
  const best = Math.max(...runs.filter((r) => r.complete).map((r) => r.rate), 0);
  const bestProc = Math.max(...procRuns.filter((r) => r.complete).map((r) => r.rate), 0);
  const rows = (rs: Throughput[]): string[][] => rs.map((r) => [
    r.target.toLocaleString('en-US'), r.published.toLocaleString('en-US'), Math.round(r.rate).toLocaleString('en-US'), fmt(r.seconds, 2), fmt(r.cpuSeconds, 2),
    Math.round(r.published / r.cpuSeconds).toLocaleString('en-US'), r.complete ? 'yes' : 'NO',
  ]);
  const head = ['target /s', 'published', 'replicated everywhere /s', 'wall (s)', 'CPU (s, all three nodes)', 'publishes per CPU-second', 'complete'];
  const load = os.loadavg()[0]!;
  const markdown = [
    'Three `ClusterNode`s on 127.0.0.1–3 with `NetTransport` (UDP datagrams + TCP streams), all in one process and therefore one JavaScript thread, default `lan` timings and the 100 ms batch window. Deltas of a flush go out as datagrams when small and as one deflated frame on the per-peer delta stream when a flush holds more than 12 KiB for a peer.',
    '',
    `**Latency** — ${lat.samples.toLocaleString('en-US')} publishes at 200/s spread over the three nodes, time from \`publish\` to the entry stored on both other nodes (HDR histogram):`,
    '',
    table(['p50 (ms)', 'p99 (ms)', 'max (ms)'], [[fmt(lat.p50, 1), fmt(lat.p99, 1), fmt(lat.max, 1)]]),
    '',
    `Goal p50 ≤ 120 ms and p99 ≤ 250 ms → ${verdict(lat.p50 <= 120 && lat.p99 <= 250)}. The floor is the batch window: a change waits on average half a window (50 ms) for its flush.`,
    '',
    '**Sustained throughput** — history publishes paced at the target rate for 5 s (a third on each node, 64 channels, ~50-byte msgpack payloads); rate = entries stored on *every* node ÷ time until the last node had them all:',
    '',
    '*One process* (one thread serves all three nodes, so each publish costs one local insert and two remote applies on the same core):',
    '',
    table(head, rows(runs)),
    '',
    '*Three processes* (bench/replication-node.ts: each node its own process generating a third of the load, as deployed; the three threads share the machine\'s cores):',
    '',
    table(head, rows(procRuns)),
    '',
    `Goal ≥ 50,000 replicated publishes/s cluster-wide → ${verdict(Math.max(best, bestProc) >= 50_000)} (best ${Math.round(bestProc).toLocaleString('en-US')}/s with three processes, ${Math.round(best).toLocaleString('en-US')}/s in one; 1-minute load average ${fmt(load, 1)} on ${os.availableParallelism()} CPUs).`,
  ].join('\n');
  return { title: 'Replication on real UDP: 3 nodes on loopback', markdown };
}

runIfMain(import.meta.url, bench);

/**
 * Direct push versus epidemic dissemination of replication deltas (docs/decisions/0024),
 * whole ClusterNodes over the in-memory network in virtual time (lan profile, 1 ms links,
 * 100 ms batch window): for n = 8 … 256 nodes, the same publish workload once with every
 * flush pushed to all peers (`directPushMax` above n) and once epidemic (`directPushMax`
 * 0, `gossipFanout` 4, relay once). Reports the traffic a publish costs (delta messages and
 * bytes, repair traffic, all datagram bytes above an idle baseline of the same length), the
 * writer's fan-out per flush, and how long a publish takes to be stored on every node.
 * Standalone: `node --import=tsx bench/replication-crossover.bench.ts [n,n,...]`.
 */
import type { BenchResult } from './harness.js';
import { ManualClock } from '../lib/clock.js';
import { ClusterNode } from '../lib/node.js';
import type { ReplicatorHost } from '../lib/replication/replicator.js';
import { Random } from '../lib/random.js';
import { MemoryNetwork } from '../lib/transport/memory.js';
import { fmt, quantile, runIfMain, stopwatch, table } from '../simulations/report.js';

const SIZES = [8, 16, 32, 64, 128, 256];
const LOSSY_SIZES = [32, 128];
const BUSY_SIZES = [16, 64, 128, 256];
const TAIL_MS = 5_000;

/** `rounds` times: `writers` random nodes publish one entry each, then `gapMs` pass. */
interface Workload {
  rounds: number;
  writers: number;
  gapMs: number;
}
// latency and cost of one publish at a time
const SPARSE: Workload = { rounds: 40, writers: 1, gapMs: 250 };
// many writers per batch window: where the writer's n − 1 copies per flush add up
const BUSY: Workload = { rounds: 30, writers: 10, gapMs: 100 };
const STEP_MS = 10;
const PAYLOAD = { text: 'a short chat message of about forty bytes' };

type Mode = 'direct' | 'epidemic';

interface Outcome {
  n: number;
  mode: Mode;
  loss: number;
  publishes: number;
  /** Replication datagram messages queued per publish, whole cluster. */
  deltaMsgs: number;
  /** Bytes of delta messages per publish, whole cluster. */
  deltaBytes: number;
  /** Most delta messages one node queued in one flush. */
  maxFanout: number;
  /** Catch-up and Merkle bytes per publish (repair), above the idle baseline. */
  repairBytes: number;
  /** All datagram bytes per publish above the idle baseline, whole cluster. */
  wireBytes: number;
  /** Frames per publish above the idle baseline, whole cluster. */
  wireFrames: number;
  /** Time from publish to stored on every node (ms): p50, p99 (nearest rank), max. */
  p50: number;
  p99: number;
  max: number;
  /** Publishes that reached every node within the run. */
  complete: number;
  /** CPU ms per publish above the idle baseline (the whole simulated cluster, one thread). */
  cpuMs: number;
}

async function run(clock: ManualClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += STEP_MS) {
    clock.advance(STEP_MS);
    // stream dials and their callbacks run on promises
    await new Promise((r) => setImmediate(r));
  }
}

const addr = (i: number): string => `127.0.${i >> 8}.${(i & 255) + 1}:7946`;
const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

interface Totals {
  deltaOut: number;
  syncOut: number;
  bytesOut: number;
  framesOut: number;
  msgs: number;
  cpu: number;
}

async function measure(n: number, mode: Mode, loss: number, w: Workload, seed = 1): Promise<Outcome> {
  const PUBLISHES = w.rounds * w.writers;
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(seed), latencyMs: 1 });
  const replica = { directPushMax: mode === 'direct' ? Number.MAX_SAFE_INTEGER : 0, gossipFanout: 4, history: { defaultMaxEntries: 1000 } };
  const nodes: ClusterNode[] = [];
  let msgs = 0;
  // delta messages per (node, flush instant): the fan-out of one flush
  const flushes = new Map<string, number>();
  let counting = false;
  const arrivals = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(seed * 7919 + i), replica });
    const host = (node as unknown as { replicator: { host: ReplicatorHost } }).replicator.host;
    const enqueue = host.enqueue.bind(host);
    host.enqueue = (to, message, cls) => {
      if (cls === 'replication') {
        msgs++;
        if (counting) {
          const key = `${node.name}@${clock.now()}`;
          flushes.set(key, (flushes.get(key) ?? 0) + 1);
        }
      }
      enqueue(to, message, cls);
    };
    node.channelEvents.on('message', (e) => {
      let list = arrivals.get(e.message.id);
      if (!list) arrivals.set(e.message.id, (list = []));
      list.push(clock.now());
    });
    node.start();
    nodes.push(node);
  }
  await nodes[0]!.join([]);
  // joins in waves of 32: the seed accepts a bounded number of push-pull streams at once
  const joined = new Set<ClusterNode>([nodes[0]!]);
  const join = (node: ClusterNode): void => {
    node.join([addr(0)]).then(() => joined.add(node), () => undefined);
  };
  for (let i = 1; i < n; i += 32) {
    for (const node of nodes.slice(i, i + 32)) join(node);
    await run(clock, 200);
  }
  // formed, ready, and the vectors' epoch entries spread (digests agree): a quiet baseline
  for (let waited = 0; waited < 120_000; waited += 500) {
    await run(clock, 500);
    if (waited % 5_000 === 0) for (const node of nodes) if (!joined.has(node)) join(node);
    if (nodes.every((x) => x.ready && x.members().filter((m) => m.state === 'alive').length === n) && new Set(nodes.map((x) => x.syncStatus().digest)).size === 1) break;
  }
  await run(clock, 2_000);
  net.configure({ loss });
  const totals = (): Totals => {
    const t: Totals = { deltaOut: 0, syncOut: 0, bytesOut: 0, framesOut: 0, msgs, cpu: cpuMs() };
    for (const x of nodes) {
      const s = x.syncStatus().bytes;
      const st = x.stats();
      t.deltaOut += s.deltasOut;
      t.syncOut += s.syncOut;
      t.bytesOut += st.bytesOut;
      t.framesOut += st.framesOut;
    }
    return t;
  };
  const span = w.rounds * w.gapMs + TAIL_MS;
  // idle baseline: probes, acks with digests, gossip, push-pull over the same span
  const i0 = totals();
  await run(clock, span);
  const i1 = totals();
  const rnd = new Random(seed * 31 + n);
  const published = new Map<string, number>();
  const p0 = totals();
  counting = true;
  for (let k = 0; k < w.rounds; k++) {
    for (let j = 0; j < w.writers; j++) {
      const writer = nodes[rnd.int(n)]!;
      published.set(writer.channels.publish('bench', { ...PAYLOAD, k, j }).id, clock.now());
    }
    await run(clock, w.gapMs);
  }
  await run(clock, TAIL_MS);
  counting = false;
  const p1 = totals();
  const times: number[] = [];
  let complete = 0;
  for (const [id, at] of published) {
    const list = arrivals.get(id) ?? [];
    if (list.length === n) {
      complete++;
      times.push(Math.max(...list) - at);
    }
  }
  for (const x of nodes) await x.close();
  const per = (v: number): number => v / PUBLISHES;
  return {
    n, mode, loss, publishes: PUBLISHES,
    deltaMsgs: per(p1.msgs - p0.msgs),
    deltaBytes: per(p1.deltaOut - p0.deltaOut),
    maxFanout: Math.max(0, ...flushes.values()),
    repairBytes: per((p1.syncOut - p0.syncOut) - (i1.syncOut - i0.syncOut)),
    wireBytes: per((p1.bytesOut - p0.bytesOut) - (i1.bytesOut - i0.bytesOut)),
    wireFrames: per((p1.framesOut - p0.framesOut) - (i1.framesOut - i0.framesOut)),
    p50: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    max: times.length ? Math.max(...times) : NaN,
    complete,
    cpuMs: per((p1.cpu - p0.cpu) - (i1.cpu - i0.cpu)),
  };
}

function rows(outcomes: Outcome[]): (string | number)[][] {
  return outcomes.map((o) => [
    o.n, o.mode, fmt(o.deltaMsgs, 1), fmt(o.deltaMsgs / o.n, 2), o.maxFanout, fmt(o.deltaBytes / o.n, 0), fmt(o.repairBytes / o.n, 0), fmt(o.wireBytes / o.n, 0), fmt(o.wireFrames / o.n, 2),
    `${fmt(o.p50, 0)} / ${fmt(o.p99, 0)} / ${fmt(o.max, 0)}`, `${o.complete}/${o.publishes}`, fmt(o.cpuMs, 1),
  ]);
}

const HEAD = ['n', 'mode', 'delta msgs / publish', '… per node', 'largest flush (msgs)', 'delta B / publish / node', 'repair B / publish / node', 'wire B / publish / node', 'frames / publish / node', 'to all nodes p50 / p99 / max (ms)', 'reached all', 'CPU ms / publish'];

export default async function bench(sizes = SIZES): Promise<BenchResult> {
  const elapsed = stopwatch();
  const clean: Outcome[] = [];
  for (const n of sizes) for (const mode of ['direct', 'epidemic'] as const) clean.push(await measure(n, mode, 0, SPARSE));
  const lossy: Outcome[] = [];
  for (const n of LOSSY_SIZES.filter((x) => sizes.includes(x))) for (const mode of ['direct', 'epidemic'] as const) lossy.push(await measure(n, mode, 0.05, SPARSE));
  const busy: Outcome[] = [];
  for (const n of BUSY_SIZES.filter((x) => sizes.includes(x))) for (const mode of ['direct', 'epidemic'] as const) busy.push(await measure(n, mode, 0, BUSY));
  const pair = (n: number, list: Outcome[]): [Outcome, Outcome] | undefined => {
    const d = list.find((o) => o.n === n && o.mode === 'direct');
    const e = list.find((o) => o.n === n && o.mode === 'epidemic');
    return d && e ? [d, e] : undefined;
  };
  const ratios = (list: Outcome[]): (string | number)[][] => sizes.map((n) => pair(n, list)).filter((p): p is [Outcome, Outcome] => p !== undefined).map(([d, e]) => [
    d.n, fmt(e.deltaBytes / d.deltaBytes, 2), fmt(e.wireBytes / d.wireBytes, 2), fmt(e.wireFrames / d.wireFrames, 2), `${d.maxFanout} → ${e.maxFanout}`, fmt(e.p50 / d.p50, 1), fmt(e.cpuMs / d.cpuMs, 2),
  ]);
  const RATIO_HEAD = ['n', 'delta bytes', 'wire bytes', 'frames', 'largest flush (msgs)', 'time to all nodes p50', 'CPU'];
  const markdown = [
    `*Sparse*: ${SPARSE.rounds} publishes of a ~60-byte payload, one every ${SPARSE.gapMs} ms from a random node; *busy*: ${BUSY.writers} random nodes publish one each every ${BUSY.gapMs} ms, ${BUSY.rounds} times; then ${TAIL_MS / 1000} s of tail; whole \`ClusterNode\`s (membership, batcher, Replicator) on \`MemoryNetwork\` in virtual time (lan profile, 1 ms links, 100 ms batch window). *direct*: \`directPushMax\` above n, every flush to every peer; *epidemic*: \`directPushMax\` 0, each flush to \`gossipFanout\` = 4 random peers, relayed once by each node it was new to. Per-publish figures are for the whole cluster (or divided by n); *repair*, *wire* and *CPU* are above an idle baseline of the same length measured just before (probes, acks, gossip, push-pull). *largest flush* is the most delta messages one node queued in one batch window (the writer's fan-out in direct mode). CPU is one thread simulating the whole cluster, so compare the two modes at the same n, not across machines.`,
    '',
    '### Sparse, no loss',
    '',
    table(HEAD, rows(clean)),
    '',
    '### Sparse, 5 % datagram loss',
    '',
    table(HEAD, rows(lossy)),
    '',
    `### Busy (${BUSY.writers * 1000 / BUSY.gapMs} publishes/s cluster-wide), no loss`,
    '',
    table(HEAD, rows(busy)),
    '',
    '### Epidemic relative to direct (sparse, no loss)',
    '',
    table(RATIO_HEAD, ratios(clean)),
    '',
    '### Epidemic relative to direct (busy, no loss)',
    '',
    table(RATIO_HEAD, ratios(busy)),
    '',
    `Ran ${fmt(elapsed(), 0)} s.`,
  ].join('\n');
  return { title: 'Replication crossover: direct push versus epidemic dissemination by cluster size', markdown };
}

runIfMain(import.meta.url, () => bench(process.argv[2] ? process.argv[2].split(',').map(Number) : SIZES));

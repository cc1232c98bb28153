/**
 * One ClusterNode in its own process, driven over IPC by bench/replication-udp.bench.ts
 * (the three-process throughput run). Not a benchmark by itself (no `.bench.ts` suffix).
 * Messages in: {join, seeds}, {run, target, seconds}, {count}, {close}. Out: {addr},
 * {joined}, {published, cpu}, {count, n, cpu}.
 */
import { ClusterNode } from '../lib/node.js';
import { NetTransport } from '../lib/transport/net.js';

const index = Number(process.env.REPL_NODE_INDEX ?? '1');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const send = (m: unknown): void => void process.send?.(m);
const cpuSeconds = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

const transport = await NetTransport.listen({ bind: `127.0.0.${index}:0` });
const node = new ClusterNode({ name: `proc-${index}`, transport, replica: { history: { defaultMaxEntries: 100_000 } } });
node.start();
let received = 0;
node.channelEvents.on('message', () => received++);
send({ type: 'addr', addr: transport.advertiseAddress });

async function run(target: number, seconds: number): Promise<void> {
  const slice = 10;
  const perSlice = Math.round((target * slice) / 1000);
  const payload = { text: 'a short chat message of about forty bytes' };
  const start = performance.now();
  let published = 0;
  for (let t = 0; t < seconds * 1000; t += slice) {
    const wait = start + t - performance.now();
    if (wait > 0) await sleep(wait);
    else await new Promise((r) => setImmediate(r));
    for (let k = 0; k < perSlice; k++) node.channels.publish(`tp-${(published + k) % 64}`, payload);
    published += perSlice;
  }
  send({ type: 'published', n: published, cpu: cpuSeconds() });
}

process.on('message', (m: { type: string; seeds?: string[]; target?: number; seconds?: number }) => {
  switch (m.type) {
    case 'join':
      void node.join(m.seeds ?? []).then(async () => {
        while (!(node.ready && node.members().filter((x) => x.state === 'alive').length === 3)) await sleep(5);
        send({ type: 'joined' });
      });
      return;
    case 'run':
      void run(m.target!, m.seconds!);
      return;
    case 'count':
      send({ type: 'count', n: received, cpu: cpuSeconds(), sessions: node.syncStatus().sessions, ...(process.env.BENCH_DEBUG ? { c: (node as unknown as { replicator: { counters: unknown } }).replicator.counters, s: node.stats() } : {}) });
      return;
    case 'close':
      void node.close().then(() => process.exit(0));
      return;
  }
});

/**
 * The source node of the two-process run of bench/replication-joiner.bench.ts: holds the
 * history in its own process, as a deployed peer would. Not a benchmark by itself (no
 * `.bench.ts` suffix). Env: JOINER_N, JOINER_CHANNELS. Messages out: {addr}, {cpu, digest};
 * in: {cpu}, {close}.
 */
import { ClusterNode } from '../lib/node.js';
import { NetTransport } from '../lib/transport/net.js';

const n = Number(process.env.JOINER_N ?? 1_000_000);
const channels = Number(process.env.JOINER_CHANNELS ?? 10_000);
const cpuSeconds = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
const transport = await NetTransport.listen({ bind: '127.0.0.1:0' });
const node = new ClusterNode({ name: 'joiner-source', transport, replica: { history: { defaultMaxEntries: 100 } } });
node.start();
await node.join([]);
for (let i = 0; i < n; i++) node.channels.publish(`ch-${i % channels}`, `message number ${i} with a little text`);
process.send?.({ type: 'addr', addr: transport.advertiseAddress });
process.on('message', (m: { type: string }) => {
  if (m.type === 'cpu') process.send?.({ type: 'cpu', cpu: cpuSeconds(), digest: node.syncStatus().digest });
  if (m.type === 'close') void node.close().then(() => process.exit(0));
});

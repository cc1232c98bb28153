import { ManualClock } from '../lib/clock.js';
import { ClusterNode } from '../lib/node.js';
import { Random } from '../lib/random.js';
import { MemoryNetwork } from '../lib/transport/memory.js';
async function run(clock: ManualClock, ms: number, step = 10) { for (let d = 0; d < ms; d += step) { clock.advance(step); await new Promise((r) => setImmediate(r)); } }
const addr = (i: number) => `127.0.0.${i + 1}:7946`;
const clock = new ManualClock();
const net = new MemoryNetwork({ clock, random: new Random(7), latencyMs: 1 });
const nodes = [0,1,2,3].map((i) => { const n = new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(i + 1) }); n.start(); return n; });
await nodes[0]!.join([]);
for (const n of nodes.slice(1)) void n.join([addr(0)]);
await run(clock, 3000);
net.partition([[addr(0), addr(1)], [addr(2), addr(3)]]);
nodes[1]!.channels.join('room', 'left-side', 'l');
nodes[3]!.channels.join('room', 'right-side', 'r');
for (const n of nodes) { n.membership.on('member-dead', (m) => console.log(clock.now(), n.name, 'dead', m.name)); n.channelEvents.on('client-leave', (e) => console.log(clock.now(), n.name, 'client-leave', e.clientId)); n.channelEvents.on('client-join', (e) => console.log(clock.now(), n.name, 'client-join', e.clientId, e.node)); }
await run(clock, 60_000);
console.log('epochs', nodes.map((n) => n.epoch));
net.heal();
await run(clock, 90_000);
console.log('epochs', nodes.map((n) => n.epoch), nodes.map(n => n.membership.incarnation));
for (const n of nodes) console.log(n.name, n.channels.presence('room').clients.map((c) => c.clientId + '@' + c.node), JSON.stringify(n.syncStatus()));
for (const n of nodes) await n.close();

/**
 * Connection-state recovery with 1,000 missed packets: the time from a client's
 * reconnection to the last missed packet delivered. clusterd's adapter across servers (the
 * client disconnects from server 1, a third server emits, it reconnects to server 2)
 * against Socket.IO's own in-memory recovery on one server (the same client, the same
 * packets, back on the same server), in one process, one run.
 * Standalone: `node --import=tsx bench/socket-io-recovery.bench.ts`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { ClusterNode } from '../lib/node.js';
import { NetTransport } from '../lib/transport/net.js';
import { createAdapter, recoveryHistory } from '../lib/socket.io/index.js';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';

const MISSED = 1000;
const ROUNDS = Number(process.env.BENCH_SIO_ROUNDS ?? 15);
const CSR = { maxDisconnectionDuration: 60_000 };

interface Served {
  io: Server;
  url: string;
  stop: () => Promise<void>;
}

async function serve(host: string, adapter: unknown): Promise<Served> {
  const http = createServer();
  const io = new Server(http, { ...(adapter ? { adapter: adapter as never } : {}), connectionStateRecovery: CSR });
  io.on('connection', (s) => {
    if (!s.recovered) void s.join('room');
  });
  await new Promise<void>((r) => http.listen(0, host, r));
  return { io, url: `http://${host}:${(http.address() as AddressInfo).port}`, stop: async () => void (await io.close()) };
}

async function clusterd(): Promise<{ servers: Served[]; stop: () => Promise<void> }> {
  const nodes: ClusterNode[] = [];
  const servers: Served[] = [];
  for (let i = 0; i < 3; i++) {
    const transport = await NetTransport.listen({ bind: `127.0.0.${71 + i}:0` });
    const node = new ClusterNode({
      name: `r${i}`,
      transport,
      messages: { flushDelayMs: 5 },
      replica: { history: { settingsFor: recoveryHistory({ maxDisconnectionDuration: CSR.maxDisconnectionDuration, maxPackets: 2 * MISSED }) } },
    });
    node.start();
    await node.join(i === 0 ? [] : [nodes[0]!.transport.advertiseAddress]);
    nodes.push(node);
    servers.push(await serve(`127.0.0.${71 + i}`, createAdapter(node)));
  }
  while (nodes.some((n) => n.messages.peers('socket.io').length < 2)) await new Promise((r) => setTimeout(r, 20));
  return {
    servers,
    stop: async () => {
      for (const s of servers) await s.stop();
      for (const n of nodes) await n.close();
    },
  };
}

/** One round: connected to `first`, cut off, `emitter` emits MISSED packets to the room, reconnect to `second`: ms to the last one. */
async function round(first: Served, emitter: Served, second: Served): Promise<number> {
  const c: ClientSocket = connect(first.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  let got = 0;
  c.on('ev', () => got++);
  await new Promise<void>((r) => c.once('connect', () => r()));
  await new Promise((r) => setTimeout(r, 30)); // its session reaches every server
  emitter.io.to('room').emit('ev', -1);
  while (got < 1) await new Promise((r) => setTimeout(r, 2));
  c.io.engine.close(); // "transport close": recoverable
  while (c.connected) await new Promise((r) => setTimeout(r, 2));
  for (let i = 0; i < MISSED; i++) emitter.io.to('room').emit('ev', i, 'x'.repeat(100));
  await new Promise((r) => setTimeout(r, 300)); // the packets are replicated (not what is measured)
  (c.io as unknown as { uri: string }).uri = second.url;
  const t0 = performance.now();
  c.connect();
  while (got < MISSED + 1) {
    if (performance.now() - t0 > 10_000) throw new Error(`only ${got - 1} of ${MISSED} missed packets (recovered: ${c.recovered})`);
    await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - t0;
  if (!c.recovered) throw new Error('not recovered');
  c.disconnect();
  return ms;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export default async function bench(): Promise<BenchResult> {
  const rows: (string | number)[][] = [];
  const base: number[] = [];
  const one = await serve('127.0.0.74', undefined);
  for (let i = 0; i < ROUNDS; i++) base.push(await round(one, one, one));
  await one.stop();
  const c = await clusterd();
  const across: number[] = [];
  const [s0, s1, s2] = c.servers as [Served, Served, Served];
  for (let i = 0; i < ROUNDS; i++) across.push(await round(s0, s2, s1));
  await c.stop();
  rows.push(['Socket.IO in-memory, same server', pct(base, 50).toFixed(1), pct(base, 99).toFixed(1), '1.00×']);
  rows.push(['clusterd, to another server', pct(across, 50).toFixed(1), pct(across, 99).toFixed(1), `${(pct(across, 50) / pct(base, 50)).toFixed(2)}×`]);
  return {
    title: 'Socket.IO connection-state recovery: 1,000 missed packets',
    markdown: [
      `Time from the client's reconnection (\`socket.connect()\`) to the last of ${MISSED} missed room packets (about 120 bytes each) delivered, ${ROUNDS} rounds each, one process: Socket.IO's own in-memory recovery back on the same server, against clusterd's adapter with the client moved to another of 3 servers (\`flushDelayMs: 5\`). Both include the WebSocket handshake.`,
      '',
      table(['recovery', 'p50 ms', 'p99 ms', 'p50 vs in-memory'], rows),
    ].join('\n'),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await bench()).markdown);

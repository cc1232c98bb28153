/**
 * Socket.IO room broadcasts across 3 servers with 300 clients: clusterd's adapter (default
 * 100 ms window, and `flushDelayMs: 5`) against @socket.io/redis-adapter on a real Redis
 * started here (skipped, saying so, when redis-server is missing). Servers, clients and
 * adapters share this one process (one thread), so the ratios are what compare.
 * Standalone: `node --import=tsx bench/socket-io.bench.ts`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { ClusterNode } from '../lib/node.js';
import { NetTransport } from '../lib/transport/net.js';
import { createAdapter } from '../lib/socket.io/index.js';
import type { BenchResult } from './harness.js';
import { rate, table } from './harness.js';

const SERVERS = 3;
const CLIENTS = 300;
const ROOMS = 10;
const LATENCY_SECONDS = Number(process.env.BENCH_SIO_SECONDS ?? 5);
const LATENCY_RATE = 100; // room broadcasts per second, all servers together
const BURST = 1000; // room broadcasts per server in the throughput phase

interface Setup {
  label: string;
  servers: Server[];
  stop: () => Promise<void>;
}

type AdapterFactory = (i: number) => Promise<{ adapter: unknown; stop: () => Promise<void> }>;

async function startServers(label: string, factory: AdapterFactory): Promise<Setup & { urls: string[] }> {
  const servers: Server[] = [];
  const urls: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  for (let i = 0; i < SERVERS; i++) {
    const { adapter, stop } = await factory(i);
    const http = createServer();
    const io = new Server(http, { adapter: adapter as never });
    await new Promise<void>((r) => http.listen(0, `127.0.0.${i + 61}`, r));
    urls.push(`http://127.0.0.${i + 61}:${(http.address() as AddressInfo).port}`);
    io.on('connection', (socket) => {
      void socket.join(`room-${String(socket.handshake.auth.room)}`);
    });
    servers.push(io);
    stops.push(async () => {
      await io.close();
      await stop();
    });
  }
  return { label, servers, urls, stop: async () => { for (const s of stops) await s(); } };
}

async function clusterdSetup(label: string, flushDelayMs: number | undefined): Promise<Setup & { urls: string[] }> {
  const nodes: ClusterNode[] = [];
  const setup = await startServers(label, async (i) => {
    const transport = await NetTransport.listen({ bind: `127.0.0.${i + 61}:0` });
    const node = new ClusterNode({ name: `sio-${i}`, transport, ...(flushDelayMs === undefined ? {} : { messages: { flushDelayMs } }) });
    node.start();
    await node.join(i === 0 ? [] : [nodes[0]!.transport.advertiseAddress]);
    nodes.push(node);
    return { adapter: createAdapter(node), stop: () => node.close() };
  });
  const deadline = Date.now() + 20_000;
  while (!nodes.every((n) => n.messages.peers('socket.io').length === SERVERS - 1)) {
    if (Date.now() > deadline) throw new Error('the clusterd nodes did not converge');
    await new Promise((r) => setTimeout(r, 50));
  }
  return setup;
}

async function redisSetup(port: number): Promise<Setup & { urls: string[] }> {
  return startServers('@socket.io/redis-adapter 8.3 + Redis', async () => {
    const pub = createClient({ url: `redis://127.0.0.1:${port}` });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    return { adapter: createRedisAdapter(pub, sub), stop: async () => { await Promise.all([pub.quit(), sub.quit()]); } };
  });
}

async function startRedis(): Promise<{ port: number; proc: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const port = 16379 + Math.floor(Math.random() * 1000);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const c = createClient({ url: `redis://127.0.0.1:${port}` });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.quit();
      return { port, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  proc.kill();
  throw new Error('redis-server did not start');
}

interface Measured { deliveriesPerSecond: number; p50: number; p99: number; remote: number; cpuPercent: number }

async function measure(setup: Setup & { urls: string[] }): Promise<Measured> {
  const clients: ClientSocket[] = [];
  const latencies: number[] = [];
  let delivered = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const server = i % SERVERS;
    const c = connect(setup.urls[server]!, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { room: i % ROOMS } });
    c.on('m', (origin: number, sent: number) => {
      delivered++;
      if (origin !== server) latencies.push(performance.now() - sent);
    });
    clients.push(c);
  }
  await Promise.all(clients.map((c) => new Promise<void>((r) => (c.connected ? r() : c.once('connect', () => r())))));
  await new Promise((r) => setTimeout(r, 500));
  try {
    // latency at a steady rate
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < LATENCY_SECONDS * 1000) {
      const s = n % SERVERS;
      setup.servers[s]!.to(`room-${n % ROOMS}`).emit('m', s, performance.now());
      n++;
      await new Promise((r) => setTimeout(r, 1000 / LATENCY_RATE));
    }
    await new Promise((r) => setTimeout(r, 500));
    const cpu = process.cpuUsage(cpu0);
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - started)) * 100;
    latencies.sort((a, b) => a - b);
    const pick = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const result = { p50: pick(0.5), p99: pick(0.99), remote: latencies.length, cpuPercent };
    // throughput: bursts from every server, until every delivery arrived
    delivered = 0;
    const expected = SERVERS * BURST * (CLIENTS / ROOMS);
    const t0 = performance.now();
    for (let k = 0; k < BURST; k++) for (let s = 0; s < SERVERS; s++) setup.servers[s]!.to(`room-${k % ROOMS}`).emit('m', s, 0);
    const deadline = Date.now() + 60_000;
    while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    if (delivered < expected) throw new Error(`${setup.label}: ${delivered} of ${expected} deliveries in 60 s`);
    return { ...result, deliveriesPerSecond: expected / seconds };
  } finally {
    for (const c of clients) c.disconnect();
  }
}

export default async function bench(): Promise<BenchResult> {
  const rows: (string | number)[][] = [];
  const results: { label: string; m: Measured }[] = [];
  const redis = await startRedis();
  try {
    const setups: (() => Promise<Setup & { urls: string[] }>)[] = [];
    if (redis) setups.push(() => redisSetup(redis.port));
    setups.push(() => clusterdSetup('clusterd, default 100 ms window', undefined));
    setups.push(() => clusterdSetup('clusterd, flushDelayMs 5', 5));
    for (const make of setups) {
      const setup = await make();
      try {
        results.push({ label: setup.label, m: await measure(setup) });
      } finally {
        await setup.stop();
      }
    }
  } finally {
    redis?.proc.kill();
  }
  const base = results.find((r) => r.label.startsWith('@socket.io'))?.m.deliveriesPerSecond;
  for (const { label, m } of results) {
    rows.push([label, rate(m.deliveriesPerSecond), base ? `${(m.deliveriesPerSecond / base).toFixed(2)}×` : 'n/a', m.p50.toFixed(1), m.p99.toFixed(1), rate(m.remote), `${Math.round(m.cpuPercent)} %`]);
  }
  const markdown = [
    `${SERVERS} Socket.IO servers on 127.0.0.61–63, ${CLIENTS} socket.io-client clients (websocket) spread over them, each in one of ${ROOMS} rooms, all in one process (so one thread carries servers, clients and adapters alike: compare the ratios). Throughput: ${rate(BURST)} room broadcasts from each server at once, timed until all ${rate(SERVERS * BURST * (CLIENTS / ROOMS))} client deliveries arrived. Latency: ${LATENCY_RATE} room broadcasts/s for ${LATENCY_SECONDS} s, emit to receipt, for clients on the other servers; CPU is the process's during that phase.`,
    redis ? '' : '\n**Redis adapter skipped: redis-server is not installed** (Debian: `apt-get install redis-server`).\n',
    table(['adapter', 'deliveries/s', 'vs Redis', 'p50 ms', 'p99 ms', 'remote deliveries timed', 'CPU'], rows),
  ].join('\n\n');
  return { title: 'Socket.IO adapter: room broadcasts across 3 servers, against the Redis adapter', markdown };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await bench();
  console.log(r.markdown);
}

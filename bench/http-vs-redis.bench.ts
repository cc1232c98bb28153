/**
 * The agent's HTTP publish beside Redis, in one run (issue 18): Redis from Debian's
 * `redis-server`, started here on a loopback port, with RPUSH + LTRIM + PUBLISH per
 * message (bench/redis-load.ts, ioredis); three agents (lan profile, replicating every
 * publish to the two others) loaded by autocannon (bench/autocannon-load.ts), one
 * request in flight per connection, single publish and batches of 100. Each load runs
 * in its own process. Skipped, saying so, when redis-server is not installed.
 * Standalone: `node --import=tsx bench/http-vs-redis.bench.ts`.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { rate, table } from './harness.js';
import { cpuSeconds, startCluster } from './http-cluster.js';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 8);
const CONNECTIONS = 16;
const BATCH = 100;
const REDIS_HOST = '127.0.0.70';

interface Load { rate: number; p50: number; p99: number; errors: number; non2xx?: number; total?: number; warmup?: number }

function child(script: string, args: string[]): Promise<Load> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import=tsx', path, ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Load);
    });
  });
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('which', [cmd], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on REDIS_HOST (no persistence); resolves with its port and a stop function. */
async function startRedis(bin: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort(REDIS_HOST);
  const proc = spawn(bin, ['--bind', REDIS_HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
  });
  proc.stdout!.resume();
  return { port, stop: () => new Promise((r) => {
    proc.once('exit', () => r());
    proc.kill('SIGKILL');
  }) };
}

export default async function bench(): Promise<BenchResult> {
  const title = 'HTTP and WebSocket publish beside Redis (3 agents, 16 connections)';
  const redisBin = which('redis-server');
  if (!redisBin) {
    const msg = 'SKIPPED: redis-server is not installed (Debian: apt-get install redis-server), and this benchmark is only meaningful beside it.';
    console.error(`http-vs-redis: ${msg}`);
    return { title, markdown: msg };
  }
  const load = loadavg()[0]!.toFixed(1);
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-vs-redis-'));
  const redis = await startRedis(redisBin);
  const { agents, stop } = await startCluster(3, 71);
  try {
    const message = { data: { user: 'bench', text: 'hello from the load generator', n: 0 } };
    const single = join(dir, 'single.json');
    writeFileSync(single, JSON.stringify(message));
    const batch = join(dir, 'batch.json');
    writeFileSync(batch, JSON.stringify({ messages: Array.from({ length: BATCH }, () => ({ channel: 'bench', ...message })) }));
    const target = agents[0]!;
    const cpu = (): number[] => agents.map((a) => cpuSeconds(a.proc.pid!));

    const r = await child('./redis-load.ts', [REDIS_HOST, String(redis.port), String(CONNECTIONS), String(SECONDS)]);
    const cpu0 = cpu();
    const h = await child('./autocannon-load.ts', [`http://${target.http}/v1/channels/bench/messages`, String(CONNECTIONS), String(SECONDS + 1), single]);
    const cpu1 = cpu();
    const b = await child('./autocannon-load.ts', [`http://${target.http}/v1/messages`, String(CONNECTIONS), String(SECONDS + 1), batch]);
    const cpu2 = cpu();
    const ws1 = await child('./ws-load.ts', [`ws://${target.http}/v2/ws`, String(CONNECTIONS), '1', String(SECONDS)]);
    const cpu3 = cpu();
    const ws64 = await child('./ws-load.ts', [`ws://${target.http}/v2/ws`, String(CONNECTIONS), '64', String(SECONDS)]);
    const cpu4 = cpu();
    const wsMp = await child('./ws-load.ts', [`ws://${target.http}/v2/ws`, String(CONNECTIONS), '64', String(SECONDS), 'msgpack']);
    const cpu5 = cpu();
    const pct = (a: number[], z: number[], i: number): string => `${Math.round(((z[i]! - a[i]!) / (SECONDS + 2)) * 100)} %`;
    // CPU per message on the agent taking the load, warm-up included: unlike the rates,
    // it hardly moves when other processes compete for the cores
    const perMessage = (a: number[], z: number[], l: Load, per: number): string => `${Math.round(((z[0]! - a[0]!) * 1e6) / (((l.total ?? 0) + (l.warmup ?? 0)) * per))}`;
    // replicated: the third agent holds the channel too (history keeps the newest 100)
    const held = (await (await fetch(`http://${agents[2]!.http}/v1/channels`)).json()) as { channels: { channel: string; messages: number }[] };
    const onN3 = held.channels.find((c) => c.channel === 'bench')?.messages ?? 0;
    const ratio = h.rate / r.rate;
    const batchRate = b.rate * BATCH;
    const rows = [
      ['Redis: RPUSH + LTRIM + PUBLISH per message (pipelined, ioredis)', rate(r.rate), r.p50.toFixed(2), r.p99.toFixed(2), r.errors, '1.00', '-', '-', '-'],
      ['clusterd: POST /v1/channels/bench/messages', rate(h.rate), h.p50.toFixed(0), h.p99.toFixed(0), h.errors + (h.non2xx ?? 0), ratio.toFixed(2), pct(cpu0, cpu1, 0), pct(cpu0, cpu1, 1), perMessage(cpu0, cpu1, h, 1)],
      [`clusterd: POST /v1/messages, ${BATCH} per request`, rate(batchRate), b.p50.toFixed(0), b.p99.toFixed(0), b.errors + (b.non2xx ?? 0), (batchRate / r.rate).toFixed(2), pct(cpu1, cpu2, 0), pct(cpu1, cpu2, 1), perMessage(cpu1, cpu2, b, BATCH)],
      ['clusterd: /v2/ws publish, 1 in flight per connection', rate(ws1.rate), ws1.p50.toFixed(2), ws1.p99.toFixed(2), ws1.errors, (ws1.rate / r.rate).toFixed(2), pct(cpu2, cpu3, 0), pct(cpu2, cpu3, 1), perMessage(cpu2, cpu3, ws1, 1)],
      ['clusterd: /v2/ws publish, 64 in flight per connection', rate(ws64.rate), ws64.p50.toFixed(2), ws64.p99.toFixed(2), ws64.errors, (ws64.rate / r.rate).toFixed(2), pct(cpu3, cpu4, 0), pct(cpu3, cpu4, 1), perMessage(cpu3, cpu4, ws64, 1)],
      ['clusterd: /v2/ws publish, 64 in flight, msgpack frames (clusterd.v2.msgpack)', rate(wsMp.rate), wsMp.p50.toFixed(2), wsMp.p99.toFixed(2), wsMp.errors, (wsMp.rate / r.rate).toFixed(2), pct(cpu4, cpu5, 0), pct(cpu4, cpu5, 1), perMessage(cpu4, cpu5, wsMp, 1)],
    ];
    return {
      title,
      markdown: [
        `Same run, same machine: \`redis-server\` (no persistence) on ${REDIS_HOST}, and three agent processes (lan profile, esbuild bundle) on 127.0.0.71–73, each publish replicated to the two others. Load from separate processes, ${CONNECTIONS} keep-alive connections with one request in flight each, ${SECONDS} s after 1 s of warm-up; messages are ~80 bytes of JSON. Redis load: ioredis, one pipelined RPUSH + LTRIM (newest 100) + PUBLISH per message; HTTP load: autocannon (its latency resolution is 1 ms); WebSocket load: bench/ws-load.ts (ws), JSON publish frames on \`/v2/ws\` (msgpack frames in the last row), the next sent as each ack arrives. Rates are messages/s, latency ms as the client saw it. The machine's load average when the run began: ${load} (other work shares the CPUs: compare within the table).`,
        '',
        table(['path', 'messages/s', 'p50', 'p99', 'errors', '× Redis', 'CPU n1', 'CPU n2', 'n1 CPU µs/message'], rows),
        '',
        `After the run n3, which took no load, held ${onN3} entries of the channel (its history cap is 100). CPU is each agent's over the row (user + system, % of one core). Goals (issue 18): single publish ≥ 0.25× Redis with p99 ≤ 5 ms: ${ratio >= 0.25 && h.p99 <= 5 ? 'PASS' : 'FAIL'} (${ratio.toFixed(2)}×, p99 ${h.p99} ms); batch of ${BATCH} ≥ 100,000 messages/s: ${batchRate >= 100_000 ? 'PASS' : 'FAIL'} (${rate(batchRate)}/s); WebSocket, 1 in flight ≥ 1× Redis: ${ws1.rate >= r.rate ? 'PASS' : 'FAIL'} (${(ws1.rate / r.rate).toFixed(2)}×); 64 in flight ≥ 100,000/s: ${ws64.rate >= 100_000 ? 'PASS' : 'FAIL'} (${rate(ws64.rate)}/s).`,
      ].join('\n'),
    };
  } finally {
    await stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);

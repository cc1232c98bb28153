/**
 * The flight recorder's cost (decision 0060): heap of a full ring, and the CPU and memory
 * of idle agents with it on beside agents with it off (`--flight-recorder false`), in the
 * same run. Three agents of each kind on 127.0.0.61–66, lan profile, from dist/ (run
 * `npm run build` first). Standalone: `node --expose-gc --import=tsx
 * bench/flight-recorder.bench.ts` (without --expose-gc it re-runs itself for the heap part).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';
import { FlightRecorder, RECORDER_CAPACITY } from '../lib/daemon/flight-recorder.js';
import { fmt, runIfMain, stopwatch, verdict } from '../simulations/report.js';

const IDLE_MS = Number(process.env.RECORDER_BENCH_IDLE_MS ?? 60_000);
const WARM_MS = 10_000;
const ROUNDS = Number(process.env.RECORDER_BENCH_ROUNDS ?? 2);

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap of a full ring (probe records, the most common kind, over 20 members), wrapped once. */
function ringHeap(): { bytesPerRecord: number; fullMiB: number } {
  const names = Array.from({ length: 20 }, (_, i) => `node-${i}`);
  const base = heap();
  const rec = new FlightRecorder();
  for (let i = 0; i < RECORDER_CAPACITY * 2; i++) {
    rec.add({ kind: 'probe', member: names[i % names.length]!, outcome: i % 7 === 0 ? 'timeout' : 'ack', rttMs: i % 7 === 0 ? null : 0.1 + (i % 13) / 100, helpers: i % 7 === 0 ? 3 : 0, nacks: 0 });
  }
  const bytes = heap() - base;
  if (rec.page(0, 1).first !== RECORDER_CAPACITY) throw new Error('not wrapped');
  return { bytesPerRecord: bytes / RECORDER_CAPACITY, fullMiB: bytes / 1024 / 1024 };
}

/** CPU ticks (user + system) and RSS of a process, from /proc. */
function usage(pid: number): { cpuMs: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 (utime, stime) are the 12th and 13th after the command name; 100 ticks/s on Linux
  const cpuMs = (Number(f[11]) + Number(f[12])) * 10;
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs, rssKiB: Number(rss?.[1] ?? 0) };
}

interface Idle {
  on: { cpuPct: number; rssMiB: number };
  off: { cpuPct: number; rssMiB: number };
}

async function idleRound(round: number): Promise<Idle> {
  const bin = fileURLToPath(new URL('../dist/bin/clusterd.js', import.meta.url));
  if (!existsSync(bin)) throw new Error('dist/bin/clusterd.js is missing: run npm run build first');
  const tmp = mkdtempSync(join(tmpdir(), 'clusterd-recorder-bench-'));
  const procs: { on: boolean; proc: ChildProcess }[] = [];
  try {
    const start = (name: string, ip: string, on: boolean, seed?: string): Promise<string> => {
      const args = [bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', join(tmp, name), '--profile', 'lan', '--log-format', 'json', '--flight-recorder', String(on), '--label', on ? 'on' : 'off'];
      if (seed) args.push('--join', seed);
      const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      procs.push({ on, proc });
      return new Promise((resolve) => createInterface({ input: proc.stdout! }).on('line', (l) => {
        try {
          const e = JSON.parse(l) as { event?: string; address?: string };
          if (e.event === 'started') resolve(String(e.address));
        } catch {
          // not a log line
        }
      }));
    };
    // alternate which kind starts first between rounds
    for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
      const ips = on ? ['127.0.0.61', '127.0.0.62', '127.0.0.63'] : ['127.0.0.64', '127.0.0.65', '127.0.0.66'];
      const seed = await start(`${on ? 'on' : 'off'}-0`, ips[0]!, on);
      await Promise.all([start(`${on ? 'on' : 'off'}-1`, ips[1]!, on, seed), start(`${on ? 'on' : 'off'}-2`, ips[2]!, on, seed)]);
    }
    await new Promise((r) => setTimeout(r, WARM_MS));
    const before = procs.map((p) => usage(p.proc.pid!));
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const after = procs.map((p) => usage(p.proc.pid!));
    const pick = (on: boolean): { cpuPct: number; rssMiB: number } => {
      const idx = procs.map((p, i) => (p.on === on ? i : -1)).filter((i) => i >= 0);
      const cpu = idx.reduce((s, i) => s + after[i]!.cpuMs - before[i]!.cpuMs, 0) / idx.length;
      const rss = idx.reduce((s, i) => s + after[i]!.rssKiB, 0) / idx.length;
      return { cpuPct: (cpu / IDLE_MS) * 100, rssMiB: rss / 1024 };
    };
    return { on: pick(true), off: pick(false) };
  } finally {
    for (const p of procs) p.proc.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

export default async function flightRecorder(): Promise<BenchResult> {
  const elapsed = stopwatch();
  const ring = typeof (globalThis as { gc?: unknown }).gc === 'function'
    ? ringHeap()
    : (JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import=tsx', fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8' })) as ReturnType<typeof ringHeap>);
  const rounds: Idle[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await idleRound(r));
  const rows = rounds.map((r, i) => [String(i + 1), fmt(r.on.cpuPct, 3), fmt(r.off.cpuPct, 3), fmt(r.on.cpuPct - r.off.cpuPct, 3), fmt(r.on.rssMiB, 1), fmt(r.off.rssMiB, 1), fmt(r.on.rssMiB - r.off.rssMiB, 1)]);
  const dCpu = rounds.reduce((s, r) => s + r.on.cpuPct - r.off.cpuPct, 0) / rounds.length;
  const markdown = [
    `Heap of a full ring of ${RECORDER_CAPACITY} records (probe verdicts over 20 members, wrapped once), by \`global.gc()\` before and after: ${fmt(ring.bytesPerRecord, 0)} bytes a record, ${fmt(ring.fullMiB, 2)} MiB in all.`,
    '',
    `Idle agents, side by side in the same run: three agents with the recorder (127.0.0.61–63) and three with \`--flight-recorder false\` (127.0.0.64–66), two separate 3-node clusters, lan profile, from dist/; CPU (user + system from /proc, 10 ms ticks) over ${IDLE_MS / 1000} s after ${WARM_MS / 1000} s of warm-up, mean per agent; RSS at the end, mean per agent.`,
    '',
    table(['round', 'CPU % on', 'CPU % off', 'Δ CPU %', 'RSS MiB on', 'RSS MiB off', 'Δ RSS MiB'], rows),
    '',
    `Goals: ≤ 0.1 % CPU → mean Δ ${fmt(dCpu, 3)} % ${verdict(dCpu <= 0.1)} (within the 10 ms tick resolution: ${fmt((10 / IDLE_MS) * 100, 3)} % per tick); ≤ 2 MiB per agent → the full ring's heap ${fmt(ring.fullMiB, 2)} MiB ${verdict(ring.fullMiB <= 2)} (RSS differences between processes are mostly allocator noise, shown for honesty).`,
    '',
    `Wall time: ${fmt(elapsed(), 1)} s.`,
  ].join('\n');
  return { title: 'Flight recorder: heap and idle cost', markdown };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(ringHeap()));
} else {
  runIfMain(import.meta.url, flightRecorder);
}

/**
 * Spawn → `/v1/health`: how long `clusterd agent` takes from the spawn of its process to
 * its first 200 on /v1/health, median of 10 spawns, for what `npm start` runs
 * (dist/bin/clusterd.js, one esbuild bundle: decision 0052) beside two baselines
 * measured in the same run: a bare Node process answering HTTP (the floor no agent can go
 * under) and the same entry unbundled (dist/lib/ one module per file, as before). Standalone:
 * `node --import=tsx bench/agent-start.bench.ts`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPAWNS = Number(process.env.BENCH_START_SPAWNS ?? 10);
const HOST = '127.0.0.61';
const GOAL_MS = 300;

/** A port free on HOST now (the agent binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** One GET /v1/health; resolves with the status, or 0 when nothing listens yet. */
function health(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: HOST, port, path: '/v1/health', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** CPU time (user + system) a process has used, ms (from /proc: 10 ms ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Spawns `args` (node arguments, with {PORT} and {DIR} filled in) and polls health every
 * 2 ms; returns ms from spawn to the first 200, and the CPU the process used until then.
 */
export async function spawnToHealth(args: string[]): Promise<{ ms: number; cpuMs: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-start-'));
  const started = performance.now();
  const proc = spawn(process.execPath, args.map((a) => a.replace('{PORT}', String(port)).replace('{DIR}', dir)), { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  proc.once('exit', () => (exited = true));
  try {
    for (;;) {
      if ((await health(port)) === 200) return { ms: performance.now() - started, cpuMs: cpuMs(proc.pid!) };
      if (exited) throw new Error(`${args.join(' ')} exited before answering /v1/health`);
      if (performance.now() - started > 20_000) throw new Error(`${args.join(' ')}: no /v1/health after 20 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await new Promise((r) => {
      if (exited) return r(undefined);
      proc.once('exit', r);
      proc.kill('SIGKILL');
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export default async function bench(): Promise<BenchResult> {
  const load = loadavg()[0]!.toFixed(1);
  const agentArgs = ['agent', '--bind', `${HOST}:0`, '--http', `${HOST}:{PORT}`, '--data-dir', '{DIR}', '--log-format', 'json'];
  const floor = `require('node:http').createServer((q, s) => s.end('{}')).listen({PORT}, '${HOST}')`;
  const variants: [string, string[]][] = [['bare Node answering HTTP (floor)', ['-e', floor]]];
  const entry = join(root, 'dist', 'bin', 'clusterd.js');
  if (!existsSync(entry)) throw new Error('dist/bin/clusterd.js is missing: run npm run build first');
  variants.push(['`npm start`: dist/bin/clusterd.js', [entry, ...agentArgs]]);
  // the same entry unbundled: bin/clusterd.ts transpiled alone, importing dist/lib/ one
  // module per file and the packages from node_modules, as the build shipped before
  const unbundled = join(root, 'dist', 'bin', 'clusterd-unbundled.js');
  execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), [join(root, 'bin', 'clusterd.ts'), '--platform=node', '--format=esm', `--outfile=${unbundled}`, '--log-level=error']);
  variants.push(['the same, unbundled (dist/lib/ one module per file)', [unbundled, ...agentArgs]]);
  const samples = variants.map(() => [] as { ms: number; cpuMs: number }[]);
  // interleaved, so that a burst of load on the machine falls on every variant alike
  for (let i = 0; i < SPAWNS; i++) {
    for (const [v, [, args]] of variants.entries()) samples[v]!.push(await spawnToHealth(args));
  }
  const rows = variants.map(([label], v) => {
    const xs = samples[v]!.map((x) => x.ms);
    return [label, median(xs).toFixed(0), Math.min(...xs).toFixed(0), Math.max(...xs).toFixed(0), median(samples[v]!.map((x) => x.cpuMs)).toFixed(0)];
  });
  const agentMedian = median(samples[1]!.map((x) => x.ms));
  const floorMedian = median(samples[0]!.map((x) => x.ms));
  const unbundledMedian = median(samples[2]!.map((x) => x.ms));
  return {
    title: 'Agent start: spawn to /v1/health',
    markdown: [
      `Time from spawning \`node … agent\` (fresh data dir, ${HOST}, JSON logs) to its first 200 on \`/v1/health\`, polled every 2 ms; ${SPAWNS} spawns of each, interleaved; ms. The machine's load average when the run began: ${load} (other work shares the CPUs: compare within the table).`,
      '',
      table(['process', 'median', 'min', 'max', 'CPU until health (median)'], rows),
      '',
      `\`npm start\`'s agent: median ${agentMedian.toFixed(0)} ms (goal ≤ ${GOAL_MS} ms: ${agentMedian <= GOAL_MS ? 'PASS' : 'FAIL'}), ${(agentMedian / unbundledMedian).toFixed(2)}× the unbundled build, ${(agentMedian - floorMedian).toFixed(0)} ms above a bare Node process answering HTTP in the same run (the floor, which moves with the load on the machine: the CPU column does not).`,
    ].join('\n'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);

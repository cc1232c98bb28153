/**
 * Shared by the http-* benchmarks: bundles the agent once with esbuild (so measurements
 * are of plain JavaScript, not of the tsx loader), starts N agent processes on
 * 127.0.0.x and reads their CPU time and RSS from /proc.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// inside the checkout, not node_modules: worktrees may share one node_modules, and a
// bench in one must not run another's bundle (packages still resolve from the root)
const outDir = join(root, '.scratch', 'clusterd-bench');

/** Bundles bin/clusterd.ts to one ESM file (dependencies stay external) and returns its path. */
export function bundleAgent(): string {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'clusterd.mjs');
  execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), [join(root, 'bin', 'clusterd.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${out}`, '--log-level=error'], { stdio: 'inherit' });
  return out;
}

export interface BenchAgent {
  name: string;
  proc: ChildProcess;
  http: string;
  events: Record<string, unknown>[];
}

/**
 * Starts `n` agents on 127.0.0.<base+i>, the first as the seed; resolves once all answer
 * /v1/health ready. `extra` are agent arguments, `nodeArgs` options of node itself
 * (before the script), the same for every agent or per agent (given its IP address).
 */
export async function startCluster(n: number, base: number, extra: string[] = [], nodeArgs: string[] | ((ip: string) => string[]) = []): Promise<{ agents: BenchAgent[]; stop: () => Promise<void> }> {
  const script = bundleAgent();
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-bench-'));
  const agents: BenchAgent[] = [];
  const launch = (i: number, join?: string): Promise<{ agent: BenchAgent; address: string }> => {
    const ip = `127.0.0.${base + i}`;
    const args = [...(typeof nodeArgs === 'function' ? nodeArgs(ip) : nodeArgs), script, 'agent', '--name', `n${i + 1}`, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', `${dir}/n${i + 1}`, '--log-format', 'json', ...extra];
    if (join) args.push('--join', join);
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const events: Record<string, unknown>[] = [];
    return new Promise((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          if (e.event !== 'started' && e.event !== 'member-join') events.push(e);
          if (e.event === 'started') {
            const agent = { name: `n${i + 1}`, proc, http: String(e.http), events };
            agents.push(agent);
            resolve({ agent, address: String(e.address) });
          }
        } catch {
          // not a log line
        }
      });
      proc.once('exit', (code) => reject(new Error(`agent n${i + 1} exited with ${code}`)));
    });
  };
  const seed = await launch(0);
  await Promise.all(Array.from({ length: n - 1 }, (_, i) => launch(i + 1, seed.address)));
  const deadline = Date.now() + 30_000;
  for (const a of agents) {
    for (;;) {
      const h = (await (await fetch(`http://${a.http}/v1/health`)).json()) as { ready: boolean };
      const m = (await (await fetch(`http://${a.http}/v1/members`)).json()) as { members: { state: string }[] };
      if (h.ready && m.members.filter((x) => x.state === 'alive').length === n) break;
      if (Date.now() > deadline) throw new Error(`${a.name} not ready`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    agents,
    stop: async () => {
      await Promise.all(agents.map((a) => new Promise((r) => {
        a.proc.once('exit', r);
        a.proc.kill('SIGKILL');
      })));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) of a process, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process, bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Suspicions reported by any agent (member-suspect / member-dead log events). */
export function suspicions(agents: BenchAgent[]): number {
  return agents.reduce((a, x) => a + x.events.filter((e) => e.event === 'member-suspect' || e.event === 'member-dead').length, 0);
}

export const MiB = 1024 * 1024;

/**
 * One real `clusterd agent` process of the real-process runner: spawned from the built
 * CLI (`node dist/bin/clusterd.js agent`), on its own loopback host, with fault
 * injection enabled, its own data dir, and its log in a file. Every process spawned
 * here is registered until it exits, so {@link killAllAgents} (called on exit, SIGINT
 * and SIGTERM by the runner) leaves none behind; each child also kills itself when the
 * runner's process disappears (a closed stdin pipe or a new parent pid), which covers
 * the runner being SIGKILLed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../lib/client/api-client.js';

/**
 * Preloaded into every agent (`--import data:...`): the agent dies with its runner. The
 * stdin pipe's end means the runner is gone; the parent pid check covers a pipe held
 * open by a grandchild. Both are unref'd so they never keep an agent alive.
 */
const GUARD = [
  'const p=process.ppid;const die=()=>process.kill(process.pid,"SIGKILL");',
  'process.stdin.on("end",die);process.stdin.on("error",die);process.stdin.resume();process.stdin.unref?.();',
  'setInterval(()=>{if(process.ppid!==p)die()},500).unref();',
].join('');

const live = new Set<ChildProcess>();

/** SIGKILLs every agent process still running (synchronous: safe in an `exit` handler). */
export function killAllAgents(): number {
  let n = 0;
  for (const p of live) {
    if (p.exitCode === null && p.signalCode === null) {
      try {
        p.kill('SIGKILL');
        n++;
      } catch {
        // already gone
      }
    }
  }
  return n;
}

/** Resolves once every agent process has exited (and been reaped), or after `timeoutMs`. */
export async function agentsGone(timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (live.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  return live.size === 0;
}

/** Agent processes spawned and not yet seen exiting. */
export function liveAgentCount(): number {
  return live.size;
}

/** True when a process with this pid still exists (a zombie not yet reaped counts as gone only once reaped). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The repository root: where `dist/bin/clusterd.js` is looked for. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'simulations'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** What to start. */
export interface AgentSpawn {
  /** Node name (`n3`). */
  name: string;
  /** Its own loopback host. */
  host: string;
  dataDir: string;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** Timing profile. */
  profile: string;
  /** Roles to advertise. @default [] */
  roles?: string[];
  /** The built CLI. @default <repo>/dist/bin/clusterd.js */
  cli?: string;
  /** Give up when the agent has not logged `started` within this long. @default 60000 */
  startTimeoutMs?: number;
}

/** A running agent process. */
export class AgentProcess {
  /** Advertised gossip address (`host:port`). */
  gossip = '';
  /** HTTP API address (`host:port`). */
  http = '';
  readonly exited: Promise<number | null>;
  private sse: AbortController | undefined;

  private constructor(
    readonly spec: AgentSpawn,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
      else proc.once('exit', (code) => resolve(code));
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Spawns the agent and resolves once it logged `started` (its sockets and API are bound). */
  static start(spec: AgentSpawn): Promise<AgentProcess> {
    const cli = spec.cli ?? join(repoRoot(), 'dist', 'bin', 'clusterd.js');
    if (!existsSync(cli)) return Promise.reject(new Error(`${cli} does not exist: run "npm run build" first (--real spawns the built agent)`));
    const args = [
      `--import=data:text/javascript,${encodeURIComponent(GUARD)}`, cli, 'agent',
      '--name', spec.name, '--bind', `${spec.host}:0`, '--http', `${spec.host}:0`, '--data-dir', spec.dataDir,
      '--profile', spec.profile, '--enable-faults', 'true', '--log-format', 'json', '--log-level', 'info', '--fsync', 'never',
    ];
    for (const r of spec.roles ?? []) args.push('--role', r);
    // the agent reads CLUSTERD_* from its environment: the runner's own must not leak in
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CLUSTERD_')));
    const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    // the stdin pipe is the guard's lifeline: never written, never ended by us
    proc.stdin!.on('error', () => {});
    const agent = new AgentProcess(spec, proc);
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    log.on('error', () => {});
    proc.stderr!.pipe(log, { end: false });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`agent ${spec.name} did not start within ${spec.startTimeoutMs ?? 60_000} ms (log: ${spec.logFile})`)), spec.startTimeoutMs ?? 60_000);
      let done = false;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(err);
      };
      proc.once('exit', (code, signal) => fail(new Error(`agent ${spec.name} exited (${signal ?? `code ${code}`}) before it started (log: ${spec.logFile})`)));
      proc.once('error', (err) => fail(err));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        log.write(`${line}\n`);
        if (done || !line.includes('"started"')) return;
        try {
          const e = JSON.parse(line) as { event?: string; address?: string; http?: string };
          if (e.event !== 'started') return;
          agent.gossip = String(e.address);
          agent.http = String(e.http);
          done = true;
          clearTimeout(timer);
          resolve(agent);
        } catch {
          // not a log line
        }
      });
    });
  }

  /** Sends a signal (ignored when the process is gone). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.proc.kill(sig);
    } catch {
      // gone meanwhile
    }
  }

  /** A JSON request to the agent's API (the text of `/metrics`); rejects on a non-2xx answer or after `timeoutMs`. */
  async api<T>(method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
    const client = new ApiClient({ http: this.http });
    try {
      return (path === '/metrics' ? await client.getText(path, timeoutMs) : await client.request(method, path, body, timeoutMs)) as T;
    } catch (err) {
      throw new Error(`${method} ${path} on ${this.spec.name}: ${(err as Error).message}`);
    }
  }

  /**
   * Follows the agent's membership events (`/v1/events?types=member`) from `cursor`
   * (`<boot>-0` replays everything since the process started). `onReset` is called when
   * the agent cannot resume from the cursor.
   */
  follow(cursor: string, onEvent: (type: string, data: Record<string, unknown>) => void, onReset: () => void): void {
    const ac = new AbortController();
    const onStreamEvent = (e: { type: string; data: string }): void => {
      if (e.type === 'reset') {
        onReset();
        return;
      }
      try {
        onEvent(e.type, JSON.parse(e.data) as Record<string, unknown>);
      } catch {
        // a payload that is not JSON: skipped
      }
    };
    // a stream that breaks (the agent was killed) just ends: the runner restarts or resyncs it
    new ApiClient({ http: this.http }).stream(`/v1/events?types=member&cursor=${encodeURIComponent(cursor)}`, onStreamEvent, { signal: ac.signal }).catch(() => {});
    this.sse = ac;
  }

  /** Closes the event stream. */
  unfollow(): void {
    this.sse?.abort();
    this.sse = undefined;
  }
}

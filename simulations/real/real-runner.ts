/**
 * The real-process runner (`clusterd sim <scenario> --real`): plays a scenario's
 * timeline in wall time against real `clusterd agent` processes, one per node, each on
 * its own loopback host (127.0.0.101 and up). Partitions, link loss and latency go
 * through each agent's fault-injection hook (`PUT /v1/faults`); crashes are SIGKILL,
 * stalls SIGSTOP/SIGCONT, leaves `POST /v1/leave`, restarts a new process on the same
 * data dir. Each agent's membership events (`/v1/events?types=member`, replayed from
 * its boot) feed the simulator's own ViewTracker, so the invariants and measurements are
 * computed by the same engine as the simulator (simulations/engine/), into the same
 * SimResult shape; this module is the entry point, the backend is process-backend.ts.
 */
import { agentsGone, killAllAgents, pidAlive } from './agent-process.js';
import { ScenarioEngine } from '../engine/engine.js';
import type { SimResult } from '../engine/result.js';
import type { Scenario } from '../scenario.js';
import type { AgentTraffic } from './prom-text.js';
import { ProcessBackend } from './process-backend.js';

/** Options of {@link runReal}. */
export interface RealOptions {
  /** Seed of the runner's own choices (`random:` selectors, churn). @default 1 */
  seed?: number;
  /** Called after every sample with the wall time done and the total. @default none */
  onProgress?: (doneMs: number, totalMs: number) => void;
  /** First loopback address (n0); the others follow. @default "127.0.0.101" */
  baseHost?: string;
  /** Most agents a run may start. @default 200 */
  maxAgents?: number;
  /** Time the cluster has to form before the timeline starts. @default 30 s + 1 s per node */
  formTimeoutMs?: number;
  /** Keep the agents' data dirs and logs (their path is in the result). @default false */
  keepData?: boolean;
  /** The built CLI the agents run. @default <repo>/dist/bin/clusterd.js */
  cli?: string;
}

/** What only a real run has. */
export interface RealInfo {
  /** Wall time of the whole run, start and cleanup included. */
  wallMs: number;
  /** Time from the first spawn to a converged cluster (the timeline's time 0 in `converged` start). */
  formMs: number;
  /** Agent processes started (restarts and adds included). */
  processes: number;
  /** Loopback host of each node. */
  hosts: string[];
  /** Timeline steps and scenario settings that could not be reproduced with real processes. */
  notApplied: string[];
  /** The event-fed views checked against each agent's `GET /v1/members` at the end. */
  selfCheck: string;
  /** Agent processes found alive after the cleanup (must be 0). */
  leftBehind: number;
  /** Pids of every agent process the run started. */
  pids: number[];
  /** Where the data dirs and logs were (removed unless keepData). */
  dataDir: string;
  /** Traffic totals from the agents' /metrics. */
  traffic: AgentTraffic;
}

/** A real run: the simulator's result shape plus what only a real run has. */
export type RealResult = SimResult & { real: RealInfo };

/** Runs `sc` against real agents and returns its result. Every agent is gone when it settles. */
export async function runReal(sc: Scenario, opts: RealOptions = {}): Promise<RealResult> {
  const backend = new ProcessBackend(sc, opts);
  const engine = new ScenarioEngine(sc, backend, opts.seed ?? 1);
  backend.engine = engine;
  backend.prepare(engine.cap);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    killAllAgents();
    // wait (briefly) for their exit so that they are reaped by us, not left as zombies
    void agentsGone(3000).then(() => {
      backend.cleanupSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  const onExit = (): void => {
    killAllAgents();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    const result = await engine.run();
    await backend.stopAll();
    const real: RealInfo = {
      wallMs: Math.round(performance.now() - backend.started),
      formMs: Math.round(backend.formMs),
      processes: backend.processes,
      hosts: backend.slots.map((s) => s.host),
      notApplied: result.notModelled.filter((line) => !line.startsWith('driver: ')),
      selfCheck: backend.selfCheck,
      leftBehind: backend.pids.filter((pid) => pidAlive(pid)).length,
      pids: backend.pids,
      dataDir: opts.keepData === true ? backend.tmp : `${backend.tmp} (removed)`,
      traffic: { ...backend.totals },
    };
    return { ...result, real };
  } catch (err) {
    // the agents were killed under a start or a request: the signal handler exits, not this error
    if (interrupted) await new Promise(() => {});
    throw err;
  } finally {
    await backend.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

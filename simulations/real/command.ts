/**
 * `clusterd sim <scenario> --real`: runs the scenario in the simulator, then against
 * real agent processes, and reports both side by side (terminal table, `--json`,
 * `--html`). Exit code 0 when both runs hold every invariant, 1 when one fails.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../runner.js';
import { loadScenario } from '../scenario.js';
import { withDuration } from '../scenario-duration.js';
import type { Progress } from '../progress.js';
import { repoRoot } from './agent-process.js';
import { sideBySide, sideBySideSummary } from './compare.js';
import { renderSideBySideHtml } from './html.js';
import { runReal } from './real-runner.js';

/** Most agents `--real` starts unless told otherwise (each is a Node process of ~60 MB). */
export const MAX_REAL_AGENTS = 200;

/** What the CLI parsed. */
export interface RealCommand {
  /** Scenario file (as displayed). */
  file: string;
  seed: number;
  nodes: number | undefined;
  durationMs: number | undefined;
  json: string | undefined;
  html: string | undefined;
  keepData: boolean;
  /** Progress of a run on stderr (`what`: `virtual` or `real`). */
  progress: (what: string) => Progress;
}

/** Runs the side-by-side command; resolves to the exit code. ScenarioErrors propagate (exit 2 in the caller). */
export async function realCommand(c: RealCommand, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let scenario = await loadScenario(c.file, c.nodes);
  if (c.durationMs !== undefined) scenario = withDuration(scenario, c.durationMs);
  let adds = 0;
  for (const s of scenario.timeline) if (s.action === 'add') adds += (s as { count: number }).count * s.repeat.times;
  if (scenario.nodes + adds > MAX_REAL_AGENTS) {
    io.err(`clusterd sim: --real starts one agent process per node: ${scenario.nodes + adds} is more than ${MAX_REAL_AGENTS}; use --nodes (e.g. --nodes 10)\n`);
    return 2;
  }
  const cli = join(repoRoot(), 'dist', 'bin', 'clusterd.js');
  if (!existsSync(cli)) {
    io.err(`clusterd sim: --real spawns the built agent, and ${cli} does not exist: run "npm run build" first\n`);
    return 2;
  }
  const bar = c.progress('virtual');
  const started = performance.now();
  let sim;
  try {
    sim = runScenario(scenario, { seed: c.seed, onProgress: (d, t, m) => bar.update(d, t, m) });
  } finally {
    bar.end();
  }
  const simWall = (performance.now() - started) / 1000;
  const bar2 = c.progress('real');
  let real;
  try {
    real = await runReal(scenario, { seed: c.seed, onProgress: (d, t) => bar2.update(d, t), keepData: c.keepData, cli, maxAgents: MAX_REAL_AGENTS });
  } finally {
    bar2.end();
  }
  const result = sideBySide(sim, real, simWall);
  io.out(`${sideBySideSummary(result)}\n`);
  if (c.json !== undefined) {
    writeFileSync(c.json, `${JSON.stringify(result, null, 1)}\n`);
    io.out(`wrote ${c.json}\n`);
  }
  if (c.html !== undefined) {
    writeFileSync(c.html, renderSideBySideHtml(result));
    io.out(`wrote ${c.html}\n`);
  }
  if (result.passed) return 0;
  for (const [side, r] of [['sim', sim], ['real', real]] as const) {
    for (const f of r.invariants.filter((i) => i.status === 'fail')) io.out(`FAIL (${side}): ${f.name}: ${f.evidence}\n`);
  }
  const flags = `--seed ${c.seed}${c.nodes === undefined ? '' : ` --nodes ${c.nodes}`}${c.durationMs === undefined ? '' : ` --duration ${c.durationMs}ms`}`;
  io.out(`replay: clusterd sim ${c.file} ${flags} --real (a real run is not reproducible exactly: timings are wall-clock)\n`);
  return 1;
}

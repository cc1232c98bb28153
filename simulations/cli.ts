/**
 * `clusterd sim`: runs a scenario file (or every scenario of the library) and reports.
 * Exit codes: 0 when every invariant holds, 1 when one fails (the failing invariant and
 * the command replaying the run are printed), 2 on usage errors (bad flags, a scenario
 * file that does not validate).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { applyVariant, compareRow, parseVariants, renderCompare, renderCompareHtml } from './compare.js';
import type { CompareRow, Variant } from './compare.js';
import { fmtMs } from './engine/result.js';
import { renderHtml } from './html-report.js';
import { LIBRARY_DIR, libraryFiles, loadLibrary } from './library.js';
import { runScenario } from './runner.js';
import type { SimResult } from './runner.js';
import { loadScenario, parseDuration, ScenarioError } from './scenario.js';
import { withDuration } from './scenario-duration.js';
import { Progress, progressMode } from './progress.js';
import { summary } from './summary.js';

export const SIM_USAGE = `Usage:
  clusterd sim <scenario-file | library-name> [--seed N] [--nodes N] [--duration D] [--no-workload] [--json out.json] [--html out.html]
               [--progress | --quiet]
  clusterd sim <scenario> --real [--nodes N] [--duration D] [--keep-data] [--json ...] [--html ...]
                                              the same scenario simulated and against real agent processes
                                              on 127.0.0.101+ (needs npm run build), side by side
  clusterd sim <scenario> --compare lan,wan,local|KEY=VALUE[+KEY=VALUE...][,...] [--seed N] [--json ...] [--html ...]
                                              the same scenario under each timing profile or override
                                              (e.g. --compare lan,probeIntervalMs=500+suspicionMult=6):
                                              detection time, false positives, messages and bytes per node
                                              side by side (--html: as bar charts)
  clusterd sim --all [--seed N] [--nodes N] [--no-workload]
                                              run every scenario of the library
  clusterd sim --list                         list the scenario library

--duration D (e.g. 3m, 180s) runs the scenario for D instead of its own duration.
--no-workload runs membership only: the scenario's presence and publish load, and the
replication runtime on every node that serves it, are left out (at 1,000 nodes the
replication runtime costs far more time and memory than membership; the simulator
benchmark runs split-brain this way).

Progress goes to stderr: one updating line on a terminal (virtual time of the total,
wall time, messages sent per wall second, ETA), a plain line every 10 s of wall time
otherwise. --progress prints plain lines even on a terminal, and a last one at the end;
--quiet prints none.

A file written by \`clusterd record\` is a scenario like any other: \`clusterd sim trace.json\`
replays what the agents recorded; --compare shows what other timings would have done.

Exit codes: 0 every invariant holds, 1 an invariant failed, 2 usage error. With
--compare: 0 when every variant ran (failed invariants are shown in the table), 2 usage.
`;

/** Where the command writes; tests pass their own. */
export interface SimIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** `err` is a terminal (the progress line is redrawn in place). @default false */
  errIsTTY?: boolean;
}

const defaultIo: SimIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), errIsTTY: process.stderr.isTTY };

class Usage extends Error {}

function intFlag(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new Usage(`${flag} expects an integer ≥ ${min}, got "${v}"`);
  return Number(v);
}

/** A scenario argument: a path, or the name of a library scenario (`split-brain`). */
function resolveFile(arg: string): string {
  if (existsSync(arg)) return arg;
  for (const ext of ['.json', '.ts']) {
    const f = join(LIBRARY_DIR, `${arg}${ext}`);
    if (existsSync(f)) return f;
  }
  throw new Usage(`no scenario file "${arg}" (and no library scenario of that name: try clusterd sim --list)`);
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Runs the `sim` command; resolves to the exit code. */
export async function simCommand(argv: string[], io: SimIo = defaultIo): Promise<number> {
  try {
    return await sim(argv, io);
  } catch (err) {
    if (err instanceof Usage || err instanceof ScenarioError) {
      io.err(`clusterd sim: ${err.message}\n`);
      return 2;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`clusterd sim: ${err.message}\n${SIM_USAGE}`);
      return 2;
    }
    if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EISDIR')) {
      io.err(`clusterd sim: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function sim(argv: string[], io: SimIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      list: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      real: { type: 'boolean', default: false },
      compare: { type: 'string' },
      duration: { type: 'string' },
      'no-workload': { type: 'boolean', default: false },
      'keep-data': { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(SIM_USAGE);
    return 0;
  }
  if (values.list) {
    if (positionals.length > 0) throw new Usage('--list takes no scenario file');
    const lib = await loadLibrary();
    const w = Math.max(...lib.map((l) => l.scenario.name.length));
    for (const { scenario } of lib) io.out(`${scenario.name.padEnd(w)}  ${String(scenario.nodes).padStart(5)} nodes  ${scenario.description}\n`);
    io.out(`\n${lib.length} scenarios in ${display(LIBRARY_DIR)}; run one with: clusterd sim <name>; all of them with: clusterd sim --all\n`);
    return 0;
  }
  const seed = intFlag(values.seed, '--seed', 0) ?? 1;
  if (seed > 0xffffffff) throw new Usage('--seed must fit in 32 bits');
  const nodes = intFlag(values.nodes, '--nodes', 1);
  const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration, '--duration');
  if (values.progress && values.quiet) throw new Usage('--progress and --quiet exclude each other');
  const mode = progressMode({ quiet: values.quiet, progress: values.progress }, io.errIsTTY === true);
  const progress = (what: string): Progress => new Progress({ mode, write: io.err, what, final: values.progress });
  const run: RunFlags = { seed, nodes, durationMs, noWorkload: values['no-workload'], progress };
  if (values.all) {
    if (values.real) throw new Usage('--real takes one scenario, not --all');
    if (values.compare !== undefined) throw new Usage('--compare takes one scenario, not --all');
    if (positionals.length > 0) throw new Usage('--all takes no scenario file');
    if (values.json !== undefined || values.html !== undefined) throw new Usage('--json and --html take one scenario, not --all');
    let failed = 0;
    for (const file of libraryFiles()) {
      const code = await runOne(file, run, io);
      if (code !== 0) failed++;
      io.out('\n');
    }
    io.out(`${failed === 0 ? 'every scenario passed' : `${failed} scenario(s) failed`}\n`);
    return failed === 0 ? 0 : 1;
  }
  if (positionals.length !== 1) throw new Usage(`expected one scenario file, got ${positionals.length}\n${SIM_USAGE}`);
  const file = resolveFile(positionals[0]!);
  if (values.compare !== undefined) {
    if (values.real) throw new Usage('--compare runs simulations: not with --real');
    return compareRuns(file, values.compare, { ...run, json: values.json, html: values.html }, io);
  }
  if (values.real) {
    if (run.noWorkload) throw new Usage('--no-workload is for simulated runs, not --real');
    const { realCommand } = await import('./real/command.js');
    return realCommand({ file: display(file), seed, nodes, durationMs, json: values.json, html: values.html, keepData: values['keep-data'], progress }, io);
  }
  if (values['keep-data']) throw new Usage('--keep-data goes with --real');
  return runOne(file, { ...run, json: values.json, html: values.html }, io);
}

/** The flags of one simulated run. */
interface RunFlags {
  seed: number;
  nodes: number | undefined;
  durationMs: number | undefined;
  noWorkload: boolean;
  progress: (what: string) => Progress;
  json?: string | undefined;
  html?: string | undefined;
}

async function runOne(file: string, flags: RunFlags, io: SimIo): Promise<number> {
  const { seed, nodes, durationMs, json, html } = flags;
  let scenario = await loadScenario(display(file), nodes);
  if (durationMs !== undefined) scenario = withDuration(scenario, durationMs);
  if (flags.noWorkload) scenario = { ...scenario, workload: undefined };
  const bar = flags.progress('virtual');
  const started = performance.now();
  let result: SimResult;
  try {
    result = runScenario(scenario, { seed, onProgress: (d, t, m) => bar.update(d, t, m) });
  } finally {
    bar.end();
  }
  const wall = (performance.now() - started) / 1000;
  io.out(`${summary(result, wall)}\n`);
  if (json !== undefined) {
    writeFileSync(json, `${JSON.stringify(result, null, 1)}\n`);
    io.out(`wrote ${json}\n`);
  }
  if (html !== undefined) {
    writeFileSync(html, renderHtml(result));
    io.out(`wrote ${html}\n`);
  }
  const failed = result.invariants.filter((i) => i.status === 'fail');
  if (failed.length === 0) return 0;
  for (const f of failed) io.out(`FAIL: ${f.name}: ${f.evidence}\n`);
  io.out(`replay: clusterd sim ${display(file)} --seed ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`}${durationMs === undefined ? '' : ` --duration ${durationMs}ms`}${flags.noWorkload ? ' --no-workload' : ''}\n`);
  return 1;
}

async function compareRuns(file: string, spec: string, flags: RunFlags, io: SimIo): Promise<number> {
  let scenario = await loadScenario(display(file), flags.nodes);
  if (flags.durationMs !== undefined) scenario = withDuration(scenario, flags.durationMs);
  if (flags.noWorkload) scenario = { ...scenario, workload: undefined };
  let variants: Variant[];
  try {
    variants = parseVariants(spec, scenario);
  } catch (err) {
    throw new Usage((err as Error).message);
  }
  const rows: CompareRow[] = [];
  const results: SimResult[] = [];
  let crashes = 0;
  for (const v of variants) {
    const bar = flags.progress(v.label);
    let result: SimResult;
    try {
      result = runScenario(applyVariant(scenario, v), { seed: flags.seed, onProgress: (d, t, m) => bar.update(d, t, m) });
    } finally {
      bar.end();
    }
    crashes = result.measurements.detection.crashes;
    rows.push(compareRow(v.label, result));
    results.push(result);
  }
  io.out(`${scenario.name}: ${scenario.nodes} nodes, ${fmtMs(scenario.durationMs)}, seed ${flags.seed}, under ${variants.length} timing(s)\n\n${renderCompare(rows, crashes)}`);
  if (flags.json !== undefined) {
    writeFileSync(flags.json, `${JSON.stringify({ scenario: scenario.name, seed: flags.seed, variants, rows, results }, null, 1)}\n`);
    io.out(`wrote ${flags.json}\n`);
  }
  if (flags.html !== undefined) {
    writeFileSync(flags.html, renderCompareHtml(scenario, rows, flags.seed));
    io.out(`wrote ${flags.html}\n`);
  }
  return 0;
}

/**
 * Scenario files for the simulation runner: a timeline of faults over a simulated
 * cluster, plus the workload and the invariants' parameters. JSON files or TypeScript
 * modules exporting a default scenario object; both go through {@link validateScenario},
 * which names the path of the first bad field (`timeline[3].nodes`).
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROFILES, isClusterError, swimOptions } from '../lib/internal.js';
import type { ProfileName, SwimOptions } from '../lib/internal.js';
import type { Selector } from './node-set.js';
import { MAX_NODES, ROLE, ScenarioError, describe, int, isObj, join, link, num, obj, onlyKeys, parseDuration, selector, str } from './scenario-fields.js';
import { validateStep } from './scenario-steps.js';
import type { LinkSettings, ResolvedStep, Scenario } from './scenario-types.js';
import { validateWorkload } from './scenario-workload.js';
// the facade: importers keep importing the format, its errors and its parsers from here
export type { Churn, Duration, InvariantSettings, LinkSettings, ResolvedStep, Scenario, ScenarioInput, Step, Workload } from './scenario-types.js';
export { ACTIONS } from './scenario-types.js';
export { MAX_NODES, ScenarioError, parseDuration } from './scenario-fields.js';

const TOP = ['$schema', 'name', 'description', 'expected', 'nodes', 'duration', 'start', 'profile', 'swim', 'network', 'regions', 'interRegion', 'roles', 'timeline', 'churn', 'workload', 'invariants', 'sampleEvery'];
const REGION = /^[A-Za-z0-9_-]{1,32}$/;

/** The region (index into `regions`) of initial node `i` of `nodes`: contiguous blocks of nearly equal size. */
export function regionIndexOf(i: number, nodes: number, regions: number): number {
  return Math.floor((i * regions) / nodes);
}

/**
 * Validates a scenario object (parsed JSON or a module's default export) and fills in
 * defaults. `nodes` overrides the node count (`--nodes`). Throws {@link ScenarioError}.
 */
export function validateScenario(raw: unknown, source = '', nodes?: number): Scenario {
  try {
    return validate(raw, source, nodes);
  } catch (err) {
    if (err instanceof ScenarioError && !err.source && source) throw new ScenarioError(err.path, err.problem, source);
    throw err;
  }
}

function validate(raw: unknown, source: string, nodesOverride: number | undefined): Scenario {
  const o = obj(raw, '');
  onlyKeys(o, TOP, '');
  const name = str(o.name, 'name');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ScenarioError('name', `must be kebab-case (a-z, 0-9, -), got ${JSON.stringify(name)}`);
  const description = str(o.description, 'description');
  const expected = str(o.expected, 'expected');
  const nodes = nodesOverride ?? int(o.nodes, 'nodes', 1, MAX_NODES);
  if (nodesOverride !== undefined) int(nodesOverride, '--nodes', 1, MAX_NODES);
  const durationMs = parseDuration(o.duration, 'duration');
  if (durationMs <= 0) throw new ScenarioError('duration', 'must be positive');
  const start = o.start ?? 'converged';
  if (start !== 'converged' && start !== 'join') throw new ScenarioError('start', `must be "converged" or "join", got ${describe(start)}`);
  const profile = o.profile ?? 'lan';
  if (typeof profile !== 'string' || !(profile in PROFILES)) throw new ScenarioError('profile', `must be one of ${Object.keys(PROFILES).join(', ')}, got ${describe(profile)}`);
  const swim = o.swim === undefined ? {} : (obj(o.swim, 'swim') as Partial<SwimOptions>);
  try {
    swimOptions(profile as ProfileName, swim);
  } catch (err) {
    if (!isClusterError(err)) throw err;
    // ClusterError messages name the option first, or quoted when it is unknown
    const key = /"(\w+)"/.exec(err.message) ?? /^(\w+)/.exec(err.message);
    throw new ScenarioError(`swim${key ? `.${key[1]}` : ''}`, err.message);
  }
  const network: Required<LinkSettings> = { latencyMs: 1, jitterMs: 0, loss: 0 };
  if (o.network !== undefined) {
    const n = obj(o.network, 'network');
    onlyKeys(n, ['latencyMs', 'jitterMs', 'loss'], 'network');
    link(n, 'network', network);
  }
  const regions: string[] = [];
  if (o.regions !== undefined) {
    if (!Array.isArray(o.regions) || o.regions.length < 2) throw new ScenarioError('regions', `must be an array of at least two region names, got ${describe(o.regions)}`);
    o.regions.forEach((r, i) => {
      if (typeof r !== 'string' || !REGION.test(r)) throw new ScenarioError(join('regions', i), `region names must match ${REGION}, got ${describe(r)}`);
      if (regions.includes(r)) throw new ScenarioError(join('regions', i), `duplicate region ${JSON.stringify(r)}`);
      regions.push(r);
    });
    if (regions.length > nodes) throw new ScenarioError('regions', `${regions.length} regions need at least as many nodes (there are ${nodes})`);
  }
  let interRegion: Required<LinkSettings> | undefined;
  if (o.interRegion !== undefined) {
    if (regions.length === 0) throw new ScenarioError('interRegion', 'needs regions');
    const n = obj(o.interRegion, 'interRegion');
    onlyKeys(n, ['latencyMs', 'jitterMs', 'loss'], 'interRegion');
    interRegion = { ...network };
    link(n, 'interRegion', interRegion);
  }
  const roles: Record<string, Selector> = {};
  if (o.roles !== undefined) {
    for (const [role, sel] of Object.entries(obj(o.roles, 'roles'))) {
      if (!ROLE.test(role)) throw new ScenarioError(join('roles', role), `role names must match ${ROLE}`);
      roles[role] = selector(sel, join('roles', role));
    }
  }
  const timeline: ResolvedStep[] = [];
  if (o.timeline !== undefined) {
    if (!Array.isArray(o.timeline)) throw new ScenarioError('timeline', `must be an array, got ${describe(o.timeline)}`);
    o.timeline.forEach((s, i) => timeline.push(validateStep(s, join('timeline', i), durationMs)));
  }
  let churn: Scenario['churn'];
  if (o.churn !== undefined) {
    const c = obj(o.churn, 'churn');
    onlyKeys(c, ['fractionPerMinute', 'from', 'until', 'mode', 'downFor'], 'churn');
    const mode = c.mode ?? 'crash-restart';
    if (mode !== 'crash-restart' && mode !== 'leave-rejoin') throw new ScenarioError('churn.mode', `must be "crash-restart" or "leave-rejoin", got ${describe(mode)}`);
    const fromMs = c.from === undefined ? 0 : parseDuration(c.from, 'churn.from');
    const untilMs = c.until === undefined ? durationMs : parseDuration(c.until, 'churn.until');
    if (untilMs < fromMs) throw new ScenarioError('churn.until', 'must not be before churn.from');
    churn = {
      fractionPerMinute: num(c.fractionPerMinute, 'churn.fractionPerMinute', 0, 1),
      mode,
      fromMs,
      untilMs,
      downForMs: c.downFor === undefined ? 30_000 : parseDuration(c.downFor, 'churn.downFor'),
    };
  }
  const workload = o.workload === undefined ? undefined : validateWorkload(o.workload, durationMs);
  const inv = o.invariants === undefined ? {} : obj(o.invariants, 'invariants');
  onlyKeys(inv, ['convergedWithin', 'falseDeathGrace'], 'invariants');
  const sampleEveryMs = o.sampleEvery === undefined ? 1000 : parseDuration(o.sampleEvery, 'sampleEvery');
  if (sampleEveryMs < 10) throw new ScenarioError('sampleEvery', 'must be at least 10 ms');
  return {
    name, description, expected, nodes, durationMs, start: start as Scenario['start'], profile: profile as ProfileName, swim, network, regions, interRegion, roles, timeline, churn, workload,
    convergedWithinMs: inv.convergedWithin === undefined ? 60_000 : parseDuration(inv.convergedWithin, 'invariants.convergedWithin'),
    falseDeathGraceMs: inv.falseDeathGrace === undefined ? undefined : parseDuration(inv.falseDeathGrace, 'invariants.falseDeathGrace'),
    sampleEveryMs,
    source,
  };
}

/**
 * Loads a scenario file: `.json`, or a TypeScript/JavaScript module whose default export
 * is the scenario object. Throws ScenarioError (bad content) or the I/O error.
 */
export async function loadScenario(file: string, nodes?: number): Promise<Scenario> {
  const path = resolve(file);
  const ext = extname(path);
  let raw: unknown;
  if (ext === '.json') {
    const text = await readFile(path, 'utf8');
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ScenarioError('', `not valid JSON: ${(err as Error).message}`, file);
    }
  } else if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    if (mod.default === undefined) throw new ScenarioError('', 'the module has no default export (export default { name: ..., ... })', file);
    raw = mod.default;
    // a .ts file outside an ESM package loads as CommonJS: its default export arrives wrapped
    if (isObj(raw) && Object.keys(raw).length === 1 && 'default' in raw) raw = raw.default;
  } else {
    throw new ScenarioError('', `unsupported file type "${ext}" (expected .json or .ts)`, file);
  }
  return validateScenario(raw, file, nodes);
}

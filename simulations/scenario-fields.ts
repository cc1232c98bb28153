import { checkSelector } from './node-set.js';
import type { Selector } from './node-set.js';
import type { LinkSettings } from './scenario-types.js';

// Readers of a scenario's fields: each checks one value and throws a ScenarioError
// naming its path (`timeline[3].nodes`).

/** A scenario file that does not validate: `path` locates the bad field. */
export class ScenarioError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly source = '',
  ) {
    super(`${source ? `${source}: ` : ''}${path || '(scenario)'}: ${problem}`);
    this.name = 'ScenarioError';
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a `Duration`; throws a ScenarioError at `path`. */
export function parseDuration(v: unknown, path: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new ScenarioError(path, `must be a non-negative number of ms, got ${JSON.stringify(v)}`);
    return v;
  }
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(v.trim());
    if (m) return Number(m[1]) * UNITS[m[2]!]!;
  }
  throw new ScenarioError(path, `must be a duration (ms as a number, or "500ms", "60s", "5m", "1h"), got ${JSON.stringify(v)}`);
}

/** A parsed JSON object. */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ScenarioError(path, `must be an object, got ${describe(v)}`);
  return v;
}

export function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

export function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ScenarioError(join(path, k), `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

export function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ScenarioError(path, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

export function int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ScenarioError(path, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

export function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ScenarioError(path, `must be a number in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ScenarioError(path, `must be true or false, got ${describe(v)}`);
  return v;
}

export function selector(v: unknown, path: string): Selector {
  const problem = checkSelector(v);
  if (problem) throw new ScenarioError(path, problem);
  return v as Selector;
}

export function link(o: Obj, path: string, into: LinkSettings): void {
  if (o.latencyMs !== undefined) into.latencyMs = num(o.latencyMs, join(path, 'latencyMs'), 0, 600_000);
  if (o.jitterMs !== undefined) into.jitterMs = num(o.jitterMs, join(path, 'jitterMs'), 0, 600_000);
  if (o.loss !== undefined) into.loss = num(o.loss, join(path, 'loss'), 0, 1);
}

/** Largest simulated cluster accepted (the network's link keys hold 16-bit indices). */
export const MAX_NODES = 65_535;

/** Role names. */
export const ROLE = /^[A-Za-z0-9_.:\-/]{1,64}$/;

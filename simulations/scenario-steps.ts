import { ACTIONS } from './scenario-types.js';
import type { LinkSettings, ResolvedStep } from './scenario-types.js';
import { MAX_NODES, ROLE, ScenarioError, bool, describe, int, join, link, num, obj, onlyKeys, parseDuration, selector } from './scenario-fields.js';

const STEP_FIELDS: Record<(typeof ACTIONS)[number], string[]> = {
  crash: ['nodes'],
  restart: ['nodes', 'persisted'],
  leave: ['nodes'],
  add: ['count', 'roles', 'join'],
  partition: ['groups'],
  'partition-one-way': ['from', 'to'],
  heal: [],
  link: ['from', 'to', 'oneWay', 'latencyMs', 'jitterMs', 'loss'],
  network: ['latencyMs', 'jitterMs', 'loss'],
  stall: ['nodes', 'duration'],
  'clock-skew': ['nodes', 'offsetMs', 'driftPpm'],
};

/** Validates timeline step `raw` at `path` of a run lasting `durationMs`. */
export function validateStep(raw: unknown, path: string, durationMs: number): ResolvedStep {
  const s = obj(raw, path);
  const action = s.action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new ScenarioError(join(path, 'action'), `must be one of ${ACTIONS.join(', ')}, got ${describe(action)}`);
  }
  const a = action as (typeof ACTIONS)[number];
  onlyKeys(s, ['action', 'at', 'stagger', 'repeat', 'comment', ...STEP_FIELDS[a]], path);
  const atMs = parseDuration(s.at, join(path, 'at'));
  if (atMs > durationMs) throw new ScenarioError(join(path, 'at'), `is after the end of the run (${durationMs} ms)`);
  const staggerMs = s.stagger === undefined ? 0 : parseDuration(s.stagger, join(path, 'stagger'));
  let repeat = { everyMs: 0, times: 1 };
  if (s.repeat !== undefined) {
    const r = obj(s.repeat, join(path, 'repeat'));
    onlyKeys(r, ['every', 'times'], join(path, 'repeat'));
    repeat = { everyMs: parseDuration(r.every, join(path, 'repeat.every')), times: int(r.times, join(path, 'repeat.times'), 1, 100_000) };
    if (repeat.everyMs <= 0) throw new ScenarioError(join(path, 'repeat.every'), 'must be positive');
  }
  const out: Record<string, unknown> = { action: a, atMs, staggerMs, repeat };
  switch (a) {
    case 'crash':
    case 'leave':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      break;
    case 'restart':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      if (s.persisted !== undefined) out.persisted = bool(s.persisted, join(path, 'persisted'));
      break;
    case 'add':
      out.count = int(s.count, join(path, 'count'), 1, MAX_NODES);
      if (s.roles !== undefined) {
        if (!Array.isArray(s.roles)) throw new ScenarioError(join(path, 'roles'), `must be an array of role names, got ${describe(s.roles)}`);
        s.roles.forEach((r, i) => {
          if (typeof r !== 'string' || !ROLE.test(r)) throw new ScenarioError(join(join(path, 'roles'), i), `must be a role name matching ${ROLE}`);
        });
        out.roles = s.roles;
      }
      if (s.join !== undefined) out.join = selector(s.join, join(path, 'join'));
      break;
    case 'partition':
      if (!Array.isArray(s.groups) || s.groups.length === 0) throw new ScenarioError(join(path, 'groups'), `must be a non-empty array of selectors, got ${describe(s.groups)}`);
      out.groups = s.groups.map((g, i) => selector(g, join(join(path, 'groups'), i)));
      break;
    case 'partition-one-way':
      out.from = selector(s.from, join(path, 'from'));
      out.to = selector(s.to, join(path, 'to'));
      break;
    case 'heal':
      break;
    case 'link':
      out.from = selector(s.from, join(path, 'from'));
      out.to = selector(s.to, join(path, 'to'));
      if (s.oneWay !== undefined) out.oneWay = bool(s.oneWay, join(path, 'oneWay'));
      link(s, path, out as LinkSettings);
      if (s.latencyMs === undefined && s.jitterMs === undefined && s.loss === undefined) throw new ScenarioError(path, 'a link step needs latencyMs, jitterMs or loss');
      break;
    case 'network':
      link(s, path, out as LinkSettings);
      if (s.latencyMs === undefined && s.jitterMs === undefined && s.loss === undefined) throw new ScenarioError(path, 'a network step needs latencyMs, jitterMs or loss');
      break;
    case 'stall':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      out.durationMs = parseDuration(s.duration, join(path, 'duration'));
      break;
    case 'clock-skew':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      if (s.offsetMs !== undefined) out.offsetMs = num(s.offsetMs, join(path, 'offsetMs'), -86_400_000, 86_400_000);
      if (s.driftPpm !== undefined) out.driftPpm = num(s.driftPpm, join(path, 'driftPpm'), -1_000_000, 1_000_000);
      break;
  }
  return out as ResolvedStep;
}

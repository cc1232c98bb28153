import type { Workload } from './scenario-types.js';
import { ScenarioError, int, num, obj, onlyKeys, parseDuration } from './scenario-fields.js';

/** Validates a scenario's `workload` for a run lasting `durationMs`; durations become ms. */
export function validateWorkload(raw: unknown, durationMs: number): Workload {
  const w = obj(raw, 'workload');
  onlyKeys(w, ['from', 'until', 'presence', 'publish', 'readers'], 'workload');
  const from = w.from === undefined ? 0 : parseDuration(w.from, 'workload.from');
  const out: Workload = { from };
  if (w.until !== undefined) {
    const until = parseDuration(w.until, 'workload.until');
    if (until < from) throw new ScenarioError('workload.until', 'must not be before workload.from');
    if (until > durationMs) throw new ScenarioError('workload.until', `is after the end of the run (${durationMs} ms)`);
    out.until = until;
  }
  if (w.presence !== undefined) {
    const p = obj(w.presence, 'workload.presence');
    onlyKeys(p, ['channels', 'joinsPerSecond', 'leavesPerSecond'], 'workload.presence');
    out.presence = {
      channels: p.channels === undefined ? 100 : int(p.channels, 'workload.presence.channels', 1),
      joinsPerSecond: p.joinsPerSecond === undefined ? 0 : num(p.joinsPerSecond, 'workload.presence.joinsPerSecond', 0, 1e7),
      leavesPerSecond: p.leavesPerSecond === undefined ? 0 : num(p.leavesPerSecond, 'workload.presence.leavesPerSecond', 0, 1e7),
    };
  }
  if (w.publish !== undefined) {
    const p = obj(w.publish, 'workload.publish');
    onlyKeys(p, ['channels', 'perSecond', 'payloadBytes', 'historyLength', 'ttl'], 'workload.publish');
    out.publish = {
      channels: p.channels === undefined ? 100 : int(p.channels, 'workload.publish.channels', 1),
      perSecond: p.perSecond === undefined ? 0 : num(p.perSecond, 'workload.publish.perSecond', 0, 1e7),
      payloadBytes: p.payloadBytes === undefined ? 256 : int(p.payloadBytes, 'workload.publish.payloadBytes', 0, 65_536),
      historyLength: p.historyLength === undefined ? 100 : int(p.historyLength, 'workload.publish.historyLength', 1, 100_000),
      ttl: p.ttl === undefined ? 0 : parseDuration(p.ttl, 'workload.publish.ttl'),
    };
  }
  if (w.readers !== undefined) {
    const p = obj(w.readers, 'workload.readers');
    onlyKeys(p, ['count', 'interval', 'limit'], 'workload.readers');
    if (out.publish === undefined) throw new ScenarioError('workload.readers', 'needs workload.publish (readers follow its channels)');
    const interval = p.interval === undefined ? 5000 : parseDuration(p.interval, 'workload.readers.interval');
    if (interval <= 0) throw new ScenarioError('workload.readers.interval', 'must be above 0');
    out.readers = {
      count: p.count === undefined ? 8 : int(p.count, 'workload.readers.count', 1, 10_000),
      interval,
      limit: p.limit === undefined ? 50 : int(p.limit, 'workload.readers.limit', 1, 10_000),
    };
  }
  return out;
}

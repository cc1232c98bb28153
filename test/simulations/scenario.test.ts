import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../simulations/runner.js';
import { loadLibrary } from '../../simulations/library.js';
import { loadScenario, parseDuration, ScenarioError, validateScenario } from '../../simulations/scenario.js';

const base = { name: 'x', description: 'd', expected: 'e', nodes: 10, duration: '1m' };

function problem(raw: unknown, nodes?: number): string {
  try {
    const sc = validateScenario(raw, '', nodes);
    runScenario({ ...sc, durationMs: 1 });
  } catch (err) {
    if (err instanceof ScenarioError) return `${err.path}: ${err.problem}`;
    throw err;
  }
  return 'valid';
}

t.test('durations', async (t) => {
  t.equal(parseDuration(1500, 'x'), 1500);
  t.equal(parseDuration('500ms', 'x'), 500);
  t.equal(parseDuration('60s', 'x'), 60_000);
  t.equal(parseDuration('5m', 'x'), 300_000);
  t.equal(parseDuration('1.5h', 'x'), 5_400_000);
  t.throws(() => parseDuration('5 minutes', 'a.b'), /a\.b: must be a duration/);
  t.throws(() => parseDuration(-1, 'a'), /non-negative/);
});

t.test('validation errors name the path of the bad field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[], /^: must be an object, got an array/],
    [{ ...base, name: 'Split Brain' }, /^name: must be kebab-case/],
    [{ ...base, nodes: 0 }, /^nodes: must be an integer in \[1, 65535\]/],
    [{ ...base, nodes: 2.5 }, /^nodes: must be an integer/],
    [{ ...base, duration: 'forever' }, /^duration: must be a duration/],
    [{ ...base, expected: '' }, /^expected: must be a non-empty string/],
    [{ ...base, colour: 'red' }, /^colour: unknown field/],
    [{ ...base, start: 'warm' }, /^start: must be "converged" or "join"/],
    [{ ...base, profile: 'moon' }, /^profile: must be one of lan, wan, local/],
    [{ ...base, swim: { probeIntervalMs: -5 } }, /^swim\.probeIntervalMs: /],
    [{ ...base, swim: { bogus: 1 } }, /^swim\.bogus: unknown membership option/],
    [{ ...base, network: { loss: 1.5 } }, /^network\.loss: must be a number in \[0, 1\]/],
    [{ ...base, roles: { 'bad role': 'all' } }, /^roles\.bad role: role names must match/],
    [{ ...base, timeline: {} }, /^timeline: must be an array/],
    [{ ...base, timeline: [{ at: '1s', action: 'explode' }] }, /^timeline\[0\]\.action: must be one of crash, restart/],
    [{ ...base, timeline: [{ at: '1s', action: 'heal' }, { at: '2s', action: 'crash', nodes: 'n1', persisted: true }] }, /^timeline\[1\]\.persisted: unknown field/],
    [{ ...base, timeline: [{ at: '2m', action: 'heal' }] }, /^timeline\[0\]\.at: is after the end of the run/],
    [{ ...base, timeline: [{ at: '1s', action: 'crash', nodes: 'everyone' }] }, /^timeline\[0\]\.nodes: unknown selector "everyone"/],
    [{ ...base, timeline: [{ at: '1s', action: 'crash', nodes: '60%..40%' }] }, /^timeline\[0\]\.nodes: range "60%\.\.40%" is reversed/],
    [{ ...base, timeline: [{ at: '1s', action: 'partition', groups: [] }] }, /^timeline\[0\]\.groups: must be a non-empty array/],
    [{ ...base, timeline: [{ at: '1s', action: 'partition', groups: ['0%..50%', 7] }] }, /^timeline\[0\]\.groups\[1\]: must be a selector string/],
    [{ ...base, timeline: [{ at: '1s', action: 'link', from: 'n0', to: 'n1' }] }, /^timeline\[0\]: a link step needs latencyMs, jitterMs or loss/],
    [{ ...base, timeline: [{ at: '1s', action: 'stall', nodes: 'n1' }] }, /^timeline\[0\]\.duration: must be a duration/],
    [{ ...base, timeline: [{ at: '1s', action: 'add', count: 1, roles: ['ok', 'not ok'] }] }, /^timeline\[0\]\.roles\[1\]: must be a role name/],
    [{ ...base, timeline: [{ at: '1s', action: 'heal', repeat: { every: 0, times: 2 } }] }, /^timeline\[0\]\.repeat\.every: must be positive/],
    [{ ...base, timeline: [{ at: '1s', action: 'crash', nodes: 'n12' }] }, /^timeline\[0\]\.nodes: selector "n12": there are only 10 nodes/],
    [{ ...base, churn: { fractionPerMinute: 2 } }, /^churn\.fractionPerMinute: must be a number in \[0, 1\]/],
    [{ ...base, churn: { fractionPerMinute: 0.1, mode: 'explode' } }, /^churn\.mode: /],
    [{ ...base, workload: { publish: { perSecond: -1 } } }, /^workload\.publish\.perSecond: must be a number/],
    [{ ...base, workload: { presence: { channels: 0 } } }, /^workload\.presence\.channels: must be an integer/],
    [{ ...base, workload: { subscribe: {} } }, /^workload\.subscribe: unknown field/],
    [{ ...base, workload: { from: '5s', until: '2s' } }, /^workload\.until: must not be before workload\.from/],
    [{ ...base, workload: { until: '2h' } }, /^workload\.until: is after the end of the run/],
    [{ ...base, workload: { publish: { ttl: 'forever' } } }, /^workload\.publish\.ttl: must be a duration/],
    [{ ...base, workload: { publish: { payloadBytes: 70_000 } } }, /^workload\.publish\.payloadBytes: must be an integer in \[0, 65536\]/],
    [{ ...base, invariants: { convergedWithin: 'soon' } }, /^invariants\.convergedWithin: must be a duration/],
  ];
  for (const [raw, re] of cases) t.match(problem(raw), re, JSON.stringify(raw).slice(0, 120));
  t.equal(problem(base), 'valid');
});

t.test('--nodes overrides the count; selectors that no longer fit fail with their path', async (t) => {
  const raw = { ...base, nodes: 100, timeline: [{ at: '1s', action: 'crash', nodes: 'n50' }] };
  t.equal(validateScenario(raw, '', 60).nodes, 60);
  t.match(problem(raw, 20), /^timeline\[0\]\.nodes: selector "n50": there are only 20 nodes/);
  t.match(problem({ ...base, timeline: [{ at: '1s', action: 'crash', nodes: '5..30' }] }), /^timeline\[0\]\.nodes: selector "5\.\.30": there are only 10 initial nodes/);
});

t.test('files: JSON, TypeScript modules, and errors naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-scenario-'));
  const json = join(dir, 'a.json');
  writeFileSync(json, JSON.stringify({ ...base, nodes: 'ten' }));
  await t.rejects(loadScenario(json), { message: `${json}: nodes: must be an integer in [1, 65535], got "ten"` });
  writeFileSync(join(dir, 'b.json'), '{ nope');
  await t.rejects(loadScenario(join(dir, 'b.json')), /not valid JSON/);
  const ts = join(dir, 'c.ts');
  writeFileSync(ts, `export default ${JSON.stringify({ ...base, name: 'from-ts' })};\n`);
  t.equal((await loadScenario(ts)).name, 'from-ts');
  writeFileSync(join(dir, 'd.yaml'), 'name: x');
  await t.rejects(loadScenario(join(dir, 'd.yaml')), /unsupported file type/);
});

t.test('the library validates and every scenario states its expected outcome', async (t) => {
  const lib = await loadLibrary();
  t.ok(lib.length >= 10, `${lib.length} scenarios`);
  for (const { scenario } of lib) {
    t.ok(scenario.expected.length > 40 && !/TBD/.test(scenario.expected), `${scenario.name} has an expected outcome`);
  }
});

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'clusterd-sim-cli-'));

function sim(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/clusterd.ts', 'sim', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('exit 0 when every invariant holds; --json and --html written', async (t) => {
  const json = join(dir, 'out.json');
  const html = join(dir, 'out.html');
  // the library's split brain, shortened to 4 minutes (its workload runs the replication runtime on every node)
  const file = join(dir, 'split-brain-short.json');
  const lib = JSON.parse(readFileSync(join(root, 'simulations', 'scenarios', 'split-brain.json'), 'utf8')) as { workload: object };
  writeFileSync(file, JSON.stringify({ ...lib, duration: '4m', workload: { ...lib.workload, until: '150s' } }));
  const r = sim(file, '--nodes', '16', '--seed', '4', '--json', json, '--html', html);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /PASS {2}membership converged/);
  t.match(r.out, /PASS {2}presence and history replicas equal/);
  t.notMatch(r.err, /\r/, 'no redrawn progress line when stderr is not a TTY (plain lines only, every 10 s)');
  const result = JSON.parse(readFileSync(json, 'utf8')) as { seed: number; nodes: number; passed: boolean };
  t.same([result.seed, result.nodes, result.passed], [4, 16, true]);
  t.match(readFileSync(html, 'utf8'), /<svg id="chart-views"/);
});

t.test('--progress prints plain progress lines to stderr, --quiet none; the JSON is the same', async (t) => {
  const a = join(dir, 'progress.json');
  const b = join(dir, 'quiet.json');
  const file = join(dir, 'crash-small.json');
  writeFileSync(file, JSON.stringify({
    name: 'crash-small', description: 'one crash in 8 nodes', expected: 'detected and converged',
    nodes: 8, duration: '90s', timeline: [{ at: '10s', action: 'crash', nodes: 'n2' }], invariants: { convergedWithin: '60s' },
  }));
  const p = sim(file, '--progress', '--json', a);
  t.equal(p.code, 0, p.err);
  const lines = p.err.split('\n').filter((l) => l !== '');
  t.ok(lines.length >= 1, `${lines.length} progress line(s)`);
  t.match(lines[lines.length - 1], /^100% {2}90 s \/ 90 s virtual {2}\d+\.\d s wall {2}[\d,]+ msgs\/s$/, 'the last line: all of the virtual time, wall time, messages per second');
  t.notMatch(p.err, /\r/);
  const q = sim(file, '--quiet', '--json', b);
  t.equal(q.code, 0);
  t.equal(q.err, '', '--quiet prints nothing on stderr');
  t.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'), 'the progress does not touch the result');
  const both = sim(file, '--progress', '--quiet');
  t.equal(both.code, 2);
  t.match(both.err, /--progress and --quiet exclude each other/);
});

t.test('exit 1 when an invariant fails, with the invariant and the seed to replay it', async (t) => {
  const file = join(dir, 'fails.json');
  writeFileSync(file, JSON.stringify({
    name: 'fails', description: 'ends inside the first probe timeout after the crash, before anyone can suspect it', expected: 'the convergence invariant fails',
    nodes: 8, duration: '30400ms', timeline: [{ at: '30s', action: 'crash', nodes: 'n2' }], invariants: { convergedWithin: '500ms' },
  }));
  const r = sim(file, '--seed', '9', '--no-workload');
  t.equal(r.code, 1);
  t.match(r.out, /FAIL: membership converged: every live node sees the same alive set: not converged at the end/);
  t.match(r.out, new RegExp(`replay: clusterd sim .*fails\\.json --seed 9 --no-workload`));
});

t.test('exit 2 on usage errors', async (t) => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ name: 'bad', description: 'd', expected: 'e', nodes: 5, duration: '1m', timeline: [{ at: '1s', action: 'crash', nodes: 'nobody' }] }));
  const cases: [string[], RegExp][] = [
    [[], /expected one scenario file, got 0/],
    [['no-such-scenario'], /no scenario file "no-such-scenario"/],
    [['split-brain', '--seed', 'x'], /--seed expects an integer/],
    [['split-brain', '--nodes', '0'], /--nodes expects an integer ≥ 1/],
    [['split-brain', '--frobnicate'], /Unknown option '--frobnicate'/],
    [[bad], /timeline\[0\]\.nodes: unknown selector "nobody"/],
    [['split-brain', '--real', '--nodes', '300'], /--real starts one agent process per node: 300 is more than 200; use --nodes/],
    [['--all', '--real'], /--real takes one scenario, not --all/],
    [['split-brain', '--keep-data'], /--keep-data goes with --real/],
    [['split-brain', '--duration', 'soon'], /--duration: must be a duration/],
    [['split-brain', '--duration', '90s'], /timeline\[1\]\.at: is at 120000 ms, after the end of the run set by --duration \(90000 ms\)/],
    [['--list', 'split-brain'], /--list takes no scenario file/],
  ];
  for (const [args, re] of cases) {
    const r = sim(...args);
    t.equal(r.code, 2, `clusterd sim ${args.join(' ')}`);
    t.match(r.err, re);
  }
});

t.test('--list shows the library, one line each', async (t) => {
  const r = sim('--list');
  t.equal(r.code, 0);
  const lines = r.out.split('\n').filter((l) => /\d+ nodes/.test(l));
  t.ok(lines.length >= 10, `${lines.length} scenarios listed`);
  for (const name of ['split-brain', 'minority-partition', 'flapping-link', 'loss-20', 'rolling-restart', 'broker-replaced', 'mass-join', 'stalled-node-lifeguard-on', 'stalled-node-lifeguard-off', 'asymmetric-partition', 'churn']) {
    t.ok(lines.some((l) => l.startsWith(`${name} `)), name);
  }
});

t.test('--no-workload runs a scenario with a workload as membership only', async (t) => {
  const r = sim('split-brain', '--nodes', '6', '--duration', '150s', '--no-workload');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /replication\s+not measured: the scenario has no workload/);
  const real = sim('split-brain', '--real', '--no-workload');
  t.equal(real.code, 2);
  t.match(real.err, /--no-workload is for simulated runs/);
});

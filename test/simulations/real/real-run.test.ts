import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SideBySide } from '../../../simulations/real/compare.js';
import { SIDE_BY_SIDE_CHART_IDS } from '../../../simulations/real/html.js';

// Real processes in real time: this file runs a 4-agent cluster through a split and a
// heal on 127.0.0.x (about 20 s of wall time), then interrupts a second run with SIGINT.
const root = join(import.meta.dirname, '..', '..', '..');
const built = existsSync(join(root, 'dist', 'bin', 'clusterd.js'));
const dir = mkdtempSync(join(tmpdir(), 'clusterd-sim-real-'));
const CHROMIUM = '/usr/bin/chromium';

const scenario = join(dir, 'split-heal.json');
writeFileSync(scenario, JSON.stringify({
  name: 'split-heal', description: '2/2 split for 5 s, then heal', expected: 'converged after the heal, no false death',
  nodes: 4, duration: '17s',
  timeline: [{ at: '2s', action: 'partition', groups: ['0%..50%'] }, { at: '7s', action: 'heal' }, { at: '7s', action: 'clock-skew', nodes: 'n1', offsetMs: 500 }],
  invariants: { convergedWithin: '10s' },
}));

/** True while the process exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

t.test('a small split and heal, simulated and real, side by side', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const json = join(dir, 'out.json');
  const html = join(dir, 'out.html');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/clusterd.ts', 'sim', scenario, '--real', '--json', json, '--html', html], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : `${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /MEASURE\s+SIM\s+REAL/, 'a two-column table');
  t.match(r.stdout, /membership converged\s+PASS\s+PASS/);
  t.match(r.stdout, /converged after each heal\s+\S+/);
  t.match(r.stdout, /NOT APPLIED IN --real\n\s+timeline\[2\] clock-skew of n1 .*not applied in --real/, 'clock skew is reported, not silently ignored');

  const res = JSON.parse(readFileSync(json, 'utf8')) as SideBySide;
  t.equal(res.mode, 'sim-vs-real');
  t.ok(res.sim.passed && res.real.passed && res.passed);
  t.equal(res.real.nodes, 4);
  t.same(res.real.real.hosts, ['127.0.0.101', '127.0.0.102', '127.0.0.103', '127.0.0.104']);
  t.equal(res.real.real.processes, 4);
  t.match(res.real.real.selfCheck, /match GET \/v1\/members on all 4 live agents/, 'the event-fed views agree with the agents\' own lists');
  // the partition really happened: each half declared the other (or suspected it) and the fault layer dropped traffic
  t.ok(res.real.measurements.traffic.framesLost > 0, `fault injection dropped ${res.real.measurements.traffic.framesLost} datagrams/streams`);
  t.ok(Math.min(...res.real.series.agreement) < 1, 'the real views diverged during the split');
  const heal = res.real.measurements.convergence.heals[0];
  t.ok(heal && heal.convergedAfterMs >= 0 && heal.convergedAfterMs <= 10_000, `real: converged ${heal?.convergedAfterMs} ms after the heal`);
  t.equal(res.real.measurements.falsePositives.deadDeclarations, 0, 'no healthy node declared dead');
  t.equal(res.real.series.tMs.length, res.sim.series.tMs.length, 'one sample per second on both sides');
  const row = (label: string) => res.comparison.find((x) => x.label === label);
  t.ok(row('converged after each heal') && row('datagrams per node/s') && row('false deaths (healthy nodes)'), 'the comparison rows');
  t.equal(res.real.real.leftBehind, 0);
  t.equal(res.real.real.pids.length, 4);
  for (const pid of res.real.real.pids) t.notOk(alive(pid), `agent ${pid} is gone`);

  const page = readFileSync(html, 'utf8');
  for (const id of SIDE_BY_SIDE_CHART_IDS) t.match(page, new RegExp(`<svg id="${id}"`), id);
  t.notMatch(page, /https?:\/\//, 'self-contained');
  if (existsSync(CHROMIUM)) {
    const d = spawnSync(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'clusterd-chromium-'))}`, '--dump-dom', pathToFileURL(html).href,
    ], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
    t.match(d.stdout, /<body data-rendered="5"/, 'renders in headless Chromium with its five charts');
  }
});

t.test('SIGINT stops the run and leaves no agent behind', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const p = spawn(process.execPath, ['--import', 'tsx', 'bin/clusterd.ts', 'sim', scenario, '--real'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const children = (): number[] => {
    const r = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(p.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => l.includes('clusterd.js agent')).map((l) => Number(l.trim().split(' ')[0]));
  };
  let agents: number[] = [];
  const start = Date.now();
  while (agents.length < 4 && Date.now() - start < 60_000) {
    await new Promise((r) => setTimeout(r, 200));
    agents = children();
  }
  t.equal(agents.length, 4, 'four agents running');
  const exit = new Promise<number | string | null>((r) => p.on('exit', (code, signal) => r(code ?? signal)));
  p.kill('SIGINT');
  const code = await exit;
  t.equal(code, 130, code === 130 ? 'exit 130 on SIGINT' : `exit 130 on SIGINT, got ${String(code)}: ${stderr}`);
  for (const pid of agents) t.notOk(alive(pid), `agent ${pid} is gone`);
});

import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../lib/cli/cli.js';
import { simCommand } from '../../simulations/cli.js';
import { validateScenario } from '../../simulations/scenario.js';
import type { ResolvedStep } from '../../simulations/scenario.js';
import type { Recording } from '../../simulations/trace-scenario.js';

// Five real agents on 127.0.0.51–55 (lan profile), recorded by `clusterd record` while one
// is stopped for 3 s and another killed; the scenario written must hold the same members,
// the stall and the crash at the times the test caused them (± 1 s), and `clusterd sim`
// must run it and detect the crash.

const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-record-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Agent {
  name: string;
  proc: ChildProcess;
  started: Promise<{ address: string; http: string }>;
}

function startAgent(name: string, ip: string, seed?: string): Agent {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', join(tmp, name), '--profile', 'lan', '--log-format', 'json'];
  if (seed) args.push('--join', seed);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<{ address: string; http: string }>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.event === 'started') resolve({ address: String(e.address), http: String(e.http) });
      } catch {
        // not a log line
      }
    });
  });
  return { name, proc, started };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('record a stalled and a killed agent, replay the scenario in the simulator', async (t) => {
  const agents: Agent[] = [];
  t.teardown(() => {
    for (const x of agents) {
      x.proc.kill('SIGCONT');
      x.proc.kill('SIGKILL');
    }
  });
  const a = startAgent('alpha', '127.0.0.51');
  agents.push(a);
  const seed = (await a.started).address;
  for (const [n, ip] of [['bravo', '127.0.0.52'], ['charlie', '127.0.0.53'], ['delta', '127.0.0.54'], ['echo', '127.0.0.55']] as const) agents.push(startAgent(n, ip, seed));
  const [, , c, d] = agents as [Agent, Agent, Agent, Agent, Agent];
  const https = await Promise.all(agents.map(async (x) => (await x.started).http));
  for (let i = 0; ; i++) {
    const all = await Promise.all(https.map(async (h) => ((await (await fetch(`http://${h}/v1/members?state=alive`)).json()) as { members: unknown[] }).members.length));
    if (all.every((n) => n === 5)) break;
    if (i > 400) throw new Error(`the cluster did not form: ${all.join(',')}`);
    await sleep(50);
  }

  const out = join(tmp, 'trace.json');
  const raw = join(tmp, 'raw.json');
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => (stdout += s), err: (s: string) => (stderr += s), env: {} };
  const recording = runCli('record', ['--http', https[0]!, '--duration', '16s', '--poll', '1s', '--out', out, '--raw', raw], io);
  await sleep(2000);
  c.proc.kill('SIGSTOP');
  const stoppedAt = Date.now();
  await sleep(3000);
  c.proc.kill('SIGCONT');
  const resumedAt = Date.now();
  await sleep(1500);
  d.proc.kill('SIGKILL');
  const killedAt = Date.now();
  t.equal(await recording, 0, `record exits 0; stderr: ${stderr}`);
  t.comment(stdout);

  const rec = JSON.parse(readFileSync(raw, 'utf8')) as Recording;
  const sc = validateScenario(JSON.parse(readFileSync(out, 'utf8')), out);
  const names = sc.description.replace(/^.*: /, '');
  t.equal(names, 'n0=alpha, n1=bravo, n2=charlie, n3=delta, n4=echo', 'the same members');
  t.equal(sc.nodes, 5);
  t.equal(sc.profile, 'lan');
  const stall = sc.timeline.find((s) => s.action === 'stall') as ResolvedStep & { nodes: string } | undefined;
  const crash = sc.timeline.find((s) => s.action === 'crash') as ResolvedStep & { nodes: string } | undefined;
  t.equal(stall?.nodes, 'n2', 'charlie stalled');
  t.equal(crash?.nodes, 'n3', 'delta crashed');
  const stallAt = stoppedAt - rec.startedAt;
  const stallFor = resumedAt - stoppedAt;
  const crashAt = killedAt - rec.startedAt;
  t.comment(`stall at ${stall?.atMs} ms for ${stall?.durationMs} ms (caused at ${stallAt} for ${stallFor}); crash at ${crash?.atMs} ms (caused at ${crashAt})`);
  t.ok(Math.abs(stall!.atMs - stallAt) <= 1000, 'the stall starts when it did (± 1 s)');
  t.ok(Math.abs(stall!.durationMs! - stallFor) <= 1000, 'and lasts as long (± 1 s)');
  t.ok(Math.abs(crash!.atMs - crashAt) <= 1000, 'the crash is when it was (± 1 s)');
  t.equal(sc.timeline.filter((s) => s.action === 'crash' || s.action === 'stall').length, 2, 'no other fault');

  let simOut = '';
  const code = await simCommand([out, '--quiet', '--json', join(tmp, 'result.json')], { out: (s) => (simOut += s), err: (s) => (simOut += s) });
  t.comment(simOut);
  const result = JSON.parse(readFileSync(join(tmp, 'result.json'), 'utf8')) as { measurements: { detection: { crashes: number; perObserverDeadMs: { count: number; p50: number } } } };
  const det = result.measurements.detection;
  t.equal(det.crashes, 1, 'the simulator replays the crash');
  t.ok(det.perObserverDeadMs.count > 0, 'and detects it');
  // the real agents' first death declaration, from the same crash time as the simulator's
  const realDead = Number(/declared it dead at ([\d.]+) s/.exec(sc.expected)![1]) * 1000 - crash!.atMs;
  t.comment(`crash → dead: real agents ${realDead} ms, simulator p50 ${det.perObserverDeadMs.p50} ms`);
  t.ok(Math.abs(det.perObserverDeadMs.p50 - realDead) <= 2000, 'the simulator detects it within ± 2 s of the real agents');
  t.ok(code === 0 || code === 1, 'the scenario runs');
});

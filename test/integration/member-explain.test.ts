import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../lib/cli/cli.js';

// Real agent processes on 127.0.0.x with the lan profile (1 s probes, 500 ms timeout): one is
// stopped (SIGSTOP), then resumed, then killed, and another agent's GET /v1/members/{name}
// must say why it is suspect, that it refuted, and who declared it dead.

const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-explain-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Agent {
  name: string;
  proc: ChildProcess;
  address: Promise<string>;
  http: Promise<string>;
}

function startAgent(name: string, ip: string, seed?: string): Agent {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', join(tmp, name), '--profile', 'lan', '--log-format', 'json'];
  if (seed) args.push('--join', seed);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let resolve: (e: { address: string; http: string }) => void = () => {};
  const started = new Promise<{ address: string; http: string }>((r) => (resolve = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.event === 'started') resolve({ address: String(e.address), http: String(e.http) });
    } catch {
      // not a log line
    }
  });
  return { name, proc, address: started.then((s) => s.address), http: started.then((s) => s.http) };
}

interface Explain {
  state: string;
  incarnation: number;
  observer: string;
  suspicion: { by: string; confirmations: { from: string }[] } | null;
  live: { verifying: boolean; leftMs: number; timeoutMs: number; minMs: number; maxMs: number } | null;
  refutation: { incarnation: number; suspicion: { by: string } | null } | null;
  death: { by: string; state: string } | null;
  probes: { kind: string }[];
  history: { state: string; by: string }[];
}

async function explain(http: string, name: string): Promise<{ status: number; body: Explain & { error?: { code: string } } }> {
  const res = await fetch(`http://${http}/v1/members/${encodeURIComponent(name)}`);
  return { status: res.status, body: (await res.json()) as Explain & { error?: { code: string } } };
}

/** Polls `get` every 50 ms until `ok` holds of its value; fails after `ms`. */
async function until<T>(what: string, ms: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${String(JSON.stringify(last)).slice(0, 600)}`);
}

t.test('GET /v1/members/{name} on another agent explains a stopped, resumed, then killed agent', async (t) => {
  const agents: Agent[] = [];
  t.teardown(() => {
    for (const x of agents) {
      x.proc.kill('SIGCONT');
      x.proc.kill('SIGKILL');
    }
  });
  const a = startAgent('alpha', '127.0.0.41');
  agents.push(a);
  const seed = await a.address;
  for (const [n, ip] of [['bravo', '127.0.0.42'], ['charlie', '127.0.0.43'], ['delta', '127.0.0.44']] as const) agents.push(startAgent(n, ip, seed));
  const [, b, c, d] = agents as [Agent, Agent, Agent, Agent];
  const httpA = await a.http;
  const httpB = await b.http;
  const httpD = await d.http;
  await until('four alive members on every agent', 40_000, () => Promise.all(agents.map(async (x) => (await (await fetch(`http://${await x.http}/v1/members?state=alive`)).json()) as { members: unknown[] })), (all) => all.every((r) => r.members.length === 4));
  // let everyone probe charlie a few times, so the ring holds acks
  await until('alpha has acks of charlie', 15_000, () => explain(httpA, 'charlie'), (r) => r.body.probes.some((p) => p.kind === 'ack'));

  const unknown = await explain(httpA, 'nobody');
  t.equal(unknown.status, 404, 'an unknown member is a 404');
  t.equal(unknown.body.error?.code, 'E_NOT_FOUND');

  // SIGSTOP: another agent shows it suspect, with its suspecter (about 2 s on a quiet
  // machine, printed below; the bound is loose because CI runs test files in parallel)
  c.proc.kill('SIGSTOP');
  const stoppedAt = Date.now();
  // any other agent will do: on a loaded machine one observer's probes may be inconclusive
  // (its own timers late), and Lifeguard then rightly accuses nobody
  const suspect = await until('charlie suspect on another agent', 10_000, async () => {
    for (const [who, http] of [['alpha', httpA], ['bravo', httpB], ['delta', httpD]] as const) {
      const r = await explain(http, 'charlie');
      if (r.body.state === 'suspect') return { who, ...r };
    }
    return undefined;
  }, (r) => r !== undefined && r.body.suspicion !== null).then((r) => r!);
  t.comment(`${suspect.who} saw charlie suspect ${Date.now() - stoppedAt} ms after SIGSTOP`);
  t.ok(['alpha', 'bravo', 'delta'].includes(suspect.body.suspicion!.by), `suspected first by ${suspect.body.suspicion!.by}`);
  t.ok(suspect.body.live !== null && suspect.body.live.leftMs > 0, 'the live Lifeguard timer is shown');
  const httpS = suspect.who === 'alpha' ? httpA : suspect.who === 'bravo' ? httpB : httpD;
  const confirmed = await until('a confirmation', 6000, () => explain(httpS, 'charlie'), (r) => r.body.state === 'suspect' && r.body.suspicion!.confirmations.length > 0);
  t.comment(`first confirmation seen on ${suspect.who} ${Date.now() - stoppedAt} ms after SIGSTOP: ${JSON.stringify(confirmed.body.suspicion)}; timer ${JSON.stringify(confirmed.body.live)}`);
  const s = confirmed.body.suspicion!;
  t.ok(s.confirmations.every((x) => x.from !== s.by && ['alpha', 'bravo', 'delta'].includes(x.from)), 'confirmations come from the other observers, not the suspecter');
  t.ok(confirmed.body.live!.timeoutMs < confirmed.body.live!.maxMs, 'a confirmation shortened the timeout below its maximum');

  // the CLI renders the same evidence
  let text = '';
  const code = await runCli('members', ['why', 'charlie', '--http', httpS], { out: (x) => (text += x), err: (x) => (text += x), env: {} });
  t.equal(code, 0);
  t.match(text, /charlie at 127\.0\.0\.43:\d+: suspect at incarnation \d+/);
  t.match(text, /suspicion: suspected first by (alpha|bravo|delta)/);
  t.match(text, /Lifeguard timeout .* \(min .*, max .*\)/);

  // SIGCONT: it refutes, and the observer keeps the suspicion it refuted
  c.proc.kill('SIGCONT');
  const refuted = await until('charlie refuted on the agent that suspected it', 10_000, () => explain(httpS, 'charlie'), (r) => r.body.state === 'alive' && r.body.refutation !== null);
  t.ok(refuted.body.refutation!.incarnation > suspect.body.incarnation, `alive again at a higher incarnation (${refuted.body.refutation!.incarnation})`);
  t.ok(refuted.body.refutation!.suspicion !== null, 'with the suspicion it ended');
  t.same(refuted.body.history.slice(0, 2).map((h) => h.state), ['alive', 'suspect']);

  // SIGKILL: some agent declares it dead, and every other says who
  c.proc.kill('SIGKILL');
  const dead = await until('charlie dead on delta', 30_000, () => explain(httpD, 'charlie'), (r) => r.body.state === 'dead');
  t.ok(['alpha', 'bravo', 'delta'].includes(dead.body.death!.by), `declared dead by ${dead.body.death!.by}`);
  t.equal(dead.body.death!.state, 'dead');
  text = '';
  await runCli('members', ['why', 'charlie', '--http', httpD], { out: (x) => (text += x), err: (x) => (text += x), env: {} });
  t.match(text, /dead: declared by (alpha|bravo|delta) .* ago at incarnation \d+/);
  t.comment(text);
});

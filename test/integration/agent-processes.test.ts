import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor as waitUntil } from './fixtures.js';

const waitFor = (what: string, cond: () => boolean): Promise<void> => waitUntil(what, cond, 40_000, 50);

const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-agents-'));
const dataDir = (name: string): string => join(tmp, name);
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Agent {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  address: Promise<string>;
  exit: Promise<number | null>;
}

function startAgent(name: string, ip: string, join?: string, extra: string[] = []): Agent {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', 'off', '--data-dir', dataDir(name), '--profile', 'local', '--log-format', 'json', ...extra];
  if (join) args.push('--join', join);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  let resolveAddress: (a: string) => void = () => {};
  const address = new Promise<string>((r) => (resolveAddress = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      if (e.event === 'started') resolveAddress(String(e.address));
    } catch {
      // not a log line
    }
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, events, address, exit };
}

const saw = (a: Agent, event: string, name: string): boolean => a.events.some((e) => e.event === event && e.name === name);

t.test('separate agent processes: SIGKILL is detected as dead, SIGTERM leaves gracefully', async (t) => {
  const a = startAgent('alpha', '127.0.0.21');
  t.teardown(() => {
    for (const x of agents) x.proc.kill('SIGKILL');
  });
  const agents = [a];
  const seed = await a.address;
  const b = startAgent('bravo', '127.0.0.22', seed);
  const c = startAgent('charlie', '127.0.0.23', seed);
  const d = startAgent('delta', '127.0.0.24', seed);
  agents.push(b, c, d);
  await waitFor('everyone joined', () => ['bravo', 'charlie', 'delta'].every((n) => saw(a, 'member-join', n)) && saw(d, 'member-join', 'bravo'));
  t.pass('four processes formed a cluster');

  c.proc.kill('SIGKILL');
  await waitFor('charlie declared dead', () => [a, b, d].every((x) => saw(x, 'member-dead', 'charlie')));
  t.pass('a SIGKILLed agent is declared dead by every other agent');

  d.proc.kill('SIGTERM');
  t.equal(await d.exit, 0, 'SIGTERM: graceful leave, exit 0');
  await waitFor('delta left', () => [a, b].every((x) => saw(x, 'member-leave', 'delta')));
  t.notOk([a, b].some((x) => saw(x, 'member-dead', 'delta')), 'the agent that left is not reported dead');
});

t.test('bad flags get a precise message and exit code 2', async (t) => {
  const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stderr }));
    });
  const unknown = await run(['agent', '--bogus']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--bogus/);
  const profile = await run(['agent', '--profile', 'moon']);
  t.equal(profile.code, 2);
  t.match(profile.stderr, /--profile must be lan, wan or local/);
  const cmd = await run(['frobnicate']);
  t.equal(cmd.code, 2);
  t.match(cmd.stderr, /unknown command "frobnicate"/);
  const addr = await run(['agent', '--bind', 'not-an-address']);
  t.equal(addr.code, 2);
  t.match(addr.stderr, /E_ADDRESS|address/);
});

t.test('a second signal during the graceful leave forces exit 1', async (t) => {
  // lan timing: the leave waits for the leave broadcast to go out over gossip rounds of
  // 200 ms, long enough for a second signal to land in the middle of it
  const a = startAgent('echo', '127.0.0.25', undefined, ['--profile', 'lan']);
  const b = startAgent('foxtrot', '127.0.0.26', await a.address, ['--profile', 'lan']);
  t.teardown(() => {
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGKILL');
  });
  await waitFor('joined', () => saw(a, 'member-join', 'foxtrot') && saw(b, 'member-join', 'echo'));
  b.proc.kill('SIGINT');
  await waitFor('leaving', () => b.events.some((e) => e.event === 'leaving'));
  b.proc.kill('SIGINT');
  t.equal(await b.exit, 1, 'forced exit code');
  t.ok(b.events.some((e) => e.event === 'forced-exit' && e.signal === 'SIGINT'), 'logged as forced-exit');
  t.notOk(b.events.some((e) => e.event === 'left'), 'the leave did not complete');
});

t.test('a gossip or HTTP port in use: one line naming it, exit 1', async (t) => {
  const a = startAgent('golf', '127.0.0.27');
  t.teardown(() => a.proc.kill('SIGKILL'));
  const taken = await a.address;
  const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', bin, 'agent', '--data-dir', dataDir(`busy-${args.join('')}`), '--log-level', 'silent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stderr }));
    });
  const gossip = await run(['--bind', taken, '--http', 'off']);
  t.equal(gossip.code, 1);
  const [host, port] = [taken.slice(0, taken.lastIndexOf(':')), taken.slice(taken.lastIndexOf(':') + 1)];
  t.equal(gossip.stderr, `clusterd: port ${port} on ${host} is already in use (udp) (E_ADDRESS)\n`);
  const http = await run(['--bind', '127.0.0.27:0', '--http', taken]);
  t.equal(http.code, 1, 'the HTTP API on a port the gossip TCP listener holds');
  t.match(http.stderr, /^clusterd: cannot bind the HTTP API to 127\.0\.0\.27:\d+: port already in use \(E_ADDRESS\)\n$/);
});

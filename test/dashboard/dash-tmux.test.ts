import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard in a real terminal: tmux runs `clusterd dash` against a live 3-agent
 * cluster in a detached 120x40 session; the test reads the screen with capture-pane and
 * drives it with send-keys. Set DASH_SCREENSHOT=FILE to keep a capture (docs use it).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'clusterd.ts');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

interface AgentProc {
  name: string;
  proc: ChildProcess;
  started: Promise<{ address: string; http: string }>;
}

function startAgent(dir: string, name: string, ip: string, join?: string): AgentProc {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', `${dir}/${name}`,
    '--profile', 'local', '--log-format', 'json', '--role', 'broker', '--endpoint', `ws=ws://${ip}:8080`];
  if (join) args.push('--join', join);
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<{ address: string; http: string }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`agent ${name} exited with ${code} before starting`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        // the agent logs the addresses it actually bound (port 0 picks one) in "started"
        if (e.event === 'started') resolve({ address: String(e.address), http: String(e.http) });
      } catch {
        // not a log line
      }
    });
  });
  return { name, proc, started };
}

t.test('clusterd dash in tmux against a live 3-agent cluster', { skip: hasTmux ? false : 'tmux not found on PATH: install tmux to run the real-terminal test of clusterd dash' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-dash-'));
  const socket = `clusterd-dash-test-${process.pid}`;
  const tmux = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const agents: AgentProc[] = [];
  t.teardown(async () => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    // the agents write to their data dirs until they are gone: wait for them before removing it
    await Promise.all(agents.map((a) => a.proc.exitCode !== null || a.proc.signalCode !== null ? undefined : new Promise((r) => {
      a.proc.once('exit', r);
      a.proc.kill('SIGKILL');
    })));
    rmSync(dir, { recursive: true, force: true });
  });

  const alpha = startAgent(dir, 'alpha', '127.0.0.41');
  agents.push(alpha);
  const a = await alpha.started;
  const bravo = startAgent(dir, 'bravo', '127.0.0.42', a.address);
  const charlie = startAgent(dir, 'charlie', '127.0.0.43', a.address);
  agents.push(bravo, charlie);
  await Promise.all([bravo.started, charlie.started]);

  // a clean shell with a known prompt, so the restored terminal is recognisable
  tmux('new-session', '-d', '-s', 'dash', '-x', '120', '-y', '40', `env -i PATH='${process.env.PATH ?? ''}' HOME='${dir}' LANG=C.UTF-8 PS1='$ ' bash --norc --noprofile`);
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'dash');
  const keys = (...k: string[]): void => void tmux('send-keys', '-t', 'dash', ...k);
  const waitScreen = async (what: string, ok: (s: string) => boolean, timeoutMs = 30_000): Promise<string> => {
    const start = Date.now();
    for (;;) {
      const s = screen();
      if (ok(s)) return s;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}; the screen was:\n${s}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  /** The member table's row of `name` (rows start at the left border). */
  const row = (s: string, name: string): string | undefined => s.split('\n').find((l) => l.startsWith(`│${name} `));
  const memberRows = (s: string): string[] => s.split('\n').filter((l) => /^│(alpha|bravo|charlie) /.test(l)).map((l) => l.slice(1).split(' ')[0]!);

  keys(`cd '${root}' && '${process.execPath}' --import tsx '${bin}' dash --http ${a.http}; echo "DASH-EXIT=$?"`, 'Enter');

  // the in-sync flag comes from the dashboard's first /v1/sync poll, which may land after the member list
  let s = await waitScreen('the three members, alive, and the first sync poll', (x) => x.includes('members 3: 3 alive') && ['alpha', 'bravo', 'charlie'].every((n) => / alive /.test(row(x, n) ?? '')) && /in sync (yes|no|catching up|n\/a)/.test(x));
  t.match(s, /clusterd dash 127\.0\.0\.41:\d+ +node alpha +● live/, 'header: agent, node, live stream');
  t.match(s, /in sync (yes|no|catching up|n\/a)/, 'header: in-sync flag');
  t.match(s, /frames [\d.k-]+\/s +bytes/, 'header: frame and byte rates');
  t.match(s, /Brokers 3/, 'brokers panel');
  t.match(s, /Activity/);
  t.match(s, /q quit +\? help/, 'footer with keys');
  t.same(memberRows(s), ['alpha', 'bravo', 'charlie'], 'sorted by name');
  t.ok(s.split('\n').every((l) => l.length <= 120), 'nothing wider than the terminal');
  if (process.env.DASH_SCREENSHOT) writeFileSync(process.env.DASH_SCREENSHOT, s);

  // sort: S reverses, s moves to the next column
  keys('S');
  s = await waitScreen('reverse sort', (x) => x.includes('NAME▼'));
  t.same(memberRows(s), ['charlie', 'bravo', 'alpha'], 'S reverses the order');
  keys('s');
  s = await waitScreen('sort by address', (x) => x.includes('ADDRESS▲'));
  t.same(memberRows(s), ['alpha', 'bravo', 'charlie'], '127.0.0.41 < .42 < .43');

  // filter
  keys('/');
  keys('-l', 'brav');
  s = await waitScreen('filter applied', (x) => x.includes('/brav█') && memberRows(x).length === 1);
  t.same(memberRows(s), ['bravo'], 'the filter keeps only bravo');
  keys('Enter');
  s = await waitScreen('filter kept, keys back in the footer', (x) => x.includes('q quit') && x.includes('filter "brav"'));
  keys('Escape');
  s = await waitScreen('filter cleared', (x) => memberRows(x).length === 3);
  t.pass('escape clears the filter');

  // details and help
  keys('Enter');
  s = await waitScreen('member details', (x) => /Member alpha/.test(x) && /endpoints/.test(x));
  t.match(s, /ws = ws:\/\/127\.0\.0\.41:8080/, 'the member\'s endpoints');
  keys('Escape');
  await waitScreen('details closed', (x) => !/Member alpha/.test(x));
  keys('?');
  s = await waitScreen('help', (x) => x.includes('clusterd dash: keys'));
  t.match(s, /s +sort the members by the next column/);
  keys('Escape');
  await waitScreen('help closed', (x) => !x.includes('clusterd dash: keys'));

  // a SIGKILLed agent turns suspect, then dead
  charlie.proc.kill('SIGKILL');
  s = await waitScreen('charlie suspect', (x) => / suspect /.test(row(x, 'charlie') ?? '') || / dead /.test(row(x, 'charlie') ?? ''));
  t.match(row(s, 'charlie'), / suspect /, 'charlie is shown suspect first');
  // its details say why, from the agent's evidence: who suspected it (and, once dead, who declared it)
  keys('Down');
  keys('Down');
  keys('Enter');
  s = await waitScreen('charlie\'s evidence', (x) => /Member charlie/.test(x) && /suspected first by (alpha|bravo)/.test(x));
  t.match(s, /why \(evidence from this agent\)/, 'the member pane shows the suspicion evidence');
  if (process.env.DASH_EVIDENCE_SCREENSHOT) writeFileSync(process.env.DASH_EVIDENCE_SCREENSHOT, s);
  keys('Escape');
  await waitScreen('details closed', (x) => !/Member charlie/.test(x));
  s = await waitScreen('charlie dead', (x) => / dead /.test(row(x, 'charlie') ?? ''), 40_000);
  t.match(s, /members 3: 2 alive 0 suspect 1 dead 0 left/, 'header counts follow');
  t.match(s, /charlie \(127\.0\.0\.43:\d+, inc \d+\) is suspect/, 'event log: suspicion');
  t.match(s, /charlie \(127\.0\.0\.43:\d+, inc \d+\) is dead/, 'event log: death');

  // resize to the smallest supported terminal
  tmux('resize-window', '-t', 'dash', '-x', '80', '-y', '24');
  s = await waitScreen('80x24 layout', (x) => x.split('\n').every((l) => l.length <= 80) && /q quit/.test(x) && /Members 3/.test(x));
  t.ok(['alpha', 'bravo', 'charlie'].every((n) => row(s, n) !== undefined), 'all members still listed at 80x24');
  t.match(row(s, 'charlie'), / dead /);

  // q quits, the terminal is restored and the process exits 0
  keys('q');
  s = await waitScreen('the shell back', (x) => /DASH-EXIT=\d/.test(x));
  t.match(s, /DASH-EXIT=0/, 'exit code 0');
  t.notMatch(s, /[┌│└]|Members|q quit/, 'no dashboard leftovers on the restored screen');
  t.notMatch(s, /Error|at .*\.js:\d+/, 'no stack trace');
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  t.equal(lines.at(-1)?.trim(), '$', 'the shell prompt is back');
});

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ApiClient } from '../client/api-client.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Agents to start, on 127.0.0.11, .12, ... @default 5 */
  nodes?: number;
  /** Path of the clusterd entry script to spawn agents with. @default process.argv[1] */
  script?: string;
  /** Extra node flags for the children (e.g. ["--import", "tsx"]). @default process.execArgv */
  execArgv?: string[];
}

const USERS = ['ann', 'bob', 'cho', 'dee', 'eve', 'fay', 'gus'];
const LINES = ['hi all', 'anyone up?', 'deploy is green', 'lunch?', 'brb', 'nice', 'ship it'];

/**
 * `npm run demo`: a 5-node cluster on 127.0.0.11–15 (gossip :7946, HTTP :7947 on each
 * address, data dirs in a temporary directory) with users joining and leaving a
 * `lobby` channel and chatting, so `clusterd members --http 127.0.0.12:7947`,
 * `clusterd monitor --http ...` or the dashboard have something to show. Ctrl-C stops
 * every agent gracefully.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<void> {
  const n = opts.nodes ?? 5;
  const script = opts.script ?? process.argv[1]!;
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-demo-'));
  const children: ChildProcess[] = [];
  const ips = Array.from({ length: n }, (_, i) => `127.0.0.${11 + i}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the demo cluster (graceful leave)...\n');
    for (const c of children) c.kill('SIGTERM');
    Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))))).then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }, () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const launch = async (i: number, ip: string): Promise<void> => {
    const args = [...(opts.execArgv ?? process.execArgv), script, 'agent', '--name', `demo-${i + 1}`, '--bind', `${ip}:7946`, '--http', `${ip}:7947`,
      '--data-dir', join(dir, `demo-${i + 1}`), '--profile', 'local', '--log-format', 'json', '--role', 'broker', '--endpoint', `ws=ws://${ip}:8080`];
    if (i > 0) args.push('--join', `${ips[0]}:7946`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const started = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"event":"started"')) resolve();
      });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => {
        if (!stopping) reject(new Error(`agent demo-${i + 1} exited with ${code}: ${err.trim()} (on macOS, add loopback aliases: sudo ifconfig lo0 alias ${ip})`));
      });
    });
    await started;
    process.stdout.write(`started demo-${i + 1}: gossip ${ip}:7946, HTTP http://${ip}:7947\n`);
  };
  // the seed first, then the others together
  await launch(0, ips[0]!);
  await Promise.all(ips.slice(1).map((ip, i) => launch(i + 1, ip)));
  process.stdout.write([
    '',
    `A ${n}-node cluster is running. Try, in another terminal:`,
    `  npx clusterd members --http ${ips[1]}:7947`,
    `  npx clusterd presence lobby --http ${ips[2]}:7947`,
    `  npx clusterd history lobby --http ${ips[3]}:7947`,
    `  npx clusterd monitor --channel lobby --http ${ips[0]}:7947`,
    'Ctrl-C stops the demo.',
    '',
  ].join('\n') + '\n');

  const clients = ips.map((ip) => new ApiClient({ http: `${ip}:7947` }));
  const online = new Map<string, number>();
  let tick = 0;
  const timer = setInterval(() => {
    if (stopping) return clearInterval(timer);
    tick++;
    const user = USERS[tick % USERS.length]!;
    const node = tick % n;
    const act = async (): Promise<void> => {
      if (online.has(user) && tick % 3 === 0) {
        await clients[online.get(user)!]!.request('DELETE', `/v1/channels/lobby/presence/${user}-1`);
        online.delete(user);
      } else if (!online.has(user)) {
        await clients[node]!.request('PUT', `/v1/channels/lobby/presence/${user}-1`, { user, info: { node: node + 1 } });
        online.set(user, node);
      } else {
        await clients[online.get(user)!]!.request('POST', '/v1/channels/lobby/messages', { data: { user, text: LINES[tick % LINES.length] } });
      }
    };
    act().catch(() => {});
    if (tick % 10 === 0) {
      clients[(tick / 10) % n]!.request<{ clients: unknown[] }>('GET', '/v1/channels/lobby/presence').then(
        (p) => process.stdout.write(`${new Date().toISOString()} lobby: ${p.clients.length} online, seen from demo-${((tick / 10) % n) + 1}\n`),
        () => {},
      );
    }
  }, 700);
}

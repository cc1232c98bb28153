#!/usr/bin/env node
import { constants, totalmem } from 'node:os';
import { CLI_COMMANDS, runCli } from '../lib/cli/cli.js';
import { ConfigError } from '../lib/daemon/config.js';
import { DataDirError } from '../lib/daemon/persistence.js';
import { agentHelp, runAgent } from '../lib/daemon/run-agent.js';
import { isClusterError } from '../lib/errors.js';

const USAGE = `clusterd: SWIM membership, broker lists and replicated state for realtime clusters

Usage:
  clusterd agent [options]     start a node (clusterd agent --help lists the options)
  clusterd sim <scenario>      run a simulation scenario (clusterd sim --help, --list)
  clusterd demo                a 5-node cluster on 127.0.0.11-15 with presence and chat traffic
  clusterd dash [--http H:P]   live terminal dashboard of the cluster (clusterd dash --help)
  clusterd help                show this help

Commands that talk to a running agent (--http HOST:PORT, default 127.0.0.1:7947 or
$CLUSTERD_HTTP; --token or $CLUSTERD_TOKEN; --json for scripts):
${Object.entries(CLI_COMMANDS).map(([c, d]) => `  ${c.padEnd(10)} ${d}`).join('\n')}

Exit codes: 0 ok, 1 the agent refused (message names the problem), 2 usage error,
3 agent unreachable, 4 some members not updated (keys) or not recorded (record).
`;

/** A usage error: printed without a stack trace, exit code 2. */
class UsageError extends Error {}

async function agent(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(agentHelp());
    return;
  }
  await runAgent(argv);
}

/**
 * The V8 heap of a simulated run, unless the command line already sets it. A simulation
 * allocates a great many objects that live a few virtual seconds (timers, queued gossip,
 * suspicions): with V8's default young generation (16 MiB semi-spaces) they survive
 * scavenges and are copied, then promoted; 256 MiB semi-spaces let most of them die
 * young (the 1,000-node split brain takes 18 % less CPU, docs/benchmarks.md). And the
 * default old-space limit (about 4 GiB) is arbitrary for a process whose size is the
 * scenario's: 1,000 nodes with a workload need more, so the limit is three quarters of
 * the machine's memory. Heap flags only work at startup: `clusterd sim` runs itself
 * again with them.
 */
function simHeapFlags(): string[] {
  const set = (flag: string): boolean => process.execArgv.some((a) => a.startsWith(flag)) || (process.env.NODE_OPTIONS ?? '').includes(flag);
  const flags: string[] = [];
  if (!set('--max-semi-space-size')) flags.push('--max-semi-space-size=256');
  if (!set('--max-old-space-size')) flags.push(`--max-old-space-size=${Math.floor((totalmem() / 2 ** 20) * 0.75)}`);
  return flags;
}

/** True for a simulated run (not --real, whose agents must stay our children, nor --list/--help) not yet started with its heap flags. */
function wantsSimHeap(args: string[]): boolean {
  if (process.env.CLUSTERD_SIM_HEAP === '1' || simHeapFlags().length === 0) return false;
  return !args.some((a) => a === '--real' || a === '--list' || a === '--help' || a === '-h');
}

/** Runs this same command in a child Node with `flags` added, forwarding signals; resolves with its exit code. */
async function rerunWith(flags: string[]): Promise<number> {
  // loaded here: node:child_process costs the agent's start about 10 ms and it needs none
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, CLUSTERD_SIM_HEAP: '1' } });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const sig of signals) process.on(sig, forward);
    child.on('error', (err) => {
      process.stderr.write(`clusterd sim: could not start ${process.execPath}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const sig of signals) process.off(sig, forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'agent':
      return agent(rest);
    case 'sim': {
      if (wantsSimHeap(rest)) {
        process.exitCode = await rerunWith(simHeapFlags());
        return;
      }
      // loaded on demand: the agent does not need the simulator
      const { simCommand } = await import('../simulations/cli.js');
      process.exitCode = await simCommand(rest);
      return;
    }
    case 'members':
    case 'join':
    case 'leave':
    case 'brokers':
    case 'channels':
    case 'presence':
    case 'publish':
    case 'history':
    case 'monitor':
    case 'keys':
    case 'info':
    case 'record':
      process.exitCode = await runCli(command, rest, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
      return;
    case 'dash': {
      // loaded on demand: only the dashboard needs blessed
      const { runDash } = await import('../lib/dashboard/dash.js');
      process.exitCode = await runDash(rest, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
      return;
    }
    case 'demo': {
      const { runDemo } = await import('../lib/cli/demo.js');
      await runDemo();
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}" (try: clusterd help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DataDirError || err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`clusterd: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (isClusterError(err)) {
    process.stderr.write(`clusterd: ${err.message} (${err.code})\n`);
    process.exit(1);
  }
  process.stderr.write(`clusterd: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});


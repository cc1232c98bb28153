import { parseArgs } from 'node:util';
import { ApiClient } from '../client/api-client.js';
import { Feed } from './feed.js';
import { DashState } from './state.js';

/** Help text of `clusterd dash`. */
export const DASH_HELP = `Usage: clusterd dash [--http HOST:PORT] [--token TOKEN]

A live terminal dashboard of the cluster as one agent sees it: members and their states,
brokers, channels, activity sparklines and membership events.

Options:
  --http HOST:PORT   the agent's HTTP API (default: $CLUSTERD_HTTP, else 127.0.0.1:7947)
  --token TOKEN      bearer token, for agents started with --token (default: $CLUSTERD_TOKEN)
  -h, --help         this help

Keys: q quit, ? help, tab next panel, arrows move, enter details, s sort, / filter.
`;

/** Where `runDash` writes its few lines outside the screen (tests inject them). */
export interface DashIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** True when stdin and stdout are terminals. @default process.stdin.isTTY && process.stdout.isTTY */
  isTTY?: boolean;
}

/**
 * `clusterd dash`: runs the dashboard until `q`, Ctrl-C, SIGTERM or SIGHUP, and resolves
 * with the exit code (0 after a clean quit, 2 for usage errors). The terminal is restored
 * on every exit path, and errors are reported in one line, never as a stack trace.
 */
export async function runDash(argv: string[], io: DashIo): Promise<number> {
  let values: { http?: string | undefined; token?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { http: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    io.err(`clusterd dash: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\n`);
    return 2;
  }
  if (values.help) {
    io.out(DASH_HELP);
    return 0;
  }
  const isTTY = io.isTTY ?? (process.stdin.isTTY === true && process.stdout.isTTY === true);
  if (!isTTY) {
    io.err('clusterd dash: needs an interactive terminal (stdin and stdout must be a TTY); for scripts use clusterd members / monitor --json\n');
    return 2;
  }
  const http = values.http ?? io.env.CLUSTERD_HTTP ?? '127.0.0.1:7947';
  const token = values.token ?? io.env.CLUSTERD_TOKEN;
  const client = new ApiClient({ http, token, timeoutMs: 5000 });
  const state = new DashState(client.base.replace(/^http:\/\//, ''));
  const feed = new Feed(client, state);

  // loaded here so that `clusterd` commands other than dash never load blessed
  const { DashScreen } = await import('./screen.js');

  return new Promise<number>((resolve) => {
    let screen: InstanceType<typeof DashScreen> | undefined;
    let done = false;
    const finish = (code: number, message?: string): void => {
      if (done) return;
      done = true;
      feed.stop();
      try {
        screen?.destroy();
      } catch {
        // the terminal is going away anyway
      }
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('SIGINT', onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      if (message !== undefined) io.err(message);
      resolve(code);
    };
    const onSignal = (): void => finish(0);
    // a bug in the dashboard must leave a usable terminal and one line, not a raw-mode
    // terminal covered in a stack trace
    const onCrash = (err: unknown): void => finish(1, `clusterd dash: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    process.on('SIGINT', onSignal);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    try {
      screen = new DashScreen(state, {
        onQuit: () => finish(0),
        onOpenChannel: (c) => feed.openChannel(c),
        onOpenMember: (name) => feed.openMember(name),
      });
      feed.start();
    } catch (err) {
      onCrash(err);
    }
  });
}

import { Agent } from './agent.js';
import { agentOptionsHelp, loadAgentConfig } from './config.js';
import { createLogger } from './logger.js';

/**
 * `clusterd agent`: resolves the configuration, starts the agent, and turns SIGINT and
 * SIGTERM into a graceful leave (exit 0); a second signal forces exit 1. Throws
 * ConfigError / DataDirError / ClusterError for the caller to print.
 */
export async function runAgent(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Agent> {
  const cfg = loadAgentConfig(argv, env);
  const log = createLogger({ level: cfg.logLevel, format: cfg.logFormat });
  const agent = await Agent.start(cfg, log, (code) => process.exit(code));

  let signals = 0;
  const onSignal = (signal: string): void => {
    if (++signals > 1) {
      log.warn({ event: 'forced-exit', signal }, 'forced-exit');
      process.exit(1);
    }
    void agent.shutdown(signal, true);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  if (cfg.logFormat === 'pretty' && cfg.join.length === 0) {
    const http = agent.httpAddress;
    const gossip = agent.node.transport.advertiseAddress;
    process.stdout.write([
      '',
      `A single-node cluster "${agent.node.name}" is running (gossip ${gossip}${http ? `, HTTP API http://${http}` : ''}).`,
      'Next steps, in another terminal:',
      `  npx clusterd agent --bind 127.0.0.2:7946 --http 127.0.0.2:7947 --data-dir ./data-2 --join ${gossip}   # add a node`,
      '  npx clusterd members                                   # who is in the cluster',
      '  npx clusterd publish chat \'{"text":"hello"}\'           # publish to a channel',
      '  npx clusterd history chat                              # read it back (from any node)',
      '  npx clusterd monitor                                   # tail events',
      ...(http ? [`  curl http://${http}/v1/members                 # the HTTP API (docs/http-api.md)`] : []),
      'Press Ctrl-C to leave the cluster gracefully.',
      '',
    ].join('\n') + '\n');
  }
  return agent;
}

/** Help text of `clusterd agent`. */
export function agentHelp(): string {
  return `Usage: clusterd agent [options]

Options (precedence: flags > CLUSTERD_* environment > --config file > defaults):
${agentOptionsHelp()}
`;
}

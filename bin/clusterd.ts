#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { Keyring } from '../lib/codec/keyring.js';
import { PROFILES } from '../lib/config.js';
import type { ProfileName } from '../lib/config.js';
import { isClusterError } from '../lib/errors.js';
import { ClusterNode } from '../lib/node.js';
import type { MemberInfo } from '../lib/swim/membership.js';
import { NetTransport } from '../lib/transport/net.js';
import { hostname } from 'node:os';

const USAGE = `clusterd: SWIM membership, broker lists and replicated state for realtime clusters

Usage:
  clusterd agent [options]     start a node
  clusterd sim <scenario>      run a simulation scenario (clusterd sim --help, --list)
  clusterd help                show this help

Agent options:
  --name NAME          unique node name (default: <hostname>-<port>)
  --bind HOST:PORT     gossip address to bind, UDP and TCP (default: 127.0.0.1:7946)
  --advertise HOST:PORT  address peers should use (default: the bind address)
  --join HOST:PORT     a seed to join through (repeatable)
  --role ROLE          a role to advertise, e.g. broker (repeatable)
  --tag KEY=VALUE      a tag to advertise (repeatable)
  --endpoint KEY=URL   an endpoint to advertise, e.g. ws=ws://10.0.0.1:8080 (repeatable)
  --profile NAME       timing profile: lan, wan or local (default: lan)
  --label LABEL        cluster label; frames of other labels are rejected
  --encrypt-key BASE64 32-byte AES-256 key, base64
  --log-format FORMAT  pretty or json (default: pretty)
`;

/** A usage error: printed without a stack trace, exit code 2. */
class UsageError extends Error {}

function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got "${v}"`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

async function agent(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      name: { type: 'string' },
      bind: { type: 'string', default: '127.0.0.1:7946' },
      advertise: { type: 'string' },
      join: { type: 'string', multiple: true },
      role: { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      endpoint: { type: 'string', multiple: true },
      profile: { type: 'string', default: 'lan' },
      label: { type: 'string', default: '' },
      'encrypt-key': { type: 'string' },
      'log-format': { type: 'string', default: 'pretty' },
    },
  });
  if (!(values.profile! in PROFILES)) throw new UsageError(`--profile must be lan, wan or local, got "${values.profile}"`);
  const format = values['log-format'];
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--log-format must be pretty or json, got "${format}"`);
  let keyring: Keyring | undefined;
  if (values['encrypt-key'] !== undefined) {
    const key = Buffer.from(values['encrypt-key'], 'base64');
    if (key.length !== 32) throw new UsageError(`--encrypt-key must be 32 bytes in base64 (got ${key.length} bytes)`);
    keyring = new Keyring(key);
  }

  const transport = await NetTransport.listen({ bind: values.bind!, ...(values.advertise ? { advertise: values.advertise } : {}) });
  const port = transport.advertiseAddress.slice(transport.advertiseAddress.lastIndexOf(':') + 1);
  const name = values.name ?? `${hostname()}-${port}`;
  const node = new ClusterNode({
    name,
    transport,
    profile: values.profile as ProfileName,
    label: values.label!,
    ...(keyring ? { keyring } : {}),
    meta: { roles: values.role ?? [], tags: pairs(values.tag, '--tag'), endpoints: pairs(values.endpoint, '--endpoint') },
  });

  const log = (event: string, fields: Record<string, unknown>): void => {
    if (format === 'json') console.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
    else console.log(`${new Date().toISOString()} ${event.padEnd(15)} ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`);
  };
  const member = (m: MemberInfo): Record<string, unknown> => ({ name: m.name, address: m.address, incarnation: m.incarnation });
  for (const type of ['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped'] as const) {
    node.membership.on(type, (m) => log(type, member(m)));
  }
  node.membership.on('health-changed', (h) => log('health-changed', h));
  node.membership.on('name-conflict', (c) => log('name-conflict', c));

  node.start();
  log('started', { name, address: transport.advertiseAddress, bind: transport.bindAddress, profile: values.profile });
  if (format === 'pretty' && !values.join) {
    console.log(`\nA single-node cluster is running. In another terminal, add a node:\n  npx clusterd agent --bind 127.0.0.2:7946 --join ${transport.advertiseAddress}\nPress Ctrl-C to leave the cluster gracefully.\n`);
  }
  if (values.join) {
    node.join(values.join).then(
      (n) => log('joined', { contacted: n }),
      (err: Error) => log('join-failed', { error: err.message, retrying: 'in the background' }),
    );
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log('forced-exit', { signal });
      process.exit(1);
    }
    stopping = true;
    log('leaving', { signal });
    node.leave().then(
      () => {
        log('left', {});
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'agent':
      return agent(rest);
    case 'sim': {
      // loaded on demand: the agent does not need the simulator
      const { simCommand } = await import('../simulations/cli.js');
      process.exitCode = await simCommand(rest);
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
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
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


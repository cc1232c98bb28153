import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { PROFILES, parseAddress } from '../internal.js';
import type { ProfileName } from '../internal.js';

/** Log levels the agent accepts (pino's). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** When the history log is fsynced. */
export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

/** Default gossip address of the agent. */
export const DEFAULT_BIND = '127.0.0.1:7946';
/** Default HTTP API address: loopback, so nothing is exposed unless asked for. */
export const DEFAULT_HTTP = '127.0.0.1:7947';

/** The agent's resolved configuration (see docs/operations.md for every option). */
export interface AgentConfig {
  /** Unique node name. @default the name stored in the data dir, else `<hostname>-<port>` */
  name: string | undefined;
  /** Gossip address (UDP and TCP). @default "127.0.0.1:7946" */
  bind: string;
  /** Address peers use to reach us. @default the bind address */
  advertise: string | undefined;
  /** Seeds to join through. @default [] */
  join: string[];
  /** Advertised roles. @default [] */
  roles: string[];
  /** Advertised tags. @default {} */
  tags: Record<string, string>;
  /** Advertised endpoints (e.g. ws=ws://host:8080). @default {} */
  endpoints: Record<string, string>;
  /** Timing profile. @default "lan" */
  profile: ProfileName;
  /** Base64 32-byte AES-256 gossip key. @default undefined (no encryption) */
  encryptKey: string | undefined;
  /** JSON file with a list of base64 keys, primary first. @default undefined */
  keyringFile: string | undefined;
  /** Cluster label. @default "" */
  label: string;
  /** HTTP API address; "off" disables the API. @default "127.0.0.1:7947" */
  http: string;
  /** Data directory. @default "./clusterd-data" */
  dataDir: string;
  /** @default "info" */
  logLevel: LogLevel;
  /** @default "pretty" */
  logFormat: 'json' | 'pretty';
  /** Bearer token required by the HTTP API for writes (and reads, see authReads). @default undefined */
  token: string | undefined;
  /** With a token: reads need it too. @default true */
  authReads: boolean;
  /** Largest accepted HTTP request body, bytes. @default 1048576 */
  maxBodyBytes: number;
  /** History log fsync policy. @default "interval" */
  fsync: FsyncPolicy;
  /** Advertise this node's measured load (clients, streams, publishRate) in its metadata. @default true */
  autoLoad: boolean;
  /** Shortest time between two load updates of the metadata, ms. @default 1000 */
  loadIntervalMs: number;
  /** Enables the fault-injection admin routes (testing only). @default false */
  enableFaults: boolean;
  /** Keeps the flight recorder served at GET /v1/record (decision 0060). @default true */
  flightRecorder: boolean;
  /** Config file the options were read from. @default undefined */
  config: string | undefined;
}

/** A configuration error: the message names the option and what is wrong. Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Kind = 'string' | 'list' | 'pairs' | 'bool' | 'int';

interface OptionSpec {
  key: keyof AgentConfig;
  flag: string;
  kind: Kind;
  /** Flag value placeholder in the help text. */
  arg: string;
  help: string;
}

/** Every agent option; flags, env vars (`CLUSTERD_` + upper snake case) and file fields derive from it. */
export const AGENT_OPTIONS: readonly OptionSpec[] = [
  { key: 'config', flag: 'config', kind: 'string', arg: 'FILE', help: 'JSON config file (fields are the camelCase option names)' },
  { key: 'name', flag: 'name', kind: 'string', arg: 'NAME', help: 'unique node name (default: stored in the data dir, else <hostname>-<port>)' },
  { key: 'bind', flag: 'bind', kind: 'string', arg: 'HOST:PORT', help: `gossip address, UDP and TCP (default: ${DEFAULT_BIND})` },
  { key: 'advertise', flag: 'advertise', kind: 'string', arg: 'HOST:PORT', help: 'address peers should use (default: the bind address)' },
  { key: 'join', flag: 'join', kind: 'list', arg: 'HOST:PORT', help: 'a seed to join through (repeatable)' },
  { key: 'roles', flag: 'role', kind: 'list', arg: 'ROLE', help: 'a role to advertise, e.g. broker (repeatable)' },
  { key: 'tags', flag: 'tag', kind: 'pairs', arg: 'KEY=VALUE', help: 'a tag to advertise (repeatable)' },
  { key: 'endpoints', flag: 'endpoint', kind: 'pairs', arg: 'KEY=URL', help: 'an endpoint to advertise, e.g. ws=ws://10.0.0.1:8080 (repeatable)' },
  { key: 'profile', flag: 'profile', kind: 'string', arg: 'NAME', help: 'timing profile: lan, wan or local (default: lan)' },
  { key: 'encryptKey', flag: 'encrypt-key', kind: 'string', arg: 'BASE64', help: '32-byte AES-256 gossip key, base64' },
  { key: 'keyringFile', flag: 'keyring-file', kind: 'string', arg: 'FILE', help: 'JSON array of base64 keys, primary first' },
  { key: 'label', flag: 'label', kind: 'string', arg: 'LABEL', help: 'cluster label; frames of other labels are rejected' },
  { key: 'http', flag: 'http', kind: 'string', arg: 'HOST:PORT', help: `HTTP API address, or "off" (default: ${DEFAULT_HTTP})` },
  { key: 'dataDir', flag: 'data-dir', kind: 'string', arg: 'DIR', help: 'data directory (default: ./clusterd-data)' },
  { key: 'logLevel', flag: 'log-level', kind: 'string', arg: 'LEVEL', help: 'trace, debug, info, warn, error, fatal or silent (default: info)' },
  { key: 'logFormat', flag: 'log-format', kind: 'string', arg: 'FORMAT', help: 'pretty or json (default: pretty)' },
  { key: 'token', flag: 'token', kind: 'string', arg: 'TOKEN', help: 'bearer token the HTTP API requires for writes' },
  { key: 'authReads', flag: 'auth-reads', kind: 'bool', arg: 'true|false', help: 'with --token, reads need it too (default: true)' },
  { key: 'maxBodyBytes', flag: 'max-body-bytes', kind: 'int', arg: 'N', help: 'largest HTTP request body (default: 1048576)' },
  { key: 'fsync', flag: 'fsync', kind: 'string', arg: 'POLICY', help: 'history log fsync: always, interval (1 s) or never (default: interval)' },
  { key: 'autoLoad', flag: 'auto-load', kind: 'bool', arg: 'true|false', help: 'advertise measured load (clients, streams, publishRate) for broker selection (default: true)' },
  { key: 'loadIntervalMs', flag: 'load-interval', kind: 'int', arg: 'MS', help: 'shortest time between two load updates, each one a gossip broadcast (default: 1000)' },
  { key: 'enableFaults', flag: 'enable-faults', kind: 'bool', arg: 'true|false', help: 'enable the fault-injection admin routes (tests only)' },
  { key: 'flightRecorder', flag: 'flight-recorder', kind: 'bool', arg: 'true|false', help: 'keep the flight recorder that clusterd record reads (default: true)' },
];

/** The defaults, before the file, the environment and the flags. */
export function defaultConfig(): AgentConfig {
  return {
    name: undefined, bind: DEFAULT_BIND, advertise: undefined, join: [], roles: [], tags: {}, endpoints: {},
    profile: 'lan', encryptKey: undefined, keyringFile: undefined, label: '', http: DEFAULT_HTTP,
    dataDir: './clusterd-data', logLevel: 'info', logFormat: 'pretty', token: undefined, authReads: true,
    maxBodyBytes: 1024 * 1024, fsync: 'interval', autoLoad: true, loadIntervalMs: 1000, enableFaults: false, flightRecorder: true, config: undefined,
  };
}

/** `dataDir` → `CLUSTERD_DATA_DIR`. */
export function envName(key: string): string {
  return `CLUSTERD_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

type Partial2 = Partial<Record<keyof AgentConfig, unknown>>;

/**
 * Resolves the agent configuration: flags > environment (`CLUSTERD_*`) > config file
 * (`--config` or `CLUSTERD_CONFIG`) > defaults. List options given at a higher level
 * replace (not extend) the lower ones. Throws ConfigError naming the offending option.
 */
export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const flags = fromFlags(argv);
  const fromEnvironment = fromEnv(env);
  const file = (flags.config ?? fromEnvironment.config) as string | undefined;
  const fromFileValues = file !== undefined ? fromFile(file) : {};
  const merged = { ...defaultConfig() } as Record<string, unknown>;
  for (const layer of [fromFileValues, fromEnvironment, flags]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  }
  const cfg = merged as unknown as AgentConfig;
  validate(cfg);
  return cfg;
}

function fromFlags(argv: string[]): Partial2 {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = {};
  for (const o of AGENT_OPTIONS) options[o.flag] = { type: 'string', ...(o.kind === 'list' || o.kind === 'pairs' ? { multiple: true } : {}) };
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: Record<string, string | string[] | undefined> });
  } catch (err) {
    throw new ConfigError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const out: Partial2 = {};
  for (const o of AGENT_OPTIONS) {
    const v = values[o.flag];
    if (v === undefined) continue;
    out[o.key] = convert(o, Array.isArray(v) ? v : [v], `--${o.flag}`);
  }
  return out;
}

function fromEnv(env: NodeJS.ProcessEnv): Partial2 {
  const byEnv = new Map(AGENT_OPTIONS.map((o) => [envName(o.key), o]));
  // CLI-only variables are shared with the agent's environment; they are not agent options
  const cliOnly = new Set(['CLUSTERD_JSON']);
  const out: Partial2 = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('CLUSTERD_') || value === undefined || cliOnly.has(name)) continue;
    const o = byEnv.get(name);
    if (!o) throw new ConfigError(`unknown environment variable ${name} (known: ${[...byEnv.keys()].join(', ')})`);
    // lists in the environment are comma-separated
    const parts = o.kind === 'list' || o.kind === 'pairs' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : [value];
    out[o.key] = convert(o, parts, name);
  }
  return out;
}

function fromFile(path: string): Partial2 {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  const byKey = new Map(AGENT_OPTIONS.map((o) => [o.key as string, o]));
  const out: Partial2 = {};
  for (const [k, v] of Object.entries(raw)) {
    const o = byKey.get(k);
    if (!o || k === 'config') throw new ConfigError(`config file ${path}: unknown field "${k}" (known: ${[...byKey.keys()].filter((x) => x !== 'config').join(', ')})`);
    const where = `config file ${path}: field "${k}"`;
    if (o.kind === 'list') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`${where} must be an array of strings`);
      out[o.key] = convert(o, v as string[], where);
    } else if (o.kind === 'pairs') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
        throw new ConfigError(`${where} must be an object of strings`);
      }
      out[o.key] = { ...(v as Record<string, string>) };
    } else if (o.kind === 'bool') {
      if (typeof v !== 'boolean') throw new ConfigError(`${where} must be true or false`);
      out[o.key] = v;
    } else if (o.kind === 'int') {
      if (!Number.isSafeInteger(v)) throw new ConfigError(`${where} must be an integer`);
      out[o.key] = v;
    } else {
      if (typeof v !== 'string') throw new ConfigError(`${where} must be a string`);
      out[o.key] = v;
    }
  }
  return out;
}

function convert(o: OptionSpec, values: string[], where: string): unknown {
  switch (o.kind) {
    case 'list':
      return values;
    case 'pairs': {
      const out: Record<string, string> = {};
      for (const v of values) {
        const i = v.indexOf('=');
        if (i <= 0) throw new ConfigError(`${where} expects KEY=VALUE, got "${v}"`);
        out[v.slice(0, i)] = v.slice(i + 1);
      }
      return out;
    }
    case 'bool': {
      const v = values[values.length - 1]!;
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new ConfigError(`${where} must be true or false, got "${v}"`);
    }
    case 'int': {
      const v = values[values.length - 1]!;
      if (!/^\d+$/.test(v)) throw new ConfigError(`${where} must be a non-negative integer, got "${v}"`);
      return Number(v);
    }
    default:
      return values[values.length - 1];
  }
}

function validate(cfg: AgentConfig): void {
  if (!(cfg.profile in PROFILES)) throw new ConfigError(`--profile must be lan, wan or local, got "${cfg.profile}"`);
  if (cfg.logFormat !== 'pretty' && cfg.logFormat !== 'json') throw new ConfigError(`--log-format must be pretty or json, got "${String(cfg.logFormat)}"`);
  if (!LOG_LEVELS.includes(cfg.logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${cfg.logLevel}"`);
  if (!FSYNC_POLICIES.includes(cfg.fsync)) throw new ConfigError(`--fsync must be always, interval or never, got "${cfg.fsync}"`);
  if (cfg.name !== undefined && (cfg.name.length === 0 || Buffer.byteLength(cfg.name) > 128 || /[\s\u0000-\u001f]/.test(cfg.name))) {
    throw new ConfigError(`--name must be 1–128 bytes without spaces or control characters, got ${JSON.stringify(cfg.name)}`);
  }
  checkAddress('--bind', cfg.bind, true);
  if (cfg.advertise !== undefined) checkAddress('--advertise', cfg.advertise, false);
  for (const seed of cfg.join) checkAddress('--join', seed, false);
  if (cfg.http !== 'off') checkAddress('--http', cfg.http, true);
  if (cfg.encryptKey !== undefined) {
    const key = Buffer.from(cfg.encryptKey, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(cfg.encryptKey)) {
      throw new ConfigError(`--encrypt-key must be 32 bytes in base64 (got ${key.length} bytes); generate one with: openssl rand -base64 32`);
    }
  }
  if (cfg.token !== undefined && (cfg.token.length < 8 || !/^[\x21-\x7e]+$/.test(cfg.token))) {
    throw new ConfigError('--token must be at least 8 printable ASCII characters without spaces');
  }
  if (cfg.maxBodyBytes < 1024 || cfg.maxBodyBytes > 64 * 1024 * 1024) throw new ConfigError(`--max-body-bytes must be between 1024 and 67108864, got ${cfg.maxBodyBytes}`);
  if (cfg.loadIntervalMs < 100 || cfg.loadIntervalMs > 600_000) throw new ConfigError(`--load-interval must be between 100 and 600000 ms, got ${cfg.loadIntervalMs}`);
  if (cfg.dataDir === '') throw new ConfigError('--data-dir must not be empty');
}

function checkAddress(flag: string, value: string, ipOnly: boolean): void {
  let hp;
  try {
    hp = parseAddress(value, flag === '--http' ? 7947 : 7946);
  } catch (err) {
    throw new ConfigError(`${flag} "${value}" is not a valid HOST:PORT address: ${(err as Error).message}`);
  }
  if (ipOnly && isIP(hp.host) === 0) throw new ConfigError(`${flag} "${value}" must be an IP address (e.g. 127.0.0.1:${hp.port}), not a host name`);
}

/** The help text of the agent's options. */
export function agentOptionsHelp(): string {
  return AGENT_OPTIONS.map((o) => {
    const left = `  --${o.flag} ${o.arg}`;
    return `${left.padEnd(30)} ${o.help}\n${''.padEnd(31)}env ${envName(o.key)}`;
  }).join('\n');
}

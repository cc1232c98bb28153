import { ClusterError } from './errors.js';

/**
 * Timing and sizing of the membership protocol. Every field can be overridden; the
 * profiles below give consistent sets for a LAN, a WAN and a single machine.
 */
export interface SwimOptions {
  /** Time between failure-detector probes (before Lifeguard scaling). @default 1000 (lan) */
  probeIntervalMs: number;
  /** How long to wait for a direct ack before asking helpers. @default 500 (lan) */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly when a direct probe times out. @default 3 */
  indirectChecks: number;
  /** Run a stream (TCP) ping in parallel with the indirect probes. @default true */
  streamFallbackPing: boolean;
  /**
   * Verify before declaring death (our extension, decision 0040 §8): one probe period before
   * a suspicion's deadline the suspecter probes the suspect itself and declares it dead only
   * if that probe fails. `false` declares at the deadline, as memberlist does. @default true
   */
  verifyBeforeDeath: boolean;
  /** Time between gossip rounds that push queued broadcasts to random members. @default 200 (lan) */
  gossipIntervalMs: number;
  /** Members gossiped to per round. @default 3 (lan) */
  gossipNodes: number;
  /** How long dead members still receive gossip, so they learn they were declared dead. @default 30000 (lan) */
  gossipToTheDeadMs: number;
  /** Multiplier of the broadcast transmit limit `mult × ceil(log10(n+1))`. @default 4 (lan) */
  retransmitMult: number;
  /** Multiplier of the minimum suspicion timeout `mult × max(1, log10 n) × probeInterval`. @default 4 (lan) */
  suspicionMult: number;
  /** The suspicion timeout starts at this multiple of its minimum. @default 6 */
  suspicionMaxTimeoutMult: number;
  /** Lifeguard local-health cap: probes stretch by at most this factor. @default 8 */
  awarenessMaxMultiplier: number;
  /** Base interval of full-state push-pull with a random member (scaled up past 32 members). @default 30000 (lan) */
  pushPullIntervalMs: number;
  /** Interval at which a dead member or a seed is tried again, to heal partitions. @default 10000 (lan) */
  reconnectIntervalMs: number;
  /** Dead members are forgotten after this long. @default 86400000 (24 h) */
  deadReapMs: number;
  /** Members that left gracefully are forgotten after this long. @default 3600000 (1 h) */
  leftReapMs: number;
  /** Timeout of a stream operation (push-pull, stream ping). @default 10000 (lan) */
  streamTimeoutMs: number;
  /** How long a graceful leave waits for its broadcast to spread. @default 5000 */
  leaveTimeoutMs: number;
  /** Largest accepted encoded node metadata, in bytes. @default 4096 */
  maxMetaSize: number;
  /** Most members tracked; further unknown members are refused (matches the push-pull cap). @default 16384 */
  maxMembers: number;
}

/** The named profiles. `lan` is memberlist's DefaultLANConfig with a faster reconnect. */
export type ProfileName = 'lan' | 'wan' | 'local';

const LAN: SwimOptions = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  streamFallbackPing: true,
  verifyBeforeDeath: true,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  deadReapMs: 86_400_000,
  leftReapMs: 3_600_000,
  streamTimeoutMs: 10_000,
  leaveTimeoutMs: 5_000,
  maxMetaSize: 4096,
  maxMembers: 16_384,
};

export const PROFILES: Readonly<Record<ProfileName, Readonly<SwimOptions>>> = {
  lan: LAN,
  wan: {
    ...LAN,
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    gossipIntervalMs: 500,
    gossipNodes: 4,
    gossipToTheDeadMs: 60_000,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    reconnectIntervalMs: 30_000,
    streamTimeoutMs: 30_000,
  },
  local: {
    ...LAN,
    probeIntervalMs: 1000,
    probeTimeoutMs: 200,
    indirectChecks: 1,
    gossipIntervalMs: 100,
    gossipToTheDeadMs: 15_000,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    reconnectIntervalMs: 5_000,
    streamTimeoutMs: 1000,
  },
};

/**
 * The options of `profile` with `overrides` applied, validated. Throws ClusterError
 * E_CONFIG naming the offending option.
 */
export function swimOptions(profile: ProfileName = 'lan', overrides: Partial<SwimOptions> = {}): SwimOptions {
  const base = PROFILES[profile];
  if (!base) throw new ClusterError('E_CONFIG', `unknown profile "${String(profile)}" (expected lan, wan or local)`);
  const opts: SwimOptions = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) throw new ClusterError('E_CONFIG', `unknown membership option "${key}"`);
    if (value !== undefined) (opts as unknown as Record<string, unknown>)[key] = value;
  }
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'streamFallbackPing' || key === 'verifyBeforeDeath') {
      if (typeof value !== 'boolean') throw new ClusterError('E_CONFIG', `${key} must be true or false`);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ClusterError('E_CONFIG', `${key} must be a non-negative number, got ${JSON.stringify(value)}`);
    }
  }
  if (opts.probeTimeoutMs >= opts.probeIntervalMs) {
    throw new ClusterError('E_CONFIG', `probeTimeoutMs (${opts.probeTimeoutMs}) must be shorter than probeIntervalMs (${opts.probeIntervalMs})`);
  }
  if (opts.probeIntervalMs <= 0 || opts.gossipIntervalMs <= 0) {
    throw new ClusterError('E_CONFIG', 'probeIntervalMs and gossipIntervalMs must be positive');
  }
  if (opts.awarenessMaxMultiplier < 1) throw new ClusterError('E_CONFIG', 'awarenessMaxMultiplier must be at least 1');
  return opts;
}

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { decode } from '@msgpack/msgpack';
import { ClusterError, ClusterNode, Keyring, NetTransport, swimOptions } from '../internal.js';
import type { ChannelEvents, ClusterNodeOptions, HistoryEntry, MemberInfo, NetTransportStats, Transport } from '../internal.js';
import { ConfigError } from './config.js';
import type { AgentConfig } from './config.js';
import { EventHub } from '../http/event-hub.js';
import { FaultTransport } from './faults.js';
import { FlightRecorder, RecordingEvidenceLog } from './flight-recorder.js';
import { HttpApi, memberJson } from '../http/http-api.js';
import { KeyAdmin } from './key-admin.js';
import { RateLimitedLog } from './logger.js';
import type { Logger } from './logger.js';
import { LoadReporter, ZERO_LOAD } from './load-reporter.js';
import { createMetrics } from './metrics.js';
import { DataDir } from './persistence.js';
import type { StoredMember } from './persistence.js';
import { API_TAG } from '../client/api-client.js';

/** History log entries after which the agent folds the log into a new snapshot. */
export const COMPACT_AFTER_ENTRIES = 10_000;

/** What the agent restores from its data dir (the `restore` option of ClusterNode). */
export interface RestoreState {
  /** The replica snapshot (`node.snapshot()` as it was stored). */
  snapshot?: Uint8Array;
  /** History entries stored after the snapshot, oldest first. */
  entries: HistoryEntry[];
}

const MEMBER_EVENTS = ['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped'] as const;
const PRESENCE_EVENTS = ['client-join', 'client-update', 'client-leave', 'user-join', 'user-leave'] as const;

/**
 * A running agent: a ClusterNode on real sockets, its data dir, the HTTP API and the
 * housekeeping timers. Create it with {@link Agent.start}; stop it with {@link shutdown}.
 */
export class Agent {
  readonly hub = new EventHub();
  private api: HttpApi | undefined;
  /** Advertises this node's load in its membership metadata. */
  readonly load: LoadReporter;
  private timers: NodeJS.Timeout[] = [];
  private stopping: Promise<void> | undefined;
  private savedIncarnation: number;
  private savedMembers = '';
  private readonly started = Date.now();
  private lastNet = { packetErrors: 0, streamErrors: 0, rejected: 0 };
  httpAddress: string | undefined;

  private constructor(
    readonly config: AgentConfig,
    readonly node: ClusterNode,
    readonly dataDir: DataDir,
    readonly log: Logger,
    readonly faults: FaultTransport | undefined,
    private readonly keys: KeyAdmin,
    /** What the failure detector saw, served at GET /v1/record (undefined with --flight-recorder false). */
    readonly recorder: FlightRecorder | undefined,
    private readonly onExit: (code: number) => void,
  ) {
    this.savedIncarnation = node.membership.incarnation;
    this.load = new LoadReporter({ node, streams: () => this.api?.streams.count ?? 0, intervalMs: config.loadIntervalMs, auto: config.autoLoad });
  }

  /**
   * Opens the data dir, binds the sockets, restores history, starts the node and the API,
   * and joins. Throws ConfigError (bad configuration, exit 2) or ClusterError (an address
   * that cannot be bound, ...); nothing is left open when it throws.
   * @param onExit called when the agent wants the process to exit (after a leave requested over the API)
   */
  static async start(cfg: AgentConfig, log: Logger, onExit: (code: number) => void = () => {}): Promise<Agent> {
    const dataDir = DataDir.open(cfg.dataDir);
    let transport: Transport | undefined;
    try {
      const state = dataDir.load();
      for (const p of state.problems) log.warn({ event: 'data-dir-repaired', problem: p, dataDir: cfg.dataDir }, 'data-dir-repaired');
      if (state.identity && cfg.name !== undefined && cfg.name !== state.identity.name) {
        throw new ConfigError(`data dir ${cfg.dataDir} belongs to node "${state.identity.name}", not "${cfg.name}": use --name ${state.identity.name} or another --data-dir`);
      }
      const keyring = buildKeyring(cfg, state.keys, log);
      if (keyring) dataDir.saveKeys(keyring.keys());

      const net = await NetTransport.listen({ bind: cfg.bind, ...(cfg.advertise !== undefined ? { advertise: cfg.advertise } : {}) });
      transport = net;
      const faults = cfg.enableFaults ? new FaultTransport(net) : undefined;
      if (faults) log.warn({ event: 'faults-enabled' }, 'fault injection is enabled: PUT /v1/faults can drop or delay traffic');
      const port = net.advertiseAddress.slice(net.advertiseAddress.lastIndexOf(':') + 1);
      const name = cfg.name ?? state.identity?.name ?? `${hostname()}-${port}`;
      const snapshotEpoch = state.snapshot ? epochOf(state.snapshot, log) : undefined;
      const snapshot = snapshotEpoch !== undefined ? state.snapshot : undefined;
      // a restart must come back above every incarnation used before (refutations
      // included), and above the snapshot's epoch even when identity.json was lost
      const incarnation = Math.max(state.identity ? state.identity.incarnation + 1 : 0, snapshotEpoch !== undefined ? snapshotEpoch + 1 : 0);
      dataDir.saveIdentity({ name, incarnation });

      const restore: RestoreState | undefined = snapshot || state.entries.length > 0
        ? { ...(snapshot ? { snapshot } : {}), entries: state.entries }
        : undefined;
      const tags = { ...cfg.tags };
      if (cfg.http !== 'off') tags[API_TAG] = `http://${cfg.http}`;
      const recorder = cfg.flightRecorder ? new FlightRecorder() : undefined;
      const options: ClusterNodeOptions & { restore?: RestoreState } = {
        name,
        ...(recorder ? { evidence: new RecordingEvidenceLog(swimOptions(cfg.profile).maxMembers, recorder) } : {}),
        transport: faults ?? net,
        profile: cfg.profile,
        label: cfg.label,
        incarnation,
        ...(keyring ? { keyring } : {}),
        // the measured load starts at zero: advertising it from the start spares an update
        meta: { roles: cfg.roles, tags, endpoints: cfg.endpoints, load: cfg.autoLoad ? { ...ZERO_LOAD } : {} },
        ...(restore ? { restore } : {}),
      };
      let node: ClusterNode;
      try {
        node = new ClusterNode(options);
      } catch (err) {
        if (!restore) throw asConfigError(err);
        // a snapshot the runtime refuses must not keep the node down: start empty, catch up from peers
        log.warn({ event: 'data-dir-repaired', problem: `stored history could not be restored (${(err as Error).message}); starting without it` }, 'data-dir-repaired');
        delete options.restore;
        try {
          node = new ClusterNode(options);
        } catch (err2) {
          throw asConfigError(err2);
        }
      }
      const keys = new KeyAdmin(keyring, (k) => dataDir.saveKeys(k));
      const agent = new Agent(cfg, node, dataDir, log, faults, keys, recorder, onExit);
      if (restore) log.info({ event: 'restored', entries: restore.entries.length, snapshot: restore.snapshot !== undefined }, 'restored');
      await agent.run(state.members);
      return agent;
    } catch (err) {
      await transport?.close();
      await dataDir.close();
      throw err;
    }
  }

  private async run(stored: StoredMember[]): Promise<void> {
    const { node, log, config: cfg } = this;
    this.wireEvents();
    const metrics = createMetrics({
      node,
      streams: () => this.api?.streams.count ?? 0,
      eventBuffer: () => ({ events: this.hub.size, bytes: this.hub.heldBytes }),
      logEntries: () => this.dataDir.logEntries,
      faults: () => this.faults?.faultStats,
    });
    if (cfg.http !== 'off') {
      this.api = new HttpApi({
        node, hub: this.hub, metrics, keys: this.keys, load: this.load, faults: this.faults, token: cfg.token, authReads: cfg.authReads,
        maxBodyBytes: cfg.maxBodyBytes, log, recorder: this.recorder,
        self: () => ({ http: this.httpAddress, bind: node.transport.bindAddress, dataDir: cfg.dataDir, profile: cfg.profile, uptimeMs: Date.now() - this.started, pid: process.pid, cursor: this.hub.cursor }),
        join: (seeds) => node.join(seeds),
        leave: () => void this.shutdown('api', true),
        leaving: () => this.stopping !== undefined,
      });
      try {
        this.httpAddress = await this.api.listen(cfg.http);
      } catch (err) {
        await node.close();
        throw err;
      }
      if (`http://${this.httpAddress}` !== `http://${cfg.http}`) node.updateMeta({ tags: { ...cfg.tags, [API_TAG]: `http://${this.httpAddress}` } });
    }
    this.dataDir.openLog(cfg.fsync);
    node.start();
    log.info({ event: 'started', name: node.name, address: node.transport.advertiseAddress, bind: node.transport.bindAddress, http: this.httpAddress ?? 'off', incarnation: node.membership.incarnation, profile: cfg.profile, dataDir: cfg.dataDir }, 'started');

    const self = node.transport.advertiseAddress;
    const seeds = [...new Set([...cfg.join, ...stored.map((m) => m.address)])].filter((a) => a !== self);
    // joining nobody still matters: the runtime then knows it founds the cluster
    node.join(seeds).then(
      (n) => {
        if (seeds.length > 0) log.info({ event: 'joined', contacted: n, seeds: seeds.length }, 'joined');
      },
      (err: Error) => log.warn({ event: 'join-failed', error: err.message, retrying: 'in the background' }, 'join-failed'),
    );
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(() => {
        try {
          fn();
        } catch (err) {
          log.error({ event: 'housekeeping-error', error: (err as Error).message }, 'housekeeping-error');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    this.load.start();
    this.recorder?.startStallSampler();
    every(100, () => this.dataDir.flush());
    every(2000, () => this.persistState());
    const netLog = new RateLimitedLog(log, 30_000);
    every(10_000, () => this.reportNetwork(netLog));
  }

  private wireEvents(): void {
    const { node, log, hub } = this;
    const memberFields = (m: MemberInfo): Record<string, unknown> => ({ name: m.name, address: m.address, incarnation: m.incarnation });
    for (const type of MEMBER_EVENTS) {
      node.membership.on(type, (m) => {
        log.info({ event: type, ...memberFields(m) }, type);
        hub.publish('member', type, undefined, memberJson(m));
      });
    }
    node.membership.on('health-changed', (h) => log.info({ event: 'health-changed', ...h }, 'health-changed'));
    node.membership.on('name-conflict', (c) => log.warn({ event: 'name-conflict', ...c }, 'name-conflict'));
    node.channelEvents.on('message', (e: ChannelEvents['message']) => {
      this.dataDir.appendEntry(e.entry);
      hub.publish('message', 'message', e.channel, { channel: e.channel, message: e.message });
      if (this.dataDir.logEntries >= COMPACT_AFTER_ENTRIES) this.compact();
    });
    for (const type of PRESENCE_EVENTS) {
      node.channelEvents.on(type, (e) => hub.publish('presence', type, (e as { channel: string }).channel, e));
    }
    node.channelEvents.on('ready', () => log.info({ event: 'ready' }, 'ready'));
  }

  /** Folds the history log into a new snapshot. */
  private compact(): void {
    this.dataDir.saveSnapshot(this.node.snapshot());
  }

  private persistState(): void {
    const inc = this.node.membership.incarnation;
    if (inc !== this.savedIncarnation) {
      this.dataDir.saveIdentity({ name: this.node.name, incarnation: inc });
      this.savedIncarnation = inc;
    }
    const members = this.node.members()
      .filter((m) => m.name !== this.node.name && (m.state === 'alive' || m.state === 'suspect'))
      .map((m) => ({ name: m.name, address: m.address }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .slice(0, 1024);
    const text = JSON.stringify(members);
    // keep the last non-empty list: an isolated node must still know whom to rejoin
    if (text !== this.savedMembers && members.length > 0) {
      this.dataDir.saveMembers(members);
      this.savedMembers = text;
    }
  }

  private reportNetwork(netLog: RateLimitedLog): void {
    const t = this.node.transport.stats as NetTransportStats;
    const s = this.node.stats();
    const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    const now = { packetErrors: t.packetErrors ?? 0, streamErrors: t.streamErrors + s.streamErrors, rejected };
    const d = { packetErrors: now.packetErrors - this.lastNet.packetErrors, streamErrors: now.streamErrors - this.lastNet.streamErrors, rejected: now.rejected - this.lastNet.rejected };
    this.lastNet = now;
    if (d.packetErrors > 0 || d.streamErrors > 0) netLog.warn('network-errors', { event: 'network-errors', ...d, window: '10s' }, 'network-errors');
    if (d.rejected > 0) netLog.warn('frames-rejected', { event: 'frames-rejected', count: d.rejected, byReason: s.rejected }, 'frames-rejected');
  }

  /**
   * Stops the agent: a graceful leave (peers see `left`) or an abrupt close, then a
   * final snapshot, flush and exit code 0 through `onExit`. Idempotent.
   */
  shutdown(reason: string, graceful = true): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ event: 'leaving', reason, graceful }, 'leaving');
      for (const t of this.timers) clearInterval(t);
      this.recorder?.stop();
      this.load.stop();
      try {
        if (graceful) await this.node.leave();
        else await this.node.close();
        this.persistState();
        this.compact();
      } catch (err) {
        this.log.error({ event: 'shutdown-error', error: (err as Error).message }, 'shutdown-error');
      }
      await this.api?.close();
      await this.dataDir.close();
      this.log.info({ event: 'left', reason }, 'left');
      this.onExit(0);
    })();
    return this.stopping;
  }
}

/** The epoch of a stored replica snapshot, or undefined (reported) when it does not decode. */
function epochOf(bytes: Uint8Array, log: Logger): number | undefined {
  try {
    const snap = decode(bytes) as { epoch?: unknown } | null;
    if (typeof snap?.epoch === 'number' && Number.isSafeInteger(snap.epoch)) return snap.epoch;
    throw new Error('no epoch');
  } catch (err) {
    log.warn({ event: 'data-dir-repaired', problem: `history snapshot does not decode (${(err as Error).message}); starting without it` }, 'data-dir-repaired');
    return undefined;
  }
}

function asConfigError(err: unknown): unknown {
  if (err instanceof ClusterError && (err.code === 'E_INVALID_ARGUMENT' || err.code === 'E_LIMIT' || err.code === 'E_CONFIG')) return new ConfigError(err.message);
  return err;
}

/** The keyring from the data dir, else the keyring file, else --encrypt-key. */
function buildKeyring(cfg: AgentConfig, stored: Uint8Array[] | undefined, log: Logger): Keyring | undefined {
  const flagKey = cfg.encryptKey !== undefined ? new Uint8Array(Buffer.from(cfg.encryptKey, 'base64')) : undefined;
  if (stored && stored.length > 0) {
    const ring = new Keyring(stored[0]!, { keys: stored.slice(1) });
    if (flagKey && !ring.keys().some((k) => Buffer.from(k).equals(flagKey))) {
      ring.install(flagKey);
      log.warn({ event: 'keyring', note: 'the data dir keyring wins over --encrypt-key; the flag key was installed as a secondary key (make it primary with: clusterd keys use)' }, 'keyring');
    }
    return ring;
  }
  if (cfg.keyringFile !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(cfg.keyringFile, 'utf8'));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigError(`--keyring-file ${cfg.keyringFile} cannot be read: ${e.code ?? e.message}`);
    }
    const list = Array.isArray(raw) ? raw : (raw as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`--keyring-file ${cfg.keyringFile} must hold a JSON array of base64 keys (primary first)`);
    const keys = list.map((k, i) => {
      const b = typeof k === 'string' ? Buffer.from(k, 'base64') : Buffer.alloc(0);
      if (b.length !== 32) throw new ConfigError(`--keyring-file ${cfg.keyringFile}: key ${i} is not 32 bytes in base64`);
      return new Uint8Array(b);
    });
    const ring = new Keyring(keys[0]!, { keys: keys.slice(1) });
    if (flagKey) ring.install(flagKey);
    return ring;
  }
  return flagKey ? new Keyring(flagKey) : undefined;
}

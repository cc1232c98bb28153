import { ClusterError } from '../internal.js';
import type { Address, PacketHandler, Stream, Transport, TransportStats } from '../internal.js';

/** One fault: what happens to traffic exchanged with `peer`. */
export interface FaultRule {
  /** Peer address (`host:port`) or bare host (every port of it). */
  peer: string;
  /** Which traffic: to the peer, from it, or both. @default "both" */
  direction: 'in' | 'out' | 'both';
  /** Probability of dropping a datagram (and of refusing a stream). 0–1. @default 0 */
  drop: number;
  /** Extra delay of each datagram, ms. @default 0 */
  delayMs: number;
}

/** Counters of what the fault layer did. */
export interface FaultStats {
  dropped: number;
  delayed: number;
}

/** Datagrams held for a delay, at most: beyond it they are dropped (bounded memory). */
const MAX_DELAYED = 10_000;

/**
 * A Transport decorator that drops or delays traffic to and from chosen peers, for the
 * simulator's real-process mode and for failure drills. The agent wraps its transport
 * with it only when started with `--enable-faults`; rules are set through the admin
 * route `PUT /v1/faults`. With no rules it forwards everything untouched.
 */
export class FaultTransport implements Transport {
  private rules: FaultRule[] = [];
  private delayed = 0;
  private closed = false;
  readonly faultStats: FaultStats = { dropped: 0, delayed: 0 };

  constructor(
    private readonly inner: Transport,
    private readonly random: () => number = Math.random,
  ) {}

  get advertiseAddress(): Address {
    return this.inner.advertiseAddress;
  }

  get bindAddress(): Address {
    return this.inner.bindAddress;
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  /** Replaces the rules (validated: throws E_INVALID_ARGUMENT naming the bad field). */
  setRules(rules: unknown): FaultRule[] {
    if (!Array.isArray(rules)) throw new ClusterError('E_INVALID_ARGUMENT', 'rules must be an array');
    if (rules.length > 1000) throw new ClusterError('E_INVALID_ARGUMENT', 'at most 1000 rules');
    this.rules = rules.map((r, i) => validateRule(r, i));
    return this.list();
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  sendPacket(to: Address, data: Uint8Array): void {
    const rule = this.match(to, 'out');
    if (!rule) return this.inner.sendPacket(to, data);
    this.apply(rule, () => this.inner.sendPacket(to, data));
  }

  onPacket(handler: PacketHandler): void {
    this.inner.onPacket((data, from) => {
      const rule = this.match(from, 'in');
      if (!rule) return handler(data, from);
      this.apply(rule, () => handler(data, from));
    });
  }

  dial(to: Address, timeoutMs: number): Promise<Stream> {
    const rule = this.match(to, 'out');
    if (rule && rule.drop > 0 && this.random() < rule.drop) {
      this.faultStats.dropped++;
      return Promise.reject(new ClusterError('E_UNREACHABLE', `fault injection: stream to ${to} dropped`));
    }
    if (rule && rule.delayMs > 0) {
      return new Promise((resolve, reject) => setTimeout(() => this.inner.dial(to, timeoutMs).then(resolve, reject), rule.delayMs).unref());
    }
    return this.inner.dial(to, timeoutMs);
  }

  onStream(handler: (stream: Stream) => void): void {
    this.inner.onStream((stream) => {
      // inbound streams come from ephemeral ports: match on the host only
      const rule = this.match(stream.remote, 'in', true);
      if (rule && rule.drop > 0 && this.random() < rule.drop) {
        this.faultStats.dropped++;
        return stream.close();
      }
      handler(stream);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return this.inner.close();
  }

  private apply(rule: FaultRule, deliver: () => void): void {
    if (rule.drop > 0 && this.random() < rule.drop) {
      this.faultStats.dropped++;
      return;
    }
    if (rule.delayMs <= 0) return deliver();
    if (this.delayed >= MAX_DELAYED) {
      this.faultStats.dropped++;
      return;
    }
    this.delayed++;
    this.faultStats.delayed++;
    setTimeout(() => {
      this.delayed--;
      if (!this.closed) deliver();
    }, rule.delayMs).unref();
  }

  private match(addr: Address, dir: 'in' | 'out', hostOnly = false): FaultRule | undefined {
    if (this.rules.length === 0) return undefined;
    const host = hostOf(addr);
    for (const r of this.rules) {
      if (r.direction !== 'both' && r.direction !== dir) continue;
      if (r.peer === addr || r.peer === host || (hostOnly && hostOf(r.peer) === host)) return r;
    }
    return undefined;
  }
}

function hostOf(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const i = addr.lastIndexOf(':');
  return i < 0 ? addr : addr.slice(0, i);
}

function validateRule(raw: unknown, i: number): FaultRule {
  const fail = (msg: string): never => {
    throw new ClusterError('E_INVALID_ARGUMENT', `rules[${i}]: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be an object');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!['peer', 'direction', 'drop', 'delayMs'].includes(k)) fail(`unknown field "${k}" (known: peer, direction, drop, delayMs)`);
  if (typeof r.peer !== 'string' || r.peer === '' || r.peer.length > 300) fail('peer must be an address or host');
  const direction = r.direction ?? 'both';
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') fail('direction must be in, out or both');
  const drop = r.drop ?? 0;
  if (typeof drop !== 'number' || !(drop >= 0 && drop <= 1)) fail('drop must be a number between 0 and 1');
  const delayMs = r.delayMs ?? 0;
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60_000) fail('delayMs must be an integer between 0 and 60000');
  return { peer: r.peer as string, direction: direction as FaultRule['direction'], drop: drop as number, delayMs: delayMs as number };
}

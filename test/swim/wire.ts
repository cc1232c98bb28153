import { decode } from '@msgpack/msgpack';
import { ManualClock } from '../../lib/clock.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { swimOptions } from '../../lib/config.js';
import type { SwimOptions } from '../../lib/config.js';
import { decodeMessage } from '../../lib/codec/messages.js';
import type { Message } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { Membership } from '../../lib/swim/membership.js';

/** One datagram as the wire saw it. */
export interface Sent {
  at: number;
  from: string;
  to: string;
  msgs: Message[];
}

/**
 * A few Membership instances on a 1 ms wire, for protocol unit tests that need exact
 * control: every datagram is recorded, `drop` decides per datagram, and a node can be
 * paused the way an event loop is (timers that came due run late, before the datagrams
 * that queued up meanwhile). Nodes start knowing each other at incarnation 0.
 */
export class Wire {
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, Membership>();
  readonly sent: Sent[] = [];
  /** Return true to lose this datagram. */
  drop: (from: string, to: string, msgs: Message[]) => boolean = () => false;
  /**
   * How a stream (TCP) fallback ping from → to ends: after `afterMs`, acked or not.
   * @default never answered: fails after streamTimeoutMs
   */
  streamPing: (from: string, to: string) => { afterMs: number; ok: boolean };
  private readonly paused = new Map<string, { timers: (() => void)[]; inbox: (() => void)[] }>();
  private readonly silent = new Set<string>();

  /** @param evidence build the nodes with failure-detection evidence (Membership.explain). @default false */
  constructor(names: string[], overrides: Partial<SwimOptions> = {}, seed = 1, evidence = false) {
    const options = swimOptions('lan', overrides);
    this.streamPing = () => ({ afterMs: options.streamTimeoutMs, ok: false });
    const random = new Random(seed);
    for (const name of names) {
      const m = new Membership({ name, address: addr(name), options, clock: this.nodeClock(name), random: random.fork(name), evidence, out: {
        send: (to, msg) => this.deliver(name, to, [msg]),
        gossip: (to) => this.deliver(name, to, []),
        pushPull: () => {},
        streamPing: (to, _ping, done) => {
          const { afterMs, ok } = this.streamPing(name, to.slice(0, -2));
          this.clock.setTimer(afterMs, () => done(ok));
        },
      } });
      this.nodes.set(name, m);
    }
    for (const m of this.nodes.values()) {
      for (const other of names) if (other !== m.name) m.handle({ type: 'alive', node: other, incarnation: 0, addr: addr(other), meta: new Uint8Array() }, addr(other));
      while (m.queuedBroadcasts > 0) m.piggyback(Number.MAX_SAFE_INTEGER);
    }
  }

  node(name: string): Membership {
    return this.nodes.get(name)!;
  }

  /** Starts every node's timers. */
  start(): void {
    for (const m of this.nodes.values()) m.start();
  }

  /** `name` neither answers nor sends from now on (a crash without the timers stopping). */
  silence(name: string): void {
    this.silent.add(name);
  }

  /** Pauses `name`: its timers and arrivals wait for {@link resume}. */
  pause(name: string): void {
    this.paused.set(name, { timers: [], inbox: [] });
  }

  /** Ends a pause the way an event loop does: overdue timers first, then the datagrams. */
  resume(name: string): void {
    const p = this.paused.get(name);
    this.paused.delete(name);
    if (!p) return;
    for (const fn of p.timers) fn();
    for (const fn of p.inbox) fn();
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Messages of `type` sent from → to so far. */
  messages(from: string, to: string, type?: Message['type']): Message[] {
    return this.sent.filter((s) => s.from === from && s.to === to).flatMap((s) => s.msgs).filter((m) => type === undefined || m.type === type);
  }

  private nodeClock(name: string): Clock {
    const shared = this.clock;
    return {
      now: () => shared.now(),
      wall: () => shared.wall(),
      setTimer: (ms: number, fn: () => void): Timer => shared.setTimer(ms, () => {
        const p = this.paused.get(name);
        if (p) p.timers.push(fn);
        else fn();
      }),
    };
  }

  private deliver(from: string, toAddr: string, msgs: Message[]): void {
    if (this.silent.has(from) || this.paused.has(from)) return;
    const sender = this.nodes.get(from)!;
    const frame = [...msgs, ...sender.piggyback(1200).map((b) => decodeMessage(decode(b)) as Message)];
    if (frame.length === 0) return;
    const to = toAddr.slice(0, -2);
    this.sent.push({ at: this.clock.now(), from, to, msgs: frame });
    if (this.drop(from, to, frame)) return;
    this.clock.setTimer(1, () => {
      const target = this.nodes.get(to);
      if (!target || this.silent.has(to)) return;
      const read = (): void => {
        for (const msg of frame) target.handle(msg, addr(from));
      };
      const p = this.paused.get(to);
      if (p) p.inbox.push(read);
      else read();
    });
  }
}

/** The address of a wire node. */
export function addr(name: string): string {
  return `${name}:1`;
}

import type { Timer } from '../clock.js';
import type { SuspectMessage } from '../codec/messages.js';
import type { SwimCore } from './core.js';
import type { LiveSuspicion } from './evidence.js';
import type { Member } from './members.js';
import type { Prober } from './prober.js';
import { Suspicion, suspicionMinTimeout } from './suspicion.js';
import type { Transitions } from './transitions.js';

/** A placeholder for a timer about to be set. */
const NO_TIMER: Timer = { cancel: () => undefined };

/**
 * A local suspicion: its Lifeguard timeout (the Suspicion itself, whose `minMs` is also
 * the postponement after an answer), the timer, and whether it is being verified. One
 * object rather than a record pointing at a Suspicion: a split reads one per suspect
 * message received, and each pointer followed is a cache miss.
 */
export class SuspicionState extends Suspicion {
  timer: Timer = NO_TIMER;
  /** When `timer` fires, if it is the deadline timer (arm); undefined while another one runs. */
  dueAt: number | undefined = undefined;
  verifying = false;
  /** Last time the suspect itself reached us (a ping, a ping-req, an ack) during the suspicion. */
  heardAt: number | undefined = undefined;
}

/**
 * The suspicions this node holds and their timers: the Lifeguard timeout each one runs
 * (confirmations bring the deadline nearer), its verification by a probe of our own one
 * probe period before the deadline (`verifyBeforeDeath`, decision 0040 §8) or its plain
 * expiry, and what the suspect's own messages tell us meanwhile. A suspicion that runs
 * out declares the suspect dead through {@link Transitions.onDead}.
 */
export class SuspicionTimers {
  private readonly map = new Map<string, SuspicionState>();
  /** Set once by Membership (the prober and the transitions need this object too). */
  prober!: Prober;
  transitions!: Transitions;

  constructor(private readonly core: SwimCore) {}

  /** The suspicion held of `name`, if any. */
  get(name: string): SuspicionState | undefined {
    return this.map.get(name);
  }

  /** Cancels every suspicion's timer and forgets them all (the node stops). */
  stopAll(): void {
    for (const { timer } of this.map.values()) timer.cancel();
    this.map.clear();
  }

  /** Starts the suspicion of `m` (just set to suspect at `incarnation`) raised by `from`. */
  begin(m: Readonly<Member>, from: string, now: number): void {
    const { opts } = this.core;
    const n = this.core.table.live;
    const k = n - 2 < opts.suspicionMult - 2 ? 0 : opts.suspicionMult - 2;
    const min = suspicionMinTimeout(opts.suspicionMult, n, opts.probeIntervalMs);
    const state = new SuspicionState(now, from, k, min, min * opts.suspicionMaxTimeoutMult);
    this.arm(state, m.name, m.incarnation, min);
    this.map.set(m.name, state);
  }

  /**
   * Counts `msg` as a confirmation of the suspicion `s` it repeats: true when it is a new
   * one (the caller relays it), which may bring the deadline nearer.
   */
  confirm(s: SuspicionState, msg: SuspectMessage): boolean {
    if (!s.confirm(msg.from)) return false;
    this.core.counters.confirmations++;
    this.core.evidence?.confirmed(msg.node, msg.from, this.core.clock.now());
    this.deadlineNearer(s, msg.node, msg.incarnation);
    return true;
  }

  /** The live Lifeguard timer of the suspicion of `name`, for Membership.explain. */
  live(name: string, now: number): LiveSuspicion | null {
    const s = this.map.get(name);
    return s === undefined ? null : {
      confirmations: s.confirmations, expected: s.k, timeoutMs: s.timeout(), minMs: s.minMs, maxMs: s.maxMs,
      leftMs: Math.round(s.deadline() - now), verifying: s.verifying,
    };
  }

  /** Notes that `name` itself just reached us, which matters while we suspect it. */
  heardFrom(name: string): void {
    // only suspects have a suspicion: most senders are not, as the dense copy tells
    const { table } = this.core;
    const slot = table.slotOf(name);
    if (slot < 0) return;
    this.core.evidence?.heard(name, this.core.clock.now());
    if (!table.suspectAt(slot)) return;
    const s = this.map.get(name);
    if (s) s.heardAt = this.core.clock.now();
  }

  /** Ends the suspicion of `name`, if any (only suspects have one: every state change away from suspect comes through here). */
  clear(name: string): void {
    const s = this.map.get(name);
    if (s) {
      s.timer.cancel();
      this.map.delete(name);
    }
  }

  /**
   * True when our own view gives no reason to believe a death certificate about `m`: we
   * hold it alive (nobody on our side of the network failed to reach it, or their
   * suspicion would have reached us before any certificate could be issued), or our
   * suspicion of it is too young to be the one the certificate ends (it began less than
   * half a minimum suspicion timeout ago: the certificate's suspicion ran its course
   * somewhere we did not hear from), or the suspect reached us itself since we began
   * suspecting it. A truly crashed member is, nearly everywhere, a suspect of ours for a
   * whole suspicion timeout before its certificate arrives.
   */
  undoubted(m: Readonly<Member>): boolean {
    if (m.state === 'alive') return true;
    if (m.state !== 'suspect') return false;
    const s = this.map.get(m.name);
    if (!s) return false;
    return (s.heardAt ?? -Infinity) > s.start || this.core.clock.now() - s.start < s.minMs / 2;
  }

  /**
   * Sets the timer of the suspicion `s` of `name`@`incarnation`, whose deadline is `ms`
   * away at the nearest: its verification one probe period before the deadline, so that
   * a healthy node's verdict lands on the deadline itself; or, with `verifyBeforeDeath`
   * off, the declaration on the deadline (memberlist).
   *
   * A suspicion starts with its longest timeout and confirmations shorten it towards the
   * minimum (Lifeguard). The timer is set for the minimum and, if it fires before the
   * deadline, set again for what is left (due), so confirmations that arrive before the
   * minimum is up (nearly all of them) never move it: in a split of 1,000 nodes that
   * saves a timer per confirmation, 1.5 million in the first two and a half virtual
   * minutes.
   */
  private arm(s: SuspicionState, name: string, incarnation: number, ms: number): void {
    const wait = this.core.opts.verifyBeforeDeath ? this.untilVerification(ms) : Math.max(0, ms);
    s.dueAt = this.core.clock.now() + wait;
    s.timer = this.core.clock.setTimer(wait, () => this.due(name, incarnation));
  }

  /** A confirmation brought the deadline of `s` nearer: moves its timer if that is now due too late. */
  private deadlineNearer(s: SuspicionState, name: string, incarnation: number): void {
    // a verification under way decides at its own end
    if (s.verifying) return;
    const { clock } = this.core;
    const left = s.deadline() - clock.now();
    const wait = this.core.opts.verifyBeforeDeath ? this.untilVerification(left) : Math.max(0, left);
    if (s.dueAt !== undefined && s.dueAt <= clock.now() + wait) return;
    s.timer.cancel();
    this.arm(s, name, incarnation, left);
  }

  /** The deadline timer fired: verify (or expire) the suspicion if its deadline is near enough, else wait for it. */
  private due(name: string, incarnation: number): void {
    const s = this.map.get(name);
    if (!s || this.core.table.get(name)?.incarnation !== incarnation) return;
    s.dueAt = undefined;
    const left = s.deadline() - this.core.clock.now();
    const verify = this.core.opts.verifyBeforeDeath;
    if (verify ? this.untilVerification(left) > 0 : left > 0) return this.arm(s, name, incarnation, left);
    if (verify) this.verify(name, incarnation);
    else this.expired(name, incarnation);
  }

  /** Delay until a suspicion due in `ms` must be verified. */
  private untilVerification(ms: number): number {
    return Math.max(0, ms - this.core.opts.probeIntervalMs);
  }

  /**
   * An unverified suspicion ran out (`verifyBeforeDeath` off): the suspect is dead, once
   * what already arrived has been read. An event loop runs due timers before it polls the
   * socket, so a refutation may be waiting there; after a pause (the timer is late by more
   * than a probe timeout) many may be, and declaring now would be our own slowness talking
   * (Lifeguard's premise), so gossip gets a period; otherwise one loop turn.
   */
  private expired(name: string, incarnation: number, graced = false): void {
    const s = this.map.get(name);
    const m = this.core.table.get(name);
    if (!s || !m || m.state !== 'suspect' || m.incarnation !== incarnation) return;
    if (!graced) {
      const { clock, opts } = this.core;
      const late = clock.now() - s.deadline() > opts.probeTimeoutMs;
      s.dueAt = undefined;
      s.timer = clock.setTimer(late ? opts.probeIntervalMs : 0, () => this.expired(name, incarnation, true));
      return;
    }
    this.map.delete(name);
    this.transitions.onDead({ type: 'dead', node: name, incarnation, from: this.core.name });
  }

  /**
   * A suspicion is about to expire: probe the suspect ourselves (the suspicion rides
   * along, buddy-style) and declare it dead only if that probe fails. The timeout only
   * says nobody told *us* of a refutation; an epidemic with a transmit limit misses a
   * member now and then, and a node waking from a pause has read nothing yet. A probe
   * answered now is better evidence than any suspicion heard before: postpone by the
   * minimum timeout (the suspect, told of our stale suspicion, re-announces its current
   * incarnation on the ack, which normally ends the suspicion at once). A probe our own
   * pause made unfair is run again.
   */
  private verify(name: string, incarnation: number): void {
    const s = this.map.get(name);
    const { table, clock } = this.core;
    const m = table.get(name);
    if (!s || s.verifying || !m || m.state !== 'suspect' || m.incarnation !== incarnation) return;
    s.verifying = true;
    this.prober.probe(m, this.core.awareness.scale(this.core.opts.probeIntervalMs), (result) => {
      if (this.map.get(name) !== s) return; // refuted, declared or replaced meanwhile
      s.verifying = false;
      if (m.state !== 'suspect' || m.incarnation !== incarnation) return;
      if (result === 'failed' && (s.heardAt ?? -Infinity) > s.start) {
        // The suspect reached us after the suspicion began: whatever it was, that silence
        // ended (we missed its refutation), and this one has just begun. Judge it afresh,
        // as a suspicion of our own, instead of on the old one's deadline.
        s.heardAt = undefined;
        s.restart(clock.now(), this.core.name);
        this.core.evidence?.restarted(name, this.core.name, clock.now());
        table.unmark(table.slotOf(name));
        this.arm(s, name, incarnation, s.minMs);
        return;
      }
      if (result === 'failed') {
        this.map.delete(name);
        this.transitions.onDead({ type: 'dead', node: name, incarnation, from: this.core.name });
        return;
      }
      const delay = result === 'acked' ? this.untilVerification(s.minMs) : 0;
      s.dueAt = undefined;
      s.timer = clock.setTimer(delay, () => this.verify(name, incarnation));
    });
  }
}

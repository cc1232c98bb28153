import type { Timer } from '../clock.js';
import type { AckMessage, PingMessage, PingReqMessage } from '../codec/messages.js';
import type { Address } from '../transport/transport.js';
import { ALIVE } from './core.js';
import type { SwimCore } from './core.js';
import type { ProbeKind } from './evidence.js';
import type { LocalNode } from './local-node.js';
import type { Member } from './members.js';
import { PendingTable } from './pending.js';
import type { Pending } from './pending.js';
import type { SuspicionTimers } from './suspicion-timers.js';
import type { Transitions } from './transitions.js';

/** Fraction of the probe timeout after which an indirect-probe helper nacks at the latest (Lifeguard). */
const NACK_TIMEOUT_FRACTION = 0.8;
/**
 * Fraction of the requester's indirect window (probe interval − probe timeout) after which a
 * helper nacks, when that is sooner: the nacks then complete a failed probe's evidence around
 * three quarters into the period, and the requester can judge it there (decision 0040 §11).
 */
const NACK_WINDOW_FRACTION = 0.5;

/** How a probe ended: answered, unanswered, or not judgeable because our own timers ran late. */
export type ProbeResult = 'acked' | 'failed' | 'inconclusive';

interface PendingProbe extends Pending {
  target: string;
  /** The target's incarnation when the probe was sent: a failed probe accuses that one only. */
  incarnation: number;
  sentAt: number;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
  /** When the indirect probes went out (the probe timeout timer ran). */
  indirectAt?: number;
  /** May be judged as soon as its evidence is complete (a probe of the probe loop). */
  early?: boolean;
  /** The stream fallback ping ran and failed. */
  streamFailed?: boolean;
  /** Its verdict is taken (early) or scheduled; later evidence changes nothing. */
  judged?: boolean;
  /** For a relayed (ping-req) probe: what to do with the answer. */
  relay?: { seq: number; to: Address };
  /** The helpers asked to ping the target (kept only with evidence, to name who relayed an ack). */
  helpers?: readonly Readonly<Member>[];
  /** This probe verifies a suspicion (kept only with evidence). */
  verification?: boolean;
}

/**
 * SWIM's failure detector with Lifeguard's refinements: the probe loop (one member per
 * period, in the table's shuffled round-robin order), each probe's pending entry (direct
 * ping, then ping-reqs through helpers and a stream ping after the probe timeout), the
 * helper's side of an indirect probe (relay and nack), and the verdict: acked, failed
 * (the target is suspected, or the caller told), or inconclusive when our own timers ran
 * late. Every outcome moves this node's health (Lifeguard).
 */
export class Prober {
  private readonly pending = new PendingTable<PendingProbe>();
  /** The probe loop's pending timer. */
  private timer: Timer | undefined;
  /** Set once by Membership (these need the prober too). */
  suspicions!: SuspicionTimers;
  transitions!: Transitions;

  constructor(
    private readonly core: SwimCore,
    private readonly local: LocalNode,
    private readonly ackPayload: (() => Uint8Array | undefined) | undefined,
    private readonly onAckPayload: ((member: string, payload: Uint8Array) => void) | undefined,
  ) {}

  /** Stops the probe loop (probes under way end without a verdict). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Runs the probe loop: the next probe `delay` ms from now, then one per (health-scaled) probe interval. */
  schedule(delay: number): void {
    this.timer = this.core.clock.setTimer(delay, () => {
      this.timer = undefined;
      const core = this.core;
      if (!core.running) return;
      const interval = core.awareness.scale(core.opts.probeIntervalMs);
      if (!core.leaving) {
        const target = core.table.nextProbeTarget();
        if (target) this.probe(target, interval);
      }
      this.schedule(interval);
    });
  }

  /**
   * Probes `target` for one period of `interval`. Without `done`, a failed probe suspects
   * the target; with it, `done` gets the result instead (the verification of a suspicion,
   * which runs as long as the suspicion does rather than as long as the probe loop).
   */
  probe(target: Readonly<Member>, interval: number, done?: (result: ProbeResult) => void): void {
    const { clock, out, opts, counters, self, name } = this.core;
    const seq = this.core.nextSeq();
    // A verification is not judged early: its verdict belongs on the suspicion's deadline.
    const now = clock.now();
    const probe: PendingProbe = { seq, until: Infinity, target: target.name, incarnation: target.incarnation, sentAt: now, acked: false, nacks: 0, expectedNacks: 0, early: done === undefined };
    this.pending.set(probe, now);
    counters.probes++;
    if (this.core.evidence && done) probe.verification = true;
    const ping: PingMessage = { type: 'ping', seq, target: target.name, source: name, sourceAddr: self.addr };
    if (target.state === 'suspect') {
      // Lifeguard buddy system: tell the suspect directly so it can refute at once
      out.send(target.addr, { type: 'suspect', node: target.name, incarnation: target.incarnation, from: name }, false);
    }
    out.send(target.addr, ping, true);

    const timeout = this.core.awareness.scale(opts.probeTimeoutMs);
    clock.setTimer(timeout, () => {
      probe.indirectAt = clock.now();
      if (probe.acked || (!this.core.running && !done)) return;
      const helpers = this.core.table.sample(opts.indirectChecks, ALIVE, (m) => m.name !== target.name);
      probe.expectedNacks = helpers.length;
      if (this.core.evidence) probe.helpers = helpers;
      for (const h of helpers) {
        counters.indirectProbes++;
        const req: PingReqMessage = {
          type: 'ping-req', seq, target: target.name, targetAddr: target.addr, source: name, sourceAddr: self.addr, nack: true,
        };
        out.send(h.addr, req, true);
      }
      if (opts.streamFallbackPing) {
        counters.streamPings++;
        out.streamPing(target.addr, ping, (ok) => {
          if (this.pending.get(seq, clock.now()) !== probe || probe.acked) return;
          if (ok) return this.acked(probe, 'tcp-ack');
          probe.streamFailed = true;
          this.judgeIfComplete(seq, probe);
        });
      }
    });

    // Decide one loop turn after the period ends, once what already arrived has been read:
    // an event loop runs due timers before it polls the socket, so after a pause the ack or
    // the nacks may be waiting there behind this timer.
    clock.setTimer(interval, () => clock.setTimer(0, () => this.verdict(seq, probe, interval - timeout, done)));
  }

  /** A ping: acked (with the ack payload) when it is for us. */
  onPing(msg: PingMessage): void {
    if (msg.target !== this.core.name && msg.target !== '') {
      // a ping for a previous owner of our address: answering would vouch for it
      this.core.counters.misdirectedPings++;
      return;
    }
    this.suspicions.heardFrom(msg.source);
    const payload = this.ackPayload?.();
    const ack: AckMessage = payload ? { type: 'ack', seq: msg.seq, payload } : { type: 'ack', seq: msg.seq };
    this.core.out.send(msg.sourceAddr, ack, true);
  }

  /** A ping-req: pings the target for the requester, relays its ack, nacks if none came in time. */
  onPingReq(msg: PingReqMessage): void {
    this.suspicions.heardFrom(msg.source);
    const { clock, out, counters } = this.core;
    counters.indirectProbesServed++;
    const seq = this.core.nextSeq();
    const now = clock.now();
    // relayed for one probe period, the longest the requester waits
    const relay: PendingProbe = { seq, until: now + this.core.opts.probeIntervalMs, target: msg.target, incarnation: 0, sentAt: now, acked: false, nacks: 0, expectedNacks: 0, relay: { seq: msg.seq, to: msg.sourceAddr } };
    this.pending.set(relay, now);
    out.send(msg.targetAddr, { type: 'ping', seq, target: msg.target, source: this.core.name, sourceAddr: this.core.self.addr }, true);
    // The requester sent this ping-req one probe timeout into its period and decides at the
    // period's end at the latest. Lifeguard proposes nacking at 80 % of the probe timeout (a
    // nack after a full timeout lands a round trip too late, and every failed probe then
    // costs a healthy requester its missing nacks in health); we nack sooner still, halfway
    // through the requester's remaining window, so that with every nack in hand it can judge
    // a failed probe there instead of at the period's end (decision 0040 §11). An ack after
    // our nack is still relayed: a nack is "no answer yet", and a relayed ack wins.
    clock.setTimer(this.nackDelay(), () => {
      if (!relay.acked && msg.nack) {
        counters.nacksSent++;
        out.send(msg.sourceAddr, { type: 'nack', seq: msg.seq }, true);
      }
    });
  }

  /** An ack of one of our probes, or of a ping we relay. `from` is the socket address it came from. */
  onAck(msg: AckMessage, from: Address): void {
    const probe = this.pending.get(msg.seq, this.core.clock.now());
    if (!probe || probe.acked) return;
    if (probe.relay) {
      probe.acked = true;
      // the target's payload travels on to the prober, which attributes it to the target
      this.core.out.send(probe.relay.to, msg.payload ? { type: 'ack', seq: probe.relay.seq, payload: msg.payload } : { type: 'ack', seq: probe.relay.seq }, true);
      return;
    }
    if (this.core.evidence && probe.indirectAt !== undefined && from !== this.core.table.get(probe.target)?.addr) {
      // after the indirect stage, an ack from elsewhere than the target was relayed by a helper
      this.acked(probe, 'indirect-ack', probe.helpers?.find((h) => h.addr === from)?.name ?? from);
    } else {
      this.acked(probe);
    }
    if (msg.payload && this.onAckPayload) this.onAckPayload(probe.target, msg.payload);
  }

  /** A helper's nack: one more piece of a failed probe's evidence. */
  onNack(seq: number): void {
    const probe = this.pending.get(seq, this.core.clock.now());
    if (!probe || probe.relay) return;
    this.core.counters.nacksReceived++;
    probe.nacks++;
    this.judgeIfComplete(seq, probe);
  }

  /**
   * Judges a failed probe before its period ends once the evidence is complete (decision
   * 0040 §11): the direct ping timed out, every helper nacked and the stream ping (if
   * enabled) failed, so nothing is left that could still bring an ack in the rest of the
   * period. The verdict waits one loop turn, like the end-of-period one, so an ack read
   * in the same turn as the last nack still counts. Without complete evidence (a helper
   * silent, the stream ping pending) the probe is judged at the period's end as before.
   */
  private judgeIfComplete(seq: number, probe: PendingProbe): void {
    if (!probe.early || probe.judged || probe.acked || probe.indirectAt === undefined) return;
    const stream = this.core.opts.streamFallbackPing;
    // nothing indirect was tried (no helper, no stream ping): the direct ping keeps its period
    if (probe.expectedNacks === 0 && !stream) return;
    if (probe.nacks < probe.expectedNacks || (stream && !probe.streamFailed)) return;
    probe.judged = true;
    this.core.clock.setTimer(0, () => this.verdict(seq, probe, 0));
  }

  /** Ends a probe: suspects the target when neither it nor the helpers answered in time. */
  private verdict(seq: number, probe: PendingProbe, indirectWindow: number, done?: (result: ProbeResult) => void): void {
    const { clock } = this.core;
    // the end-of-period verdict of a probe judged early (or the other way round) is void
    if (this.pending.get(seq, clock.now()) !== probe) return;
    this.pending.delete(seq);
    if (probe.acked) return done?.('acked');
    if ((!this.core.running && !done) || this.core.leaving) return;
    if (clock.now() - (probe.indirectAt ?? -Infinity) < indirectWindow) {
      // Our own timers ran late (a GC pause, a descheduled VM): the helpers, maybe the
      // target too, did not get their time to answer, so the silence says nothing about the
      // target. Lifeguard's premise: count it against our own health, accuse nobody.
      this.record(probe, 'inconclusive');
      this.local.adjustHealth(1, 'late-timers', probe.target, probe.indirectAt === undefined ? indirectWindow : indirectWindow - (clock.now() - probe.indirectAt));
      return done?.('inconclusive');
    }
    this.core.counters.probeFailures++;
    // Lifeguard: missing nacks mean *we* may be the one with the problem
    const delta = probe.expectedNacks > 0 ? Math.max(0, probe.expectedNacks - probe.nacks) : 1;
    this.record(probe, 'timeout');
    this.local.adjustHealth(delta, probe.expectedNacks > 0 ? 'missed-nacks' : 'probe-failed-alone', probe.target, probe.nacks, probe.expectedNacks);
    if (done) return done('failed');
    // The incarnation probed, as memberlist does: if the member refuted meanwhile (a healed
    // partition: the ping was lost before the heal, the refutation came after), its new
    // incarnation is younger than our evidence, and onSuspect drops the stale accusation.
    const m = this.core.table.get(probe.target);
    if (m && (m.state === 'alive' || m.state === 'suspect')) {
      this.transitions.onSuspect({ type: 'suspect', node: m.name, incarnation: probe.incarnation, from: this.core.name });
    }
  }

  private acked(probe: PendingProbe, kind: ProbeKind = 'ack', via?: string): void {
    this.suspicions.heardFrom(probe.target);
    probe.acked = true;
    this.core.counters.acks++;
    const m = this.core.table.change(probe.target);
    if (m) m.rttMs = this.core.clock.now() - probe.sentAt;
    this.record(probe, kind, via);
    this.local.adjustHealth(-1, 'probe-acked', probe.target);
  }

  /** Adds how `probe` ended to the target's evidence, when kept. */
  private record(probe: PendingProbe, kind: ProbeKind, via?: string): void {
    const { evidence, clock } = this.core;
    if (!evidence || !this.core.table.get(probe.target)) return;
    const acked = kind === 'ack' || kind === 'indirect-ack' || kind === 'tcp-ack';
    const indirect = probe.indirectAt !== undefined;
    evidence.probe(probe.target, {
      at: clock.now(), kind, rttMs: acked ? clock.now() - probe.sentAt : undefined, via,
      helpers: probe.expectedNacks, nacks: probe.nacks,
      tcp: kind === 'tcp-ack' ? 'ok' : probe.streamFailed ? 'failed' : indirect && this.core.opts.streamFallbackPing && !acked ? 'pending' : 'none',
      verification: probe.verification === true,
    });
  }

  /** How long a ping-req helper waits for the target before nacking: see onPingReq. */
  private nackDelay(): number {
    const { opts } = this.core;
    const late = opts.probeTimeoutMs * NACK_TIMEOUT_FRACTION;
    const window = opts.probeIntervalMs - opts.probeTimeoutMs;
    return Math.floor(window > 0 ? Math.min(late, window * NACK_WINDOW_FRACTION) : late);
  }
}

import { ClusterError } from '../errors.js';
import { DATA, FIN, REFUSE, RESET, SYN, SYN_ACK } from './memory-delivery.js';
import type { PendingDial } from './memory-delivery.js';
import { MemoryStream, StreamState } from './memory-stream.js';
import type { StreamCarrier } from './memory-stream.js';
import type { MemoryNetwork } from './memory.js';
import type { MemoryTransport } from './memory-transport.js';
import type { Address, Stream } from './transport.js';

/**
 * The memory network's streams: dials and their handshake (SYN, SYN-ACK, refusal),
 * messages carried in order over the link delay, ends, and the breaks that partitions
 * and crashes cause. It schedules through the network's one delivery queue and asks it
 * about links and reachability.
 */
export class MemoryStreams {
  /** Dialing ends of open streams, to find those a new partition breaks. */
  private readonly openStreams = new Set<MemoryStream>();
  private checkPending = false;
  private readonly carrier: StreamCarrier = { carry: (end, message) => this.carry(end, message) };

  /**
   * @param net the network whose queue, clock, links and counters the streams use.
   * @param highWaterMark undelivered bytes a stream end may have in flight.
   */
  constructor(private readonly net: MemoryNetwork, private readonly highWaterMark: number) {}

  /** Dials `to` from `from`: resolves with the stream, or rejects (refused, unreachable, timed out, closed). */
  dial(from: MemoryTransport, to: Address, timeoutMs: number): Promise<Stream> {
    if (from.closed) return Promise.reject(new ClusterError('E_CLOSED', `cannot dial ${to}: transport is closed`));
    return new Promise<Stream>((resolve, reject) => {
      const dial: PendingDial = { from, to, settled: false, lost: false, timer: null, end: null, resolve, reject };
      dial.timer = this.net.clock.setTimer(timeoutMs, () => {
        this.settleDial(dial, dial.lost
          ? new ClusterError('E_UNREACHABLE', `cannot reach ${to}: no route (dial timed out after ${timeoutMs} ms)`)
          : new ClusterError('E_TIMEOUT', `dial ${to} timed out after ${timeoutMs} ms`));
      });
      from.dials.add(dial);
      if (from.stalled) from.outbox.push(() => this.sendSyn(dial));
      else this.sendSyn(dial);
    });
  }

  /** Settles the dials and ends the streams of a transport being closed (its peers get a reset). */
  closeAll(node: MemoryTransport): void {
    for (const dial of [...node.dials]) {
      this.settleDial(dial, new ClusterError('E_CLOSED', `transport closed while dialing ${dial.to}`));
    }
    const closed = new ClusterError('E_CLOSED', 'transport closed');
    for (const end of [...node.streams]) {
      this.endStream(end, closed);
      const peer = end.peer;
      if (peer.state !== StreamState.Closed) {
        this.net.stats.streamsBroken++;
        // the peer learns of the crash one link latency later, like a TCP RST
        const d = this.net.queue.alloc();
        d.at = this.net.clock.now() + this.net.linkLatency(node, end.remote);
        d.kind = RESET;
        d.to = peer.owner as MemoryTransport;
        d.stream = peer;
        this.net.schedule(d);
      }
    }
  }

  private carry(end: MemoryStream, message: Uint8Array | null): void {
    const from = end.owner as MemoryTransport;
    if (from.stalled) from.outbox.push(() => this.transmit(end, message));
    else this.transmit(end, message);
  }

  private transmit(end: MemoryStream, message: Uint8Array | null): void {
    if (end.state === StreamState.Closed) return;
    const from = end.owner as MemoryTransport;
    const peer = end.peer;
    let at = this.net.clock.now() + this.net.linkDelay(from, end.remote);
    // a stream never lets a message overtake an earlier one, whatever the jitter drew
    if (at < end.lastAt) at = end.lastAt;
    end.lastAt = at;
    const d = this.net.queue.alloc();
    d.at = at;
    d.kind = message ? DATA : FIN;
    d.from = from;
    d.to = peer.owner as MemoryTransport;
    d.stream = peer;
    d.data = message;
    if (message) {
      from.stats.bytesOut += message.length;
      this.net.stats.streamMessages++;
    }
    this.net.schedule(d);
  }

  /** @internal */
  arriveData(to: MemoryTransport, end: MemoryStream, message: Uint8Array): void {
    if (end.state === StreamState.Closed) return;
    if (message.length > to.limits.maxStreamMessage) {
      to.stats.streamErrors++;
      this.breakPair(end, new ClusterError('E_LIMIT', `stream from ${end.remote} sent a ${message.length}-byte message; maxStreamMessage is ${to.limits.maxStreamMessage}`));
      return;
    }
    to.stats.bytesIn += message.length;
    end.deliver(message);
    end.peer.delivered(message.length);
  }

  /** @internal */
  arriveFin(end: MemoryStream): void {
    if (end.state === StreamState.Closed) return;
    this.endStream(end);
    this.endStream(end.peer);
  }

  private sendSyn(dial: PendingDial): void {
    if (dial.settled) return;
    const from = dial.from;
    const target = this.net.transport(dial.to);
    if (target === undefined) {
      // nobody there: refused after a round trip, like an RST from a host without the port
      const d = this.net.queue.alloc();
      d.at = this.net.clock.now() + 2 * this.net.linkLatency(from, dial.to);
      d.kind = REFUSE;
      d.to = from;
      d.dial = dial;
      this.net.schedule(d);
      return;
    }
    if (this.net.blockReason(from, target) !== null) {
      dial.lost = true;
      return;
    }
    const d = this.net.queue.alloc();
    d.at = this.net.clock.now() + this.net.linkDelay(from, dial.to);
    d.kind = SYN;
    d.from = from;
    d.to = target;
    d.dial = dial;
    this.net.schedule(d);
  }

  /** @internal */
  refuse(dial: PendingDial, by: MemoryTransport): void {
    if (dial.settled) return;
    this.net.stats.streamsRefused++;
    const d = this.net.queue.alloc();
    d.at = this.net.clock.now() + this.net.linkLatency(by, dial.from.address);
    d.kind = REFUSE;
    d.to = dial.from;
    d.dial = dial;
    this.net.schedule(d);
  }

  /** @internal */
  arriveSyn(target: MemoryTransport, dial: PendingDial): void {
    if (dial.settled) return;
    const handler = target.streamHandler;
    if (!handler || target.inbound >= target.limits.maxInboundStreams) {
      if (handler) target.stats.streamErrors++;
      this.refuse(dial, target);
      return;
    }
    const from = dial.from;
    const accepted = new MemoryStream(this.carrier, from.address, target, true, target.limits.maxStreamMessage, this.highWaterMark);
    const dialing = new MemoryStream(this.carrier, dial.to, from, false, from.limits.maxStreamMessage, this.highWaterMark);
    accepted.peer = dialing;
    dialing.peer = accepted;
    target.streams.add(accepted);
    target.inbound++;
    from.streams.add(dialing);
    this.openStreams.add(dialing);
    dial.end = dialing;
    const d = this.net.queue.alloc();
    d.at = this.net.clock.now() + this.net.linkDelay(target, from.address);
    d.kind = SYN_ACK;
    d.from = target;
    d.to = from;
    d.stream = dialing;
    d.dial = dial;
    // whatever the acceptor sends from its handler must arrive after the SYN-ACK
    accepted.lastAt = d.at;
    this.net.schedule(d);
    target.stats.streamsAccepted++;
    handler(accepted);
  }

  /** @internal */
  arriveSynAck(dial: PendingDial): void {
    const end = dial.end!;
    if (dial.settled) {
      // the dialer gave up meanwhile: tear the half-made stream down on both sides
      if (end.state !== StreamState.Closed) this.breakPair(end, new ClusterError('E_TIMEOUT', `dial ${dial.to} gave up`));
      return;
    }
    if (end.state === StreamState.Closed) {
      this.settleDial(dial, new ClusterError('E_UNREACHABLE', `cannot reach ${dial.to}: connection lost during the handshake`));
      return;
    }
    dial.from.stats.streamsOpened++;
    this.net.stats.streamsOpened++;
    this.settleDial(dial, undefined, end);
  }

  /** @internal */
  settleDial(dial: PendingDial, err?: Error, stream?: MemoryStream): void {
    if (dial.settled) return;
    dial.settled = true;
    dial.timer?.cancel();
    dial.from.dials.delete(dial);
    if (err) dial.reject(err);
    else dial.resolve(stream!);
  }

  /** @internal */
  endStream(end: MemoryStream, err?: Error): void {
    if (end.state === StreamState.Closed) return;
    const owner = end.owner as MemoryTransport;
    owner.streams.delete(end);
    if (end.inbound) owner.inbound--;
    else this.openStreams.delete(end);
    end.finish(err);
  }

  private breakPair(end: MemoryStream, err: Error): void {
    this.net.stats.streamsBroken++;
    this.endStream(end, err);
    this.endStream(end.peer, err);
  }

  /** @internal */
  connectivityChanged(): void {
    if (this.checkPending) return;
    this.checkPending = true;
    this.net.clock.setTimer(0, () => {
      this.checkPending = false;
      for (const end of [...this.openStreams]) {
        const a = end.owner as MemoryTransport;
        const b = end.peer.owner as MemoryTransport;
        if (this.net.blockReason(a, b) !== null || this.net.blockReason(b, a) !== null) {
          this.breakPair(end, new ClusterError('E_UNREACHABLE', `connection between ${a.address} and ${b.address} lost: network partition`));
        }
      }
    });
  }
}

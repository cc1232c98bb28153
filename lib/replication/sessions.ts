import type { AnyMessage } from '../codec/messages.js';
import { encodeMessage } from '../codec/messages.js';
import { LimitedMsgpackDecoder, resolveMsgpackLimits } from '../codec/msgpack-limits.js';
import type { BulkChunkMessage, MerkleMessage } from '../codec/replication-messages.js';
import type { ReplicaEvent, SyncRecord } from '../replica/replica.js';
import { BulkReceiver, BulkSender } from '../sync/bulk.js';
import type { BulkChunk } from '../sync/bulk.js';
import { ExchangeSession } from '../sync/exchange.js';
import { decodeBulkChunk, encodeBulkChunk, packedSize } from './bulk-chunks.js';
import type { ReplicationContext } from './context.js';
import type { FramedStream } from './framed-stream.js';

interface Session {
  kind: 'merkle' | 'bulk-in' | 'bulk-out';
  peer: string;
  sid: number;
  stream: FramedStream | undefined;
  lastActivity: number;
  initiator: boolean;
  merkle?: ExchangeSession<SyncRecord, ReplicaEvent>;
  receiver?: BulkReceiver;
  finished: boolean;
  /** `complete`: a Merkle session that ended with no difference left for a next one. */
  onEnd?: (ok: boolean, complete: boolean) => void;
}

const BULK_CHUNK_BUDGET = 60_000;

/**
 * The stream sessions of anti-entropy: Merkle sessions (periodic, after a heal, for a
 * restarted node) and bulk streams (an empty joiner's whole state), both ways, each on
 * its own framed stream, within the session budgets, dropped when idle.
 */
export class SyncSessions {
  private readonly sessions = new Set<Session>();
  private nextSid = 1;
  private readonly bulkDecoder = new LimitedMsgpackDecoder(resolveMsgpackLimits({ maxMapLength: 65_536 }));

  constructor(private readonly ctx: ReplicationContext) {}

  /** Starts a Merkle session with `peer` unless one runs or the session budget is spent. */
  startMerkle(peer: string, onEnd?: (ok: boolean, complete: boolean) => void): boolean {
    const { ctx } = this;
    if (ctx.catchUp.phase === 'bulk') return false;
    const addr = ctx.address(peer);
    if (addr === undefined || this.count(true) >= ctx.opts.maxSessions) return false;
    for (const s of this.sessions) if (s.peer === peer && s.initiator) return false;
    const sid = this.nextSid++;
    const s = this.newSession('merkle', peer, sid, undefined, true);
    s.merkle = new ExchangeSession<SyncRecord, ReplicaEvent>(ctx.replica, sid);
    if (onEnd) s.onEnd = onEnd;
    ctx.counters.merkleSessions++;
    ctx.host.dial(addr).then(
      (stream) => {
        if (!this.sessions.has(s)) return stream.close();
        s.stream = stream;
        stream.onMessages((msgs) => {
          s.lastActivity = ctx.host.clock.now();
          for (const m of msgs) {
            if (m.type === 'merkle') this.onMerkle(s, m);
            else ctx.host.rejected(`${m.type} in a Merkle session`);
          }
        });
        stream.onClose(() => this.end(s, s.finished));
        this.send(stream, { type: 'merkle', from: ctx.host.name, msg: s.merkle!.open() });
      },
      () => this.end(s, false),
    );
    return true;
  }

  /** Asks `peer` to stream its whole state (empty joiner). */
  startBulk(peer: string, onEnd: (ok: boolean) => void): boolean {
    const { ctx } = this;
    const addr = ctx.address(peer);
    if (addr === undefined) return false;
    const sid = this.nextSid++;
    const s = this.newSession('bulk-in', peer, sid, undefined, true);
    s.receiver = new BulkReceiver(ctx.replica);
    s.onEnd = onEnd;
    ctx.counters.bulkSessions++;
    ctx.host.dial(addr).then(
      (stream) => {
        if (!this.sessions.has(s)) return stream.close();
        s.stream = stream;
        stream.onMessages((msgs) => {
          s.lastActivity = ctx.host.clock.now();
          for (const m of msgs) {
            if (m.type === 'bulk-chunk' && m.sid === sid) this.onBulkChunk(s, m);
            else {
              ctx.host.rejected(`${m.type} in a bulk stream`);
              this.end(s, false);
            }
          }
        });
        stream.onClose(() => this.end(s, s.finished));
        this.send(stream, { type: 'bulk-request', from: ctx.host.name, sid });
      },
      () => this.end(s, false),
    );
    return true;
  }

  /**
   * Takes over an inbound stream whose first message is a replication one. Returns the
   * handler for that and every later message of the stream; `other` gets the messages
   * that are not session messages.
   */
  adopt(stream: FramedStream, other: (m: AnyMessage) => void): (m: AnyMessage) => void {
    const { ctx } = this;
    let session: Session | undefined;
    stream.onClose(() => {
      if (session) this.end(session, session.finished);
    });
    return (m) => {
      if (session) session.lastActivity = ctx.host.clock.now();
      switch (m.type) {
        case 'merkle': {
          if (!session) {
            // a node still streaming its initial state would only find differences the stream fixes
            if (ctx.catchUp.phase === 'bulk' || this.count(false) >= ctx.opts.maxSessions * 2) return stream.close();
            session = this.newSession('merkle', m.from, m.msg.sid, stream, false);
            session.merkle = new ExchangeSession<SyncRecord, ReplicaEvent>(ctx.replica, m.msg.sid);
            ctx.counters.merkleSessions++;
          }
          if (session.kind !== 'merkle') return stream.close();
          return this.onMerkle(session, m);
        }
        case 'bulk-request': {
          if (session) return stream.close();
          if (this.count(false) >= ctx.opts.maxSessions * 2) return stream.close();
          session = this.newSession('bulk-out', m.from, m.sid, stream, false);
          ctx.counters.bulkServed++;
          return this.serveBulk(session);
        }
        case 'bulk-chunk':
          ctx.host.rejected('bulk-chunk without a request');
          return stream.close();
        default:
          return other(m);
      }
    };
  }

  /** True while this node runs a Merkle session it started with a peer `returned` lists. */
  repairing(returned: ReadonlyMap<string, number>): boolean {
    for (const s of this.sessions) if (s.initiator && s.kind === 'merkle' && returned.has(s.peer)) return true;
    return false;
  }

  /** Ends the sessions silent for longer than `sessionIdleMs`. */
  expireIdle(now: number): void {
    for (const s of [...this.sessions]) if (now - s.lastActivity > this.ctx.opts.sessionIdleMs) this.end(s, false);
  }

  /** Ends every session with `peer` (it left or died). */
  endPeer(peer: string): void {
    for (const s of [...this.sessions]) if (s.peer === peer) this.end(s, false);
  }

  /** Ends every session (the replicator stops). */
  endAll(): void {
    for (const s of [...this.sessions]) this.end(s, false);
  }

  private onMerkle(s: Session, m: MerkleMessage): void {
    const { ctx } = this;
    const step = s.merkle!.receive(m.msg, ctx.nowTs());
    ctx.emitEvents(step.events);
    if (step.done) s.finished = true;
    if (step.reply) {
      if (s.stream) this.send(s.stream, { type: 'merkle', from: ctx.host.name, msg: step.reply });
    } else {
      // the peer said done and we have nothing to add: the session is over
      this.end(s, true);
    }
  }

  private onBulkChunk(s: Session, m: BulkChunkMessage): void {
    const { ctx } = this;
    if (s.finished || !this.sessions.has(s)) return;
    let chunk: BulkChunk;
    try {
      const total = packedSize(m);
      ctx.counters.syncIn += total;
      chunk = decodeBulkChunk(m, total, this.bulkDecoder);
    } catch {
      ctx.host.rejected('bulk-chunk payload');
      return this.end(s, false);
    }
    const result = s.receiver!.apply(chunk, ctx.nowTs());
    if (!result) {
      ctx.host.rejected('bulk-chunk out of order or malformed');
      return this.end(s, false);
    }
    ctx.emitEvents(result.events);
    if (s.receiver!.done) {
      s.finished = true;
      this.end(s, true);
    }
  }

  private serveBulk(s: Session): void {
    const { ctx } = this;
    const sender = new BulkSender(ctx.replica, BULK_CHUNK_BUDGET);
    const stream = s.stream!;
    let pending: Uint8Array | undefined;
    let waiting = false;
    const pump = (): void => {
      if (!this.sessions.has(s) || stream.isClosed) return;
      // a few chunks per turn of the event loop: probes and acks must not wait for the stream
      for (let i = 0; i < 8; i++) {
        if (!pending) {
          const chunk = sender.next();
          if (!chunk) {
            s.finished = true;
            stream.close();
            this.end(s, true);
            return;
          }
          pending = this.bulkFrame(s.sid, chunk);
        }
        if (!stream.sendFrame(pending)) {
          waiting = true;
          return;
        }
        s.lastActivity = ctx.host.clock.now();
        pending = undefined;
      }
      ctx.host.defer(pump);
    };
    stream.onDrain(() => {
      if (!waiting) return;
      waiting = false;
      pump();
    });
    pump();
  }

  private bulkFrame(sid: number, chunk: BulkChunk): Uint8Array {
    const msg = encodeBulkChunk(sid, chunk);
    this.ctx.counters.syncOut += msg.length;
    return this.ctx.host.rawFrame([msg]);
  }

  private send(stream: FramedStream, m: AnyMessage): void {
    const bytes = encodeMessage(m);
    this.ctx.counters.syncOut += bytes.length;
    stream.send([bytes]);
  }

  private newSession(kind: Session['kind'], peer: string, sid: number, stream: FramedStream | undefined, initiator: boolean): Session {
    const s: Session = { kind, peer, sid, stream, lastActivity: this.ctx.host.clock.now(), initiator, finished: false };
    this.sessions.add(s);
    return s;
  }

  private count(initiator: boolean): number {
    let n = 0;
    for (const s of this.sessions) if (s.initiator === initiator) n++;
    return n;
  }

  private end(s: Session, ok: boolean): void {
    if (!this.sessions.delete(s)) return;
    const { ctx } = this;
    if (ok && s.kind === 'merkle') ctx.counters.merkleCompleted++;
    const p = ctx.peers.get(s.peer);
    if (p && ok) p.lastSessionAt = ctx.host.clock.wall();
    if (s.stream && !s.stream.isClosed) s.stream.close();
    s.onEnd?.(ok, ok && s.merkle?.complete === true);
  }
}

import type { Membership, Message, NodeRuntime, Random, Timer } from '../lib/internal.js';

/** One datagram in flight: the messages a node sent one peer at one instant. */
export interface Frame {
  fromAddr: string;
  to: SimNode;
  msgs: Message[];
  /** Encoded size of the messages (frame header excluded). */
  bytes: number;
}

/** A stream request or reply waiting for its node. */
export interface StreamHop {
  node: SimNode;
  gen: number;
  run: () => void;
}

/** What a stalled node finds waiting when it wakes. */
export type Deferred = NodeTimer | Frame | StreamHop;

function spent(): void {}

/** A node timer that can wait out a stall and still honour a cancel made meanwhile. */
export class NodeTimer implements Timer {
  inner: Timer | undefined;
  private cancelled = false;

  constructor(
    private fn: () => void,
    /** The node whose process set it, and that process's generation (its timers die with it). */
    readonly node: SimNode,
    readonly gen: number,
  ) {}

  cancel(): void {
    this.cancelled = true;
    this.fn = spent;
    this.inner?.cancel();
  }

  /**
   * Runs the callback unless it was cancelled while deferred, then lets go of it: the
   * handle may live on in an older object, whose references would keep the callback's
   * young state alive through scavenges (see lib/clock.ts, Scheduled.release).
   */
  fire(): void {
    if (this.cancelled) return;
    const fn = this.fn;
    this.fn = spent;
    this.cancelled = true;
    fn();
  }
}

/**
 * A simulated host: one name and address for its whole life, a Membership per boot
 * (`gen` counts boots and crashes, so a dead process's timers and connections never
 * touch its successor), and its traffic counters. Sizes count encoded messages; frame
 * headers, compression and encryption are left out.
 */
export class SimNode {
  /** The current process's runtime (replaced on restart). */
  rt!: NodeRuntime;
  /** Its membership state machine (`rt.membership`). */
  m!: Membership;
  up = true;
  /** Incremented on every crash and restart. */
  gen = 0;
  /** Virtual time until which the node is paused. */
  stalledUntil = 0;
  /** Timers and arrivals held back by a stall, in order. */
  readonly deferred: Deferred[] = [];
  /** Non-urgent messages per peer address, waiting for the batch window. */
  readonly pending = new Map<string, Message[]>();
  /** Metadata the node boots with. */
  meta: Uint8Array | undefined;
  /**
   * The host's clock error (a `clock-skew` step), undefined while it has none: its wall
   * clock runs `offsetMs` ahead, and both its clocks gain `driftPpm` parts per million
   * from `sinceMs` on (`driftMs` is what they had gained by then). A host property: it
   * survives restarts.
   */
  skew: { offsetMs: number; driftPpm: number; sinceMs: number; driftMs: number } | undefined = undefined;

  msgsSent = 0;
  bytesSent = 0;
  framesSent = 0;
  msgsRecv = 0;
  bytesRecv = 0;
  framesRecv = 0;
  /** Stream exchanges opened (push-pull, fallback ping) and bytes sent over streams. */
  streamsSent = 0;
  streamBytesSent = 0;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly addr: string,
    /** This node's own random stream; each boot forks it. */
    readonly random: Random,
  ) {}

  /** Milliseconds the node's monotonic clock has gained on the shared one by `now` (drift only). */
  driftAt(now: number): number {
    const k = this.skew;
    return k === undefined ? 0 : k.driftMs + ((now - k.sinceMs) * k.driftPpm) / 1e6;
  }

  /** The traffic counters as one record (for reports and determinism checks). */
  counters(): Record<string, number> {
    return {
      msgsSent: this.msgsSent, bytesSent: this.bytesSent, framesSent: this.framesSent,
      msgsRecv: this.msgsRecv, bytesRecv: this.bytesRecv, framesRecv: this.framesRecv,
      streamsSent: this.streamsSent, streamBytesSent: this.streamBytesSent,
    };
  }
}

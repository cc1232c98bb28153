import type { Clock } from './clock.js';

/**
 * A hybrid logical clock timestamp packed into one safe integer:
 * `wallMs * 1024 + counter`. Ordering timestamps is ordering numbers; msgpack carries
 * it as one uint64. 43 bits of milliseconds last until the year 2248; when more than
 * 1023 events share a millisecond the counter carries into the wall part, which keeps
 * the order strict at the price of running up to a few ms ahead.
 */
export type HlcTimestamp = number;

const COUNTER_BITS = 1024;

/** Packs a wall time and a counter into a timestamp. */
export function hlcPack(wallMs: number, counter: number): HlcTimestamp {
  return Math.floor(wallMs) * COUNTER_BITS + counter;
}

/** The wall-clock milliseconds of a timestamp. */
export function hlcWall(ts: HlcTimestamp): number {
  return Math.floor(ts / COUNTER_BITS);
}

/** The logical counter of a timestamp. */
export function hlcCounter(ts: HlcTimestamp): number {
  return ts % COUNTER_BITS;
}

/** True if `ts` is a well-formed timestamp (a non-negative safe integer). */
export function isHlcTimestamp(ts: unknown): ts is HlcTimestamp {
  return typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0;
}

/**
 * A hybrid logical clock (Kulkarni et al.): timestamps follow wall time but never go
 * backwards and always exceed every timestamp seen from peers, so causally later events
 * sort later across nodes even with skewed clocks.
 */
export class Hlc {
  private last: HlcTimestamp = 0;

  /**
   * @param clock source of wall time.
   * @param maxDriftMs remote timestamps further than this ahead of our wall clock are
   *   not adopted (a peer with a broken clock must not drag ours into the future). @default 60000
   */
  constructor(
    private readonly clock: Clock,
    private readonly maxDriftMs = 60_000,
  ) {}

  /** A new timestamp for a local event, strictly greater than every earlier one. */
  now(): HlcTimestamp {
    const physical = hlcPack(this.clock.wall(), 0);
    this.last = physical > this.last ? physical : this.last + 1;
    return this.last;
  }

  /**
   * Folds in a timestamp received from a peer. Returns false (and ignores it) when it
   * lies more than `maxDriftMs` ahead of local wall time.
   */
  observe(remote: HlcTimestamp): boolean {
    if (!isHlcTimestamp(remote)) return false;
    if (hlcWall(remote) - this.clock.wall() > this.maxDriftMs) return false;
    if (remote > this.last) this.last = remote;
    return true;
  }

  /** The latest timestamp issued or observed. */
  peek(): HlcTimestamp {
    return this.last;
  }
}

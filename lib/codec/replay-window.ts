import { ClusterError } from '../errors.js';

/** Width of the sliding window, in counters (like IPsec's 64-packet window). */
export const REPLAY_WINDOW = 64;

interface Window {
  /** Highest counter accepted so far. */
  top: number;
  /** Bit i set: counter `top - i` was seen. Two 32-bit halves: bits 0–31 and 32–63. */
  lo: number;
  hi: number;
}

/**
 * Rejects replayed AES-GCM frames. A nonce is a 6-byte per-sender boot prefix plus a
 * 6-byte counter, so each prefix gets an IPsec-style window: the highest counter seen
 * and a 64-bit bitmap of the 64 below it. A counter below the window is refused too
 * (it cannot be told apart from a replay). Prefixes live in an LRU so a flood of
 * forged prefixes cannot grow memory; forged frames never reach it anyway, because
 * only authenticated frames are recorded.
 */
export class ReplayWindow {
  private readonly windows = new Map<number, Window>();

  /** @param maxPrefixes how many sender prefixes to remember. @default 4096 */
  constructor(readonly maxPrefixes = 4096) {
    if (!Number.isSafeInteger(maxPrefixes) || maxPrefixes < 1) {
      throw new ClusterError('E_CONFIG', `maxPrefixes must be a positive integer, got ${maxPrefixes}`);
    }
  }

  /** Number of prefixes currently remembered. */
  get size(): number {
    return this.windows.size;
  }

  /** True when (prefix, counter) was not seen and is not too old. Does not record it. */
  check(prefix: number, counter: number): boolean {
    const w = this.windows.get(prefix);
    if (!w || counter > w.top) return true;
    const age = w.top - counter;
    if (age >= REPLAY_WINDOW) return false;
    return !bit(w, age);
  }

  /** Records (prefix, counter) as seen; call only after the frame authenticated. */
  record(prefix: number, counter: number): void {
    let w = this.windows.get(prefix);
    if (w) {
      // refresh LRU position: Map iterates in insertion order
      this.windows.delete(prefix);
    } else {
      w = { top: counter, lo: 0, hi: 0 };
      if (this.windows.size >= this.maxPrefixes) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
    }
    this.windows.set(prefix, w);
    if (counter > w.top) {
      shift(w, counter - w.top);
      w.top = counter;
    }
    const age = w.top - counter;
    if (age < REPLAY_WINDOW) setBit(w, age);
  }
}

function bit(w: Window, i: number): boolean {
  return i < 32 ? ((w.lo >>> i) & 1) === 1 : ((w.hi >>> (i - 32)) & 1) === 1;
}

function setBit(w: Window, i: number): void {
  if (i < 32) w.lo = (w.lo | (1 << i)) >>> 0;
  else w.hi = (w.hi | (1 << (i - 32))) >>> 0;
}

/** Shifts the bitmap left by n (older counters move to higher bits; those past 63 fall off). */
function shift(w: Window, n: number): void {
  if (n >= 64) {
    w.lo = 0;
    w.hi = 0;
  } else if (n >= 32) {
    w.hi = n === 32 ? w.lo : (w.lo << (n - 32)) >>> 0;
    w.lo = 0;
  } else if (n > 0) {
    w.hi = ((w.hi << n) | (w.lo >>> (32 - n))) >>> 0;
    w.lo = (w.lo << n) >>> 0;
  }
}

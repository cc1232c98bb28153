import type { SwimOptions } from '../../lib/config.js';

/** Membership timings that make real-socket tests take seconds instead of minutes. */
export const FAST_SWIM: Partial<SwimOptions> = {
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  suspicionMult: 3,
  pushPullIntervalMs: 2000,
  reconnectIntervalMs: 1000,
  streamTimeoutMs: 1000,
  leaveTimeoutMs: 1000,
};

/**
 * Polls `cond` until it holds; integration tests run on real sockets and real time, so
 * they wait for real events (bounded, with a message naming what never happened).
 */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000, pollMs = 20): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

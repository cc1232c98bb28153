import type { Clock, ManualClock, Timer } from '../lib/internal.js';
import { NodeTimer } from './sim-node.js';
import type { Deferred, SimNode } from './sim-node.js';

/**
 * Each simulated node's clock over the shared one: timers that die with the process,
 * wait out its stalls and run at its skew, and the replay of what waited when a stall
 * ends.
 */
export class NodeClocks {
  /**
   * @param shared the network's clock.
   * @param timersFirst on waking, run overdue timers before queued arrivals (SimNetworkOptions.stallOrder).
   */
  constructor(private readonly shared: ManualClock, private readonly timersFirst: boolean) {}

  /**
   * The node's view of the shared clock: its timers die with it and wait out its stalls;
   * a skewed node (setSkew) reads and times by its own, skewed clock.
   */
  clockOf(node: SimNode, gen: number): Clock {
    const shared = this.shared;
    return {
      now: () => (node.skew === undefined ? shared.now() : shared.now() + node.driftAt(shared.now())),
      wall: () => (node.skew === undefined ? shared.wall() : shared.wall() + node.skew.offsetMs + node.driftAt(shared.now())),
      setTimer: (ms: number, fn: () => void): Timer => {
        // one shared callback and the NodeTimer as its argument: no closure per timer; a
        // clock that gains (setSkew) runs its timers early by the same rate
        const t = new NodeTimer(fn, node, gen);
        t.inner = shared.schedule(node.skew === undefined ? ms : ms / (1 + node.skew.driftPpm / 1e6), this.fire, t);
        return t;
      },
    };
  }

  /** Fires a node's timer unless its process is gone; holds it back while the node is stalled. */
  readonly fire = (t: NodeTimer): void => {
    const node = t.node;
    if (node.gen !== t.gen) return;
    if (this.shared.now() < node.stalledUntil) node.deferred.push(t);
    else t.fire();
  };

  /** Ends a stall: runs what waited (timers first, or in arrival order). */
  wake(node: SimNode): void {
    const items = node.deferred.splice(0);
    const gen = node.gen;
    if (this.timersFirst) {
      for (const it of items) if (it instanceof NodeTimer && node.gen === gen) it.fire();
      for (const it of items) if (!(it instanceof NodeTimer) && node.gen === gen) this.process(node, it);
    } else {
      for (const it of items) {
        if (node.gen !== gen) break;
        if (it instanceof NodeTimer) it.fire();
        else this.process(node, it);
      }
    }
  }

  private process(node: SimNode, it: Exclude<Deferred, NodeTimer>): void {
    if ('msgs' in it) {
      for (const msg of it.msgs) node.m.handle(msg, it.fromAddr);
    } else if (it.node.gen === it.gen) {
      it.run();
    }
  }
}

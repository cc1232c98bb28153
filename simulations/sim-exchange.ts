import type { SimNetwork } from './network.js';
import type { SimNode, StreamHop } from './sim-node.js';

// The simulator's streams (push-pull, the fallback ping): one request/answer exchange
// per stream, reliable, delayed by the link, blocked by partitions, timing out like TCP.

/**
 * One stream exchange: the request reaches `toAddr` after a link delay (waiting out a
 * stall there), `serve` runs on the target, its answer travels back the same way.
 * Refused at once by a down node, silent across a partition; `done` runs exactly once,
 * with undefined on failure or after streamTimeoutMs.
 */
export function streamExchange<T>(net: SimNetwork, node: SimNode, gen: number, toAddr: string, reqBytes: number, serve: (target: SimNode) => { reply: T; bytes: number } | undefined, done: (reply: T | undefined) => void): void {
  let finished = false;
  const finish = (reply: T | undefined): void => {
    if (finished || node.gen !== gen) return;
    finished = true;
    done(reply);
  };
  const timeout = net.clock.setTimer(net.options.streamTimeoutMs, () => inbound(net, node, gen, () => finish(undefined)));
  const to = net.peerAt(toAddr);
  node.streamsSent++;
  node.streamBytesSent += reqBytes;
  if (!to || !to.up) {
    // connection refused: one round trip
    net.clock.setTimer(2 * net.link.latencyMs, () => inbound(net, node, gen, () => finish(undefined)));
    return;
  }
  if (net.cut(node, to) || net.cut(to, node)) return; // SYN lost: the timeout answers
  const toGen = to.gen;
  net.clock.setTimer(net.linkOf(node, to).latencyMs, () => {
    inbound(net, to, toGen, () => {
      const answer = serve(to);
      if (!answer) return finish(undefined);
      to.streamBytesSent += answer.bytes;
      net.clock.setTimer(net.linkOf(to, node).latencyMs, () => {
        inbound(net, node, gen, () => {
          timeout.cancel();
          finish(answer.reply);
        });
      });
    }, () => finish(undefined));
  });
}

/** Runs `fn` on `node` now, or when its stall ends; `dead` when the process is gone. */
export function inbound(net: SimNetwork, node: SimNode, gen: number, fn: () => void, dead?: () => void): void {
  if (!node.up || node.gen !== gen) {
    dead?.();
    return;
  }
  if (net.clock.now() < node.stalledUntil) node.deferred.push({ node, gen, run: fn } satisfies StreamHop);
  else fn();
}

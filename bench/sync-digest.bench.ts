/**
 * Vector-digest anti-entropy: bytes of a converged check, and bytes of a lag catch-up
 * against the raw msgpack size of the missed updates.
 * Standalone: `node --import=tsx bench/sync-digest.bench.ts`.
 */
import { encode } from '@msgpack/msgpack';
import type { BenchResult } from './harness.js';
import { Replica } from '../lib/replica/replica.js';
import { hlcPack } from '../lib/hlc.js';
import { answerVectorRequest, vectorRequest } from '../lib/sync/digest.js';
import { fmt, runIfMain, table, verdict } from '../simulations/report.js';

const NOW = hlcPack(1_700_000_000_000, 0);

export default async function bench(): Promise<BenchResult> {
  const nodes = Array.from({ length: 20 }, (_, i) => new Replica({ node: `node-${String(i).padStart(2, '0')}`, epoch: 1 }));
  const [a, b] = [nodes[0]!, nodes[1]!];
  // a converged pair that has seen traffic from 20 origins
  for (const n of nodes) {
    for (let k = 0; k < 10; k++) {
      const d = n.publish('room', { k, text: 'hello' }, NOW + k).delta!;
      if (n !== a) a.apply([d], NOW);
      if (n !== b) b.apply([d], NOW);
    }
  }
  const converged = a.digest().byteLength;
  const rows: (string | number)[][] = [];
  let ok = converged <= 64;
  for (const d of [1, 10, 100, 500]) {
    const raw: number[] = [];
    for (let k = 0; k < d; k++) {
      const origin = nodes[2 + (k % 18)]!;
      const delta = origin.publish(`ch-${k % 7}`, { k, text: 'a message of moderate length' }, NOW + 100 + k).delta!;
      raw.push(encode(delta).byteLength);
      a.apply([delta], NOW);
    }
    const request = vectorRequest(b);
    const reply = answerVectorRequest(a, request);
    const rawBytes = raw.reduce((x, y) => x + y, 0);
    const replyBytes = encode(reply).byteLength;
    b.apply(reply.deltas, NOW);
    ok &&= replyBytes <= 1.2 * rawBytes && reply.deltas.length === d;
    rows.push([d, rawBytes, replyBytes, fmt(replyBytes / rawBytes, 3), encode(request).byteLength]);
  }
  const markdown = [
    `Twenty origins; a converged pair compares ${converged}-byte vector digests (piggybacked on SWIM acks). When one side missed d updates, the other answers its vector with exactly those deltas in one round trip.`,
    '',
    table(['missed updates d', 'raw msgpack of the d updates', 'answer bytes', 'ratio', 'vector request bytes (20 origins)'], rows),
    '',
    `Goal: converged check ≤ 64 bytes, catch-up ≤ 1.2 × raw in one round trip → ${verdict(ok)}.`,
  ].join('\n');
  return { title: 'Digest catch-up: bytes per exchange', markdown };
}

runIfMain(import.meta.url, bench);

import type { DeltaRing } from './delta-log.js';
import type { MissingDeltas } from './replica-types.js';
import type { VersionVector } from '../summary/version-vector.js';

/**
 * Exactly the deltas `remote` lacks, from the rings: most-lagging origins first, each
 * origin's in seq order without gaps, until `budget` bytes.
 * `vector` and `rings` are the replica's; `budget` bounds the answer's encoded size.
 */
export function missingDeltas(vector: VersionVector, rings: ReadonlyMap<string, DeltaRing>, remote: VersionVector, budget: number): MissingDeltas {
  const out: MissingDeltas = { deltas: [], bytes: 0, truncated: false, unexplained: [], remoteAhead: false, epochsOnly: false };
  const wanted: { node: string; ring: DeltaRing; from: number; to: number }[] = [];
  for (const [node, v] of vector.entries()) {
    const r = remote.get(node);
    if (r && (r.epoch > v.epoch || (r.epoch === v.epoch && r.seq >= v.seq))) continue;
    const from = r && r.epoch === v.epoch ? r.seq + 1 : 1;
    if (from > v.seq) {
      out.epochsOnly = true;
      continue;
    }
    const ring = rings.get(node);
    if (!ring || ring.epoch !== v.epoch || !ring.holds(from, v.seq)) {
      out.unexplained.push(node);
      continue;
    }
    wanted.push({ node, ring, from, to: v.seq });
  }
  for (const [node, r] of remote.entries()) {
    const v = vector.get(node);
    if (!v || r.epoch > v.epoch || (r.epoch === v.epoch && r.seq > v.seq)) out.remoteAhead = true;
  }
  wanted.sort((a, b) => (b.to - b.from) - (a.to - a.from) || (a.node < b.node ? -1 : 1));
  for (const w of wanted) {
    for (let seq = w.from; seq <= w.to; seq++) {
      const size = w.ring.sizeOf(seq);
      if (out.bytes + size > budget) {
        out.truncated = true;
        return out;
      }
      out.deltas.push(w.ring.get(seq)!);
      out.bytes += size;
    }
  }
  return out;
}

import type { OriginVersion, VersionVector } from '../summary/version-vector.js';

/**
 * Merges a peer's presence floors into ours when adopting its sync context (after a
 * restore, presence at or below a floor may be missing: its absence proves nothing).
 * `self` is this replica's node, `vector` its version vector.
 */
export function adoptFloors(floors: Map<string, OriginVersion>, self: string, vector: VersionVector,
  peerVector: VersionVector, peerFloors: VersionVector | undefined): void {
  // A floor says "my presence of this origin may lack records up to here". Having just
  // taken every record of a peer whose presence of the origin is complete (no floor)
  // up to at least my floor, mine is complete too: the floor goes. Kept, it would let a
  // peer that missed a leave hand back the left client forever (found by the simulator's
  // churn scenario: a floor never shrank, and spread to every node through adoption).
  for (const [node, f] of [...floors]) {
    if (peerFloors?.get(node) !== undefined) continue;
    const pv = peerVector.get(node);
    if (pv && (pv.epoch > f.epoch || (pv.epoch === f.epoch && pv.seq >= f.seq))) floors.delete(node);
  }
  if (peerFloors) {
    for (const [node, epoch, seq] of peerFloors.toWire()) {
      if (node === self) continue;
      const f = floors.get(node);
      // the peer's uncertainty is not ours where we already knew everything of the
      // origin up to its floor: only what we learn from it can be incomplete
      const v = vector.get(node);
      if (!f && v && v.epoch === epoch && v.seq >= seq) continue;
      if (!f || f.epoch < epoch || (f.epoch === epoch && f.seq < seq)) floors.set(node, { epoch, seq });
    }
  }
}

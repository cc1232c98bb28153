import type { HlcTimestamp } from '../hlc.js';
import type { MissingDeltas, Replica, ReplicaEvent } from '../replica/replica.js';
import type { WireVector } from '../summary/version-vector.js';
import { VersionVector } from '../summary/version-vector.js';
import type { DeltaReply } from '../codec/replication-types.js';
export type { DeltaReply } from '../codec/replication-types.js';

/** Size of a vector digest, in bytes. */
export const DIGEST_BYTES = 8;

/**
 * Sent when a peer's digest differs from ours: our full vector, so the peer can answer
 * with exactly what we lack.
 */
export interface VectorRequest {
  vector: WireVector;
}

/** True when two digests differ (a malformed or absent digest counts as different). */
export function digestsDiffer(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== DIGEST_BYTES || b.length !== DIGEST_BYTES) return true;
  for (let i = 0; i < DIGEST_BYTES; i++) if (a[i] !== b[i]) return true;
  return false;
}

/** The request to send after seeing a different digest. */
export function vectorRequest(replica: Replica): VectorRequest {
  return { vector: replica.vector.toWire() };
}

/**
 * Answers a {@link VectorRequest}: the deltas the requester lacks, most-lagging origin
 * first, within `budget` bytes.
 * @param budget upper bound of the deltas' encoded size. @default 61440
 */
export function answerVectorRequest(replica: Replica, request: VectorRequest, budget = 61_440): DeltaReply {
  const remote = VersionVector.fromWire(Array.isArray(request?.vector) ? request.vector : []);
  const missing = replica.missingFor(remote, budget);
  const reply = toReply(missing);
  if (missing.remoteAhead || missing.epochsOnly) reply.vector = replica.vector.toWire();
  return reply;
}

function toReply(missing: MissingDeltas): DeltaReply {
  const reply: DeltaReply = { deltas: missing.deltas };
  if (missing.truncated) reply.truncated = true;
  if (missing.unexplained.length > 0) reply.unexplained = true;
  return reply;
}

/** What the requester should do after a {@link DeltaReply}. */
export interface ReplyOutcome {
  events: ReplicaEvent[];
  /** Deltas to push back to the responder (it lacks them), if any. */
  push: DeltaReply | undefined;
  /** Start a Merkle session with this peer. */
  needMerkle: boolean;
  /** Send another vector request (the answer was truncated or gaps remain). */
  again: boolean;
}

/**
 * Applies a {@link DeltaReply} on the requester's side and works out the follow-ups.
 * @param budget budget of the deltas pushed back. @default 61440
 */
export function handleDeltaReply(replica: Replica, reply: DeltaReply, now: HlcTimestamp, budget = 61_440): ReplyOutcome {
  const applied = replica.apply(Array.isArray(reply.deltas) ? reply.deltas : [], now);
  const events = applied.events;
  let push: DeltaReply | undefined;
  let needMerkle = reply.unexplained === true;
  if (Array.isArray(reply.vector)) {
    const remote = VersionVector.fromWire(reply.vector);
    events.push(...replica.observeVector(remote));
    const missing = replica.missingFor(remote, budget);
    if (missing.deltas.length > 0) push = toReply(missing);
    if (missing.unexplained.length > 0) needMerkle = true;
  }
  return { events, push, needMerkle, again: reply.truncated === true || applied.gap };
}

/**
 * The wire shape of an agent's flight recorder, `GET /v1/record` (docs/http-api.md): what
 * the agent's failure detector saw, one record per event, in the order it saw them. The
 * daemon produces it (lib/daemon/flight-recorder.ts); `clusterd record` collects it and
 * turns it into a simulator scenario (simulations/trace-scenario.ts).
 */

/** A member changed state in this agent's table (as the evidence log records it). */
export interface StateRecord {
  kind: 'state';
  /** Sequence number in this agent's recorder (gap-free; a gap below `first` was overwritten). */
  seq: number;
  /** Wall clock of the agent, ms since the epoch. */
  t: number;
  member: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
  /** Who caused it: the suspecter, the declarer of a death, the member itself (alive, left). */
  by: string;
}

/** One of this agent's probes of `member` ended. */
export interface ProbeOutcomeRecord {
  kind: 'probe';
  seq: number;
  t: number;
  member: string;
  /** `ack` direct, `indirect-ack` through a helper, `tcp-ack` stream fallback, `timeout`, `inconclusive` (our timers ran late). */
  outcome: 'ack' | 'indirect-ack' | 'tcp-ack' | 'timeout' | 'inconclusive';
  /** Round trip of an answered probe, ms (null otherwise). */
  rttMs: number | null;
  /** Helpers asked, and the nacks they sent (a nacking helper is alive and could not reach the member). */
  helpers: number;
  nacks: number;
}

/** This agent's own event loop ran late: it was stalled (SIGSTOP, a GC pause, a descheduled VM) for about `lateMs` before `t`. */
export interface StallRecord {
  kind: 'stall';
  seq: number;
  t: number;
  lateMs: number;
}

/** One flight-recorder record. */
export type FlightRecord = StateRecord | ProbeOutcomeRecord | StallRecord;

/** The answer of `GET /v1/record?since=SEQ&limit=N`. */
export interface RecordPage {
  /** The agent that answers. */
  node: string;
  /** Its wall clock when it answered. */
  now: number;
  /** Its timing profile and the timings that decide detection. */
  profile: string;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Records with seq ≥ `since`, oldest first, at most `limit`. */
  records: FlightRecord[];
  /** The oldest seq still held. */
  first: number;
  /** The seq the next record will get: pass it as `since` to continue. */
  next: number;
  /** Records asked for (seq ≥ since) that were overwritten before this read. */
  lost: number;
  /** Ring capacity, records. */
  capacity: number;
}

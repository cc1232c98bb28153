import type { FlightRecord, RecordPage } from '../client/flight-record.js';
import { EvidenceLog } from '../internal.js';
import type { MemberState, ProbeRecord } from '../internal.js';

/**
 * Records kept by an agent's flight recorder. At the lan profile an agent probes once a
 * second, so an idle cluster fills it at about 1 record/s (plus state changes): 4,096
 * records hold over an hour of an idle agent, and minutes of a churning one. Measured
 * at 128 bytes a record on the heap (bench/flight-recorder.bench.ts), 0.5 MiB when full.
 */
export const RECORDER_CAPACITY = 4096;
/** The stall sampler's period: a tick later than this plus {@link STALL_THRESHOLD_MS} is a stall. */
export const STALL_SAMPLE_MS = 500;
/** Lateness below this is ordinary scheduling noise, not a stall. */
export const STALL_THRESHOLD_MS = 250;

type Unstamped<R> = R extends FlightRecord ? Omit<R, 'seq' | 't'> : never;

/**
 * An agent's flight recorder: a fixed ring of what its failure detector saw (member
 * state changes with incarnation and cause, the outcome of each of its probes, its own
 * stalls), stamped with the wall clock so that records of several agents line up.
 * Memory is the ring's: nothing from outside adds to it beyond {@link RECORDER_CAPACITY}.
 */
export class FlightRecorder {
  private readonly ring: (FlightRecord | undefined)[];
  /** The seq of the next record. */
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly capacity = RECORDER_CAPACITY,
    private readonly wall: () => number = Date.now,
  ) {
    this.ring = new Array<FlightRecord | undefined>(capacity);
  }

  /** Appends a record (overwriting the oldest when full). */
  add(r: Unstamped<FlightRecord>): void {
    const seq = this.seq;
    const t = this.wall();
    // literals of one fixed shape per kind: a spread copy made objects four times larger (439 bytes)
    let rec: FlightRecord;
    switch (r.kind) {
      case 'probe':
        rec = { kind: 'probe', seq, t, member: r.member, outcome: r.outcome, rttMs: r.rttMs, helpers: r.helpers, nacks: r.nacks };
        break;
      case 'state':
        rec = { kind: 'state', seq, t, member: r.member, state: r.state, incarnation: r.incarnation, by: r.by };
        break;
      case 'stall':
        rec = { kind: 'stall', seq, t, lateMs: r.lateMs };
        break;
    }
    this.ring[seq % this.capacity] = rec;
    this.seq++;
  }

  /** The oldest seq still held. */
  get first(): number {
    return Math.max(0, this.seq - this.capacity);
  }

  /** Records with seq ≥ `since`, oldest first, at most `limit`; `lost` counts those asked for but overwritten. */
  page(since: number, limit: number): Pick<RecordPage, 'records' | 'first' | 'next' | 'lost' | 'capacity'> {
    const first = this.first;
    const from = Math.max(since, first);
    const to = Math.min(this.seq, from + limit);
    const records: FlightRecord[] = [];
    for (let s = from; s < to; s++) records.push(this.ring[s % this.capacity]!);
    return { records, first, next: to, lost: Math.max(0, Math.min(first, this.seq) - since), capacity: this.capacity };
  }

  /**
   * Starts the stall sampler: a timer every {@link STALL_SAMPLE_MS} that records how late
   * it ran when that exceeds {@link STALL_THRESHOLD_MS} (the process was stopped, or its
   * event loop blocked). Unreferenced: it never keeps the process up.
   */
  startStallSampler(now: () => number = () => performance.now()): void {
    if (this.timer) return;
    let last = now();
    this.timer = setInterval(() => {
      const t = now();
      const late = t - last - STALL_SAMPLE_MS;
      last = t;
      if (late > STALL_THRESHOLD_MS) this.add({ kind: 'stall', lateMs: Math.round(late) });
    }, STALL_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * The membership's evidence log, also feeding a {@link FlightRecorder}: the evidence
 * hooks already sit where the membership decides (a probe's verdict, a state change), so
 * the recorder needs no hook of its own in lib/swim.
 */
export class RecordingEvidenceLog extends EvidenceLog {
  constructor(
    maxMembers: number,
    private readonly recorder: FlightRecorder,
  ) {
    super(maxMembers);
  }

  override probe(name: string, record: ProbeRecord): void {
    super.probe(name, record);
    this.recorder.add({
      kind: 'probe', member: name, outcome: record.kind,
      rttMs: record.rttMs === undefined ? null : Math.round(record.rttMs * 1000) / 1000,
      helpers: record.helpers, nacks: record.nacks,
    });
  }

  override transition(name: string, state: MemberState, incarnation: number, by: string, now: number, prev: MemberState | undefined): void {
    super.transition(name, state, incarnation, by, now, prev);
    this.recorder.add({ kind: 'state', member: name, state, incarnation, by });
  }
}

import type { Address } from '../transport/transport.js';
import type { Random } from '../random.js';

/** A member's state: alive → suspect → dead (or left) → reaped. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What a node knows about one member (including itself). */
export interface Member {
  readonly name: string;
  addr: Address;
  incarnation: number;
  state: MemberState;
  /** Encoded NodeMeta as received; decoded lazily by whoever needs it. */
  meta: Uint8Array;
  /** Monotonic time of the last state change, for reaping and "time in state". */
  changedAt: number;
  /** Round-trip time of the last direct probe answered, in ms. */
  rttMs: number | undefined;
}

/**
 * The member table plus the failure detector's probe order: a shuffled round-robin
 * list, reshuffled at the end of each pass, with new members slotted at a random
 * position of the remaining pass (O(1)), so every member is probed once per pass and
 * the order is unpredictable.
 */
export class MemberTable {
  private readonly byName = new Map<string, Member>();
  private readonly counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  private order: string[] = [];
  private cursor = 0;
  private self: string | undefined;

  constructor(private readonly random: Random) {}

  get size(): number {
    return this.byName.size;
  }

  /** Members in `state`. */
  count(state: MemberState): number {
    return this.counts[state];
  }

  /** Alive plus suspect members: the cluster size estimate the protocol formulas use. */
  get live(): number {
    return this.counts.alive + this.counts.suspect;
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  values(): IterableIterator<Member> {
    return this.byName.values();
  }

  /** Adds a member; `probe` false for the local node, which is never probed. */
  add(member: Member, probe = true): void {
    this.byName.set(member.name, member);
    this.counts[member.state]++;
    if (!probe) this.self = member.name;
    else {
      this.order.push(member.name);
      const last = this.order.length - 1;
      const slot = this.cursor + this.random.int(last - this.cursor + 1);
      [this.order[last], this.order[slot]] = [this.order[slot]!, this.order[last]!];
    }
  }

  /** Changes a member's state, keeping the per-state counts right. */
  setState(member: Member, state: MemberState, now: number): void {
    if (member.state === state) return;
    this.counts[member.state]--;
    this.counts[state]++;
    member.state = state;
    member.changedAt = now;
  }

  /** Forgets a member (reaping). Its probe-order slot is dropped lazily. */
  remove(name: string): Member | undefined {
    const m = this.byName.get(name);
    if (!m) return undefined;
    this.byName.delete(name);
    this.counts[m.state]--;
    return m;
  }

  /** The next member to probe (alive or suspect), or undefined when there is none. */
  nextProbeTarget(): Member | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.cursor < this.order.length) {
        const m = this.byName.get(this.order[this.cursor++]!);
        if (m && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      this.reshuffle();
    }
    return undefined;
  }

  /** Rebuilds the probe order from every member but the local one, and shuffles it. */
  private reshuffle(): void {
    const next: string[] = [];
    for (const name of this.byName.keys()) if (name !== this.self) next.push(name);
    this.order = this.random.shuffle(next);
    this.cursor = 0;
  }

  /** Up to `k` random members matching `filter`. */
  sample(k: number, filter: (m: Member) => boolean): Member[] {
    // sampling over the probe order avoids copying the map for every gossip round
    const names = this.random.sample(this.order, k, (name) => {
      const m = this.byName.get(name);
      return !m || !filter(m);
    });
    const out: Member[] = [];
    for (const name of names) out.push(this.byName.get(name)!);
    return out;
  }
}

import type { MemberSnapshot } from '../codec/messages.js';
import type { Address } from '../transport/transport.js';
import type { Random } from '../random.js';

/** A member's state: alive → suspect → dead (or left) → reaped. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];
/** A state as one byte of a table's dense array: 0 means no member in the slot. */
const CODE: Readonly<Record<MemberState, number>> = { alive: 1, suspect: 2, dead: 3, left: 4 };
const DEAD_CODE = 3;

/** A set of member states, as {@link stateSet} builds it. */
export type StateSet = number & { readonly __stateSet: unique symbol };

/** The set of `states`, for {@link MemberTable.sample}. */
export function stateSet(...states: MemberState[]): StateSet {
  let set = 0;
  for (const st of states) set |= 1 << CODE[st];
  return set as StateSet;
}

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

/** A member as a push-pull entry. */
export function memberSnapshot(m: Readonly<Member>): MemberSnapshot {
  return { node: m.name, addr: m.addr, incarnation: m.incarnation, state: m.state, meta: m.meta };
}

/**
 * Member names ↔ dense slot numbers, so that a member table is an array indexed by slot
 * instead of a map of its own. A node's table has a private index, whose slots are freed
 * when members are reaped. A process simulating many nodes shares one index among all of
 * their tables (decision 0043): a name then costs one map entry in the process instead of
 * one per node, and a lookup hits one map that stays in cache. A shared index never frees
 * a slot, as another table may still use it.
 */
export class MemberIndex {
  private readonly slots = new Map<string, number>();
  /** Slots handed out so far (freed ones are reused before this grows). */
  private next = 0;
  private readonly free: number[] = [];

  /** @param shared true when several tables use this index (its slots are then never freed). @default false */
  constructor(readonly shared = false) {}

  /** Slots handed out so far (the bound of every slot number). */
  get size(): number {
    return this.next;
  }

  /** The slot of `name`, or undefined when it has none. */
  find(name: string): number | undefined {
    return this.slots.get(name);
  }

  /** The slot of `name`, assigned now if it has none. */
  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = this.free.pop() ?? this.next++;
      this.slots.set(name, s);
    }
    return s;
  }

  /** Gives `name`'s slot back (private indexes only: a shared one keeps it). */
  release(name: string): void {
    if (this.shared) return;
    const s = this.slots.get(name);
    if (s === undefined) return;
    this.slots.delete(name);
    this.free.push(s);
  }
}

/**
 * Members that many tables of one process start from, without copying them (a converged
 * simulation's start: every node knows every other). Tables read these records in place
 * and copy one only when they first hand it out to be changed, so n nodes that know n
 * members cost n² array slots, not n² records. The records must not change once given
 * to a table.
 */
export class SharedMembers {
  /** Records by slot of `index` (undefined where none). */
  readonly bySlot: (Readonly<Member> | undefined)[] = [];
  /** Their push-pull entries, by slot: every table's push-pull repeats them. */
  readonly snapshots: (MemberSnapshot | undefined)[] = [];
  readonly counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  size = 0;
  /** The longest metadata of any of them, in bytes. */
  maxMetaSize = 0;
  /** The alive ones with metadata: the only ones that can be brokers. */
  readonly aliveWithMeta: Readonly<Member>[] = [];

  constructor(readonly index: MemberIndex, members: Iterable<Member>) {
    if (!index.shared) throw new Error('SharedMembers needs a shared MemberIndex');
    for (const m of members) {
      const s = index.slot(m.name);
      if (this.bySlot[s] !== undefined) throw new Error(`member ${m.name} listed twice`);
      while (this.bySlot.length < s) {
        this.bySlot.push(undefined);
        this.snapshots.push(undefined);
      }
      this.bySlot[s] = Object.freeze({ ...m });
      this.snapshots[s] = Object.freeze(memberSnapshot(m));
      this.counts[m.state]++;
      this.size++;
      this.maxMetaSize = Math.max(this.maxMetaSize, m.meta.length);
      if (m.state === 'alive' && m.meta.length > 0) this.aliveWithMeta.push(this.bySlot[s]!);
    }
    this.codes = new Uint8Array(this.bySlot.length);
    this.incarnations = new Float64Array(this.bySlot.length);
    this.bySlot.forEach((m, s) => {
      if (!m) return;
      this.codes[s] = CODE[m.state];
      this.incarnations[s] = m.incarnation;
    });
  }

  /** State codes and incarnations by slot, which seeded tables start from. */
  readonly codes: Uint8Array;
  readonly incarnations: Float64Array;
}

/**
 * The member table plus the failure detector's probe order: a round-robin list shuffled
 * lazily (each probe draws the next target uniformly from the rest of the pass, a
 * Fisher–Yates step), so every member is probed once per pass, the order is
 * unpredictable, a new member simply joins the rest of the pass, and a table of n
 * members costs no n random draws up front (10,000 simulated nodes start with 10⁸).
 *
 * Records reached through {@link change} are this table's own and may be changed; all
 * others (through {@link get}, {@link forEach}, {@link sample}, {@link nextProbeTarget})
 * may be {@link SharedMembers} records, which are frozen.
 */
export class MemberTable {
  /** This table's records by slot: undefined = none of its own (see `base`), null = removed. */
  private readonly own: (Member | null | undefined)[] = [];
  private base: SharedMembers | undefined;
  private readonly counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  private total = 0;
  /**
   * Every member's state (as a code, 0 = none) and incarnation, by slot: the checks that
   * drop redundant gossip, most of what a node receives, read these few bytes instead of
   * the record (at 1,000 simulated nodes the records miss the cache, the arrays do not).
   */
  private codes = new Uint8Array(16);
  private incarnations = new Float64Array(16);
  /** One bit per member for its owner's use (see {@link mark}), cleared by any change of state or incarnation. */
  private marks = new Uint8Array(16);
  /** Slots of the probe pass: [0, cursor) probed, the rest not yet, in no particular order (stale slots of removed members are skipped). */
  private order: number[] = [];
  private cursor = 0;
  private selfSlot = -1;

  /** @param index the name index (shared by a simulator's tables). @default a private one */
  constructor(
    private readonly random: Random,
    private readonly index: MemberIndex = new MemberIndex(),
  ) {
    if (index.shared) this.grow(index.size - 1);
  }

  get size(): number {
    return this.total;
  }

  /** Members in `state`. */
  count(state: MemberState): number {
    return this.counts[state];
  }

  /** Alive plus suspect members: the cluster size estimate the protocol formulas use. */
  get live(): number {
    return this.counts.alive + this.counts.suspect;
  }

  /** The slot of `name` when this table has it, else -1 (for {@link incarnationAt} and {@link goneAt}). */
  slotOf(name: string): number {
    const s = this.index.find(name);
    return s !== undefined && s < this.codes.length && this.codes[s] !== 0 ? s : -1;
  }

  /** The incarnation of the member in slot `s` (from {@link slotOf}). */
  incarnationAt(s: number): number {
    return this.incarnations[s]!;
  }

  /** The slot of the local node (added with `probe` false), or -1. */
  get localSlot(): number {
    return this.selfSlot;
  }

  /** True when the member in slot `s` is suspect. */
  suspectAt(s: number): boolean {
    return this.codes[s] === CODE.suspect;
  }

  /** True when the member in slot `s` is dead or left. */
  goneAt(s: number): boolean {
    return this.codes[s]! >= DEAD_CODE;
  }

  /** Sets a member's incarnation (always through here: the table keeps a dense copy). */
  setIncarnation(member: Member, incarnation: number): void {
    member.incarnation = incarnation;
    const s = this.index.find(member.name);
    if (s === undefined) return;
    if (this.incarnations[s] !== incarnation) this.marks[s] = 0;
    this.incarnations[s] = incarnation;
  }

  /**
   * Marks the member in slot `s` until its state or incarnation next changes (or
   * {@link unmark}): a fact about its current state its owner can then check on the dense
   * copy (Membership marks a suspicion that has every confirmation it can count, so the
   * repeats that keep arriving are dropped without reading the suspicion).
   */
  mark(s: number): void {
    this.marks[s] = 1;
  }

  unmark(s: number): void {
    this.marks[s] = 0;
  }

  /** True when the member in slot `s` is marked (see {@link mark}). */
  markedAt(s: number): boolean {
    return this.marks[s] === 1;
  }

  /** The member called `name`, to read (it may be a frozen shared record). */
  get(name: string): Readonly<Member> | undefined {
    const s = this.index.find(name);
    return s === undefined ? undefined : this.at(s);
  }

  /**
   * The member called `name` as this table's own record, to change (through
   * {@link setState} and assignments): a shared record is copied the first time. Only
   * for a change about to be made, so that redundant gossip copies nothing.
   */
  change(name: string): Member | undefined {
    const s = this.index.find(name);
    return s === undefined ? undefined : this.owned(s);
  }

  /** Calls `visit` with every member (read-only records) in slot order; it may remove the one visited. */
  forEach(visit: (m: Readonly<Member>) => void): void {
    for (let s = 0; s < this.index.size; s++) {
      const m = this.at(s);
      if (m) visit(m);
    }
  }

  /** {@link forEach} over the dead and left members only, found on the dense state copy without reading the others. */
  forEachGone(visit: (m: Readonly<Member>) => void): void {
    const codes = this.codes;
    const n = Math.min(this.index.size, codes.length);
    for (let s = 0; s < n; s++) {
      if (codes[s]! < DEAD_CODE) continue;
      const m = this.at(s);
      if (m) visit(m);
    }
  }

  /**
   * Every member as a push-pull entry, the local node first (receivers take the first
   * entry as the sender). Members still read from a {@link SharedMembers} give its
   * entries, built once for every table.
   */
  snapshots(): MemberSnapshot[] {
    const self = this.at(this.selfSlot);
    const out: MemberSnapshot[] = self ? [memberSnapshot(self)] : [];
    for (let s = 0; s < this.index.size; s++) {
      if (s === this.selfSlot) continue;
      const m = this.own[s];
      if (m) out.push(memberSnapshot(m));
      else if (m === undefined) {
        const shared = this.base?.snapshots[s];
        if (shared) out.push(shared);
      }
    }
    return out;
  }

  /** Adds a member; `probe` false for the local node, which is never probed. */
  add(member: Member, probe = true): void {
    const s = this.index.slot(member.name);
    this.grow(s);
    if (this.at(s)) throw new Error(`member ${member.name} is already in the table`);
    this.own[s] = member;
    this.codes[s] = CODE[member.state];
    this.incarnations[s] = member.incarnation;
    this.counts[member.state]++;
    this.total++;
    if (!probe) this.selfSlot = s;
    else this.order.push(s);
  }

  /**
   * Starts from `shared` (which must use this table's index): every member in it that
   * this table does not know yet is added, in place, and slotted into the probe order.
   * @returns the number of members added
   */
  addShared(shared: SharedMembers): number {
    if (shared.index !== this.index) throw new Error('SharedMembers of another index');
    if (this.base) throw new Error('the table already has shared members');
    // members this table already has (itself, at least) keep their own record
    this.grow(this.index.size - 1);
    // the shared codes and incarnations, except where this table has its own record
    const codes = this.codes.slice(0, shared.codes.length);
    const incarnations = this.incarnations.slice(0, shared.codes.length);
    this.codes.set(shared.codes);
    this.incarnations.set(shared.incarnations);
    let added = shared.size;
    for (const state of STATES) this.counts[state] += shared.counts[state];
    for (let s = 0; s < shared.bySlot.length; s++) {
      const b = shared.bySlot[s];
      if (b === undefined) continue;
      if (this.own[s] !== undefined) {
        this.counts[b.state]--;
        added--;
        this.codes[s] = codes[s]!;
        this.incarnations[s] = incarnations[s]!;
      } else {
        this.order.push(s);
      }
    }
    this.total += added;
    this.base = shared;
    return added;
  }

  /** Changes a member's state, keeping the per-state counts right. */
  setState(member: Member, state: MemberState, now: number): void {
    if (member.state === state) return;
    this.counts[member.state]--;
    this.counts[state]++;
    member.state = state;
    member.changedAt = now;
    const s = this.index.find(member.name);
    if (s === undefined) return;
    this.codes[s] = CODE[state];
    this.marks[s] = 0;
  }

  /** Forgets a member (reaping). Its probe-order slot is dropped lazily. */
  remove(name: string): Readonly<Member> | undefined {
    const s = this.index.find(name);
    if (s === undefined) return undefined;
    const m = this.at(s);
    if (!m) return undefined;
    this.own[s] = this.base?.bySlot[s] !== undefined ? null : undefined;
    this.codes[s] = 0;
    this.marks[s] = 0;
    this.counts[m.state]--;
    this.total--;
    if (!this.index.shared) this.index.release(name);
    return m;
  }

  /** The next member to probe (alive or suspect), or undefined when there is none. */
  nextProbeTarget(): Readonly<Member> | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.cursor < this.order.length) {
        const j = this.cursor + this.random.int(this.order.length - this.cursor);
        const s = this.order[j]!;
        this.order[j] = this.order[this.cursor]!;
        this.order[this.cursor++] = s;
        const m = this.at(s);
        if (m && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      this.newPass();
    }
    return undefined;
  }

  /**
   * Up to `k` random members (read-only records, never the local node) in one of `states`
   * (see {@link stateSet}) that `filter`, when given, keeps; `filter` is asked only about
   * members in `filtered` (@default all of `states`), the others are kept as they are.
   */
  sample(k: number, states: StateSet, filter?: (m: Readonly<Member>) => boolean, filtered: StateSet = states): Readonly<Member>[] {
    // sampling over the probe order avoids copying the table for every gossip round; the
    // states are checked on the dense copy, so only the records the filter sees are read
    const codes = this.codes;
    const slots = this.random.sample(this.order, k, (s) => {
      const bit = 1 << (codes[s] ?? 0);
      if ((states & bit) === 0) return true;
      return filter !== undefined && (filtered & bit) !== 0 && !filter(this.at(s)!);
    });
    const out: Readonly<Member>[] = [];
    for (const s of slots) out.push(this.at(s)!);
    return out;
  }

  /** The record in slot `s`, own or shared. */
  private at(s: number): Readonly<Member> | undefined {
    const m = this.own[s];
    if (m !== undefined) return m ?? undefined;
    return this.base?.bySlot[s];
  }

  /** The record in slot `s` as this table's own, copying a shared one the first time. */
  private owned(s: number): Member | undefined {
    const m = this.own[s];
    if (m !== undefined) return m ?? undefined;
    const b = this.base?.bySlot[s];
    if (b === undefined) return undefined;
    const copy: Member = { name: b.name, addr: b.addr, incarnation: b.incarnation, state: b.state, meta: b.meta, changedAt: b.changedAt, rttMs: b.rttMs };
    this.own[s] = copy;
    return copy;
  }

  /** Makes `own` long enough for slot `s`, with explicit entries (a sparse write would turn it into a dictionary). */
  private grow(s: number): void {
    while (this.own.length <= s) this.own.push(undefined);
    if (s < this.codes.length) return;
    const n = Math.max(s + 1, this.codes.length * 2);
    const codes = new Uint8Array(n);
    codes.set(this.codes);
    this.codes = codes;
    const incarnations = new Float64Array(n);
    incarnations.set(this.incarnations);
    this.incarnations = incarnations;
    const marks = new Uint8Array(n);
    marks.set(this.marks);
    this.marks = marks;
  }

  /** Starts a new pass over every member but the local one (dropping stale slots). */
  private newPass(): void {
    const next: number[] = [];
    for (let s = 0; s < this.index.size; s++) if (s !== this.selfSlot && this.at(s)) next.push(s);
    this.order = next;
    this.cursor = 0;
  }
}

import type { SwimCore } from './core.js';
import type { Member } from './members.js';
import type { BrokerInfo } from './membership-types.js';

/**
 * The broker view: which live members have role `broker`, kept current as members change,
 * with `brokers-changed` fired when the set (or a broker's address or endpoints) changes.
 * Each entry's signature is its address and endpoints, so a load update alone does not
 * count as a change.
 */
export class BrokerView {
  /** Member name → signature (address and endpoints) of each live broker. */
  private readonly set = new Map<string, string>();

  constructor(private readonly core: SwimCore) {}

  /** Keeps the broker set current and fires brokers-changed when it changes. */
  track(m: Readonly<Member>): void {
    // suspects stay listed: most suspicions are refuted, and clients should not flap
    const isBroker = (m.state === 'alive' || m.state === 'suspect') && this.core.decodeMetaOf(m).roles.includes('broker');
    const signature = isBroker ? `${m.addr} ${JSON.stringify(this.core.decodeMetaOf(m).endpoints)}` : undefined;
    const before = this.set.get(m.name);
    if (signature === before) return;
    if (signature === undefined) this.set.delete(m.name);
    else this.set.set(m.name, signature);
    // building the sorted list is O(brokers): skip it when nobody listens (simulations)
    if (this.core.events.hasListeners('brokers-changed')) this.core.events.emit('brokers-changed', this.list());
  }

  /**
   * Lists a member added in bulk (alive, without events): true when it is a broker, so
   * the caller fires one brokers-changed (see {@link changed}) for the whole batch.
   */
  seed(m: Readonly<Member>): boolean {
    if (!this.core.decodeMetaOf(m).roles.includes('broker')) return false;
    this.set.set(m.name, `${m.addr} ${JSON.stringify(this.core.decodeMetaOf(m).endpoints)}`);
    return true;
  }

  /** Fires brokers-changed after a batch of {@link seed}s, if anyone listens. */
  changed(): void {
    if (this.core.events.hasListeners('brokers-changed')) this.core.events.emit('brokers-changed', this.list());
  }

  /** Forgets a reaped member (no event: it was no longer listed). */
  forget(name: string): void {
    this.set.delete(name);
  }

  /**
   * The live broker list: alive members with role `broker`, least loaded first (by the
   * sum of the `sortBy` load figure, default `clients`), then by name.
   */
  list(filter: { tag?: [string, string]; sortBy?: string } = {}): BrokerInfo[] {
    const sortBy = filter.sortBy ?? 'clients';
    const out: BrokerInfo[] = [];
    for (const name of this.set.keys()) {
      const m = this.core.table.get(name);
      if (!m) continue;
      const meta = this.core.decodeMetaOf(m);
      if (filter.tag && meta.tags[filter.tag[0]] !== filter.tag[1]) continue;
      out.push({ name, address: m.addr, endpoints: meta.endpoints, load: meta.load, tags: meta.tags });
    }
    return out.sort((a, b) => (a.load[sortBy] ?? 0) - (b.load[sortBy] ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

import type { LinkProfile } from './network-options.js';
import type { SimNode } from './sim-node.js';

/**
 * Who reaches whom in a {@link SimNetwork}, and over which link: per-link overrides,
 * regions and their inter-region link, partition groups and the cuts between them.
 * Indexed by node index; the network resolves names.
 */
export class SimTopology {
  private readonly links = new Map<number, LinkProfile>();
  /** Region of each node by index (-1: none). */
  private readonly regionOf: number[] = [];
  /** The link between two nodes of different regions, when regions are in use. */
  private interRegion: LinkProfile | undefined;
  private readonly groupOf: number[] = [];
  private readonly cuts = new Set<number>();

  /** @param link the global link profile (shared: changes to it apply at once). */
  constructor(private readonly link: LinkProfile) {}

  /** Registers the next node (by index order), in no partition group. */
  addNode(region: number): void {
    this.groupOf.push(0);
    this.regionOf.push(region);
  }

  /** The link from `from` to `to`: its own override, else the inter-region link, else the global one. */
  linkOf(from: SimNode, to: SimNode): LinkProfile {
    const own = this.links.size === 0 ? undefined : this.links.get(linkKey(from.index, to.index));
    if (own) return own;
    if (this.interRegion !== undefined) {
      const a = this.regionOf[from.index]!;
      const b = this.regionOf[to.index]!;
      if (a >= 0 && b >= 0 && a !== b) return this.interRegion;
    }
    return this.link;
  }

  /** True when the partition groups cut traffic from `from` to `to`. */
  cut(from: SimNode, to: SimNode): boolean {
    return this.cuts.size > 0 && this.cuts.has(this.groupOf[from.index]! * 65536 + this.groupOf[to.index]!);
  }

  /** Overrides the link from `from` to `to` (and back, unless `oneWay`); see SimNetwork.setLink. */
  setLink(from: SimNode, to: SimNode, profile: Partial<LinkProfile>, oneWay: boolean): void {
    this.links.set(linkKey(from.index, to.index), { ...this.linkOf(from, to), ...profile });
    if (!oneWay) this.links.set(linkKey(to.index, from.index), { ...this.linkOf(to, from), ...profile });
  }

  /** Puts node `index` in `region`. */
  setRegion(index: number, region: number): void {
    this.regionOf[index] = region;
  }

  /** The region of node `index`, or -1. */
  regionOfIndex(index: number): number {
    return this.regionOf[index] ?? -1;
  }

  /** Sets the link between nodes of different regions. */
  setInterRegion(profile: LinkProfile): void {
    this.interRegion = { ...profile };
  }

  /** Splits the nodes into `groups` (indices resolved by `indexOf`); see SimNetwork.partition. */
  partition(groups: string[][], indexOf: (name: string) => number): void {
    this.heal();
    groups.forEach((g, i) => g.forEach((n) => (this.groupOf[indexOf(n)] = i + 1)));
    for (let a = 0; a <= groups.length; a++) for (let b = 0; b <= groups.length; b++) if (a !== b) this.cuts.add(a * 65536 + b);
  }

  /** Cuts traffic from `from` to `to` only; see SimNetwork.partitionOneWay. */
  partitionOneWay(from: string[], to: string[], indexOf: (name: string) => number): void {
    this.heal();
    for (const n of from) this.groupOf[indexOf(n)] = 1;
    for (const n of to) this.groupOf[indexOf(n)] = 2;
    this.cuts.add(1 * 65536 + 2);
  }

  /** Removes every partition. */
  heal(): void {
    this.cuts.clear();
    this.groupOf.fill(0);
  }
}

function linkKey(from: number, to: number): number {
  return from * 65536 + to;
}

/**
 * Node selectors of scenario files. A selector is a string or an array of strings (their
 * union), so a scenario keeps its meaning when `--nodes` changes the cluster size:
 *
 * - `all`: every node that exists when the step runs;
 * - `n12`: one node by name (nodes are named n0, n1, ... in creation order);
 * - `0%..50%`: a fraction of the initial nodes by index (here the first half);
 * - `10..20`: initial nodes by index, half-open;
 * - `role:broker`: the nodes with a role;
 * - `region:A`: the initial nodes of a region (the scenario's `regions`);
 * - `random:3` or `random:5%`: that many nodes drawn (seeded) among those up.
 */
import type { Random } from '../lib/internal.js';

export type Selector = string | string[];

const PATTERNS: { re: RegExp; what: string }[] = [
  { re: /^all$/, what: 'all' },
  { re: /^n\d+$/, what: 'a node name' },
  { re: /^(\d+(?:\.\d+)?)%\.\.(\d+(?:\.\d+)?)%$/, what: 'a fraction range' },
  { re: /^(\d+)\.\.(\d+)$/, what: 'an index range' },
  { re: /^role:[A-Za-z0-9_.:\-/]{1,64}$/, what: 'a role' },
  { re: /^region:[A-Za-z0-9_-]{1,32}$/, what: 'a region' },
  { re: /^random:(\d+)(%?)$/, what: 'a random draw' },
];

/** The problem with a selector, or undefined when it is well formed. */
export function checkSelector(v: unknown): string | undefined {
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) return 'must not be an empty array';
  for (const item of items) {
    if (typeof item !== 'string') return `must be a selector string or an array of them, got ${JSON.stringify(item)}`;
    const p = PATTERNS.find((x) => x.re.test(item));
    if (!p) return `unknown selector ${JSON.stringify(item)} (expected all, n<index>, <a>%..<b>%, <i>..<j>, role:<name>, region:<name>, random:<k> or random:<p>%)`;
    const range = /^(\d+(?:\.\d+)?)%\.\.(\d+(?:\.\d+)?)%$/.exec(item) ?? /^(\d+)\.\.(\d+)$/.exec(item);
    if (range && Number(range[1]) > Number(range[2])) return `range ${JSON.stringify(item)} is reversed`;
    if (item.endsWith('%') && /%\.\./.test(item) && Number(range?.[2]) > 100) return `range ${JSON.stringify(item)} goes past 100%`;
  }
  return undefined;
}

/** What selectors are resolved against. */
export interface SelectContext {
  /** Node count at time 0 (fractions and index ranges refer to these). */
  initial: number;
  /** Every node that exists now, by index (name n<index>). */
  total: number;
  /** Roles of node `i`. */
  rolesOf(i: number): readonly string[];
  /** True when node `i` is up. */
  isUp(i: number): boolean;
  /** The initial nodes of region `name`, or undefined when the scenario has no such region. @default no regions */
  regionNodes?(name: string): readonly number[] | undefined;
  random: Random;
}

/**
 * The node indices a selector picks, ascending and distinct. Throws an Error naming
 * the selector when it refers to a node that does not exist (e.g. `n50` with `--nodes 20`).
 */
export function select(sel: Selector, ctx: SelectContext): number[] {
  const out = new Set<number>();
  for (const item of Array.isArray(sel) ? sel : [sel]) {
    if (item === 'all') {
      for (let i = 0; i < ctx.total; i++) out.add(i);
      continue;
    }
    let m = /^n(\d+)$/.exec(item);
    if (m) {
      const i = Number(m[1]);
      if (i >= ctx.total) throw new Error(`selector "${item}": there are only ${ctx.total} nodes (n0..n${ctx.total - 1})`);
      out.add(i);
      continue;
    }
    m = /^(\d+(?:\.\d+)?)%\.\.(\d+(?:\.\d+)?)%$/.exec(item);
    if (m) {
      const a = Math.floor((Number(m[1]) / 100) * ctx.initial);
      const b = Math.floor((Number(m[2]) / 100) * ctx.initial);
      for (let i = a; i < b; i++) out.add(i);
      continue;
    }
    m = /^(\d+)\.\.(\d+)$/.exec(item);
    if (m) {
      const b = Number(m[2]);
      if (b > ctx.initial) throw new Error(`selector "${item}": there are only ${ctx.initial} initial nodes`);
      for (let i = Number(m[1]); i < b; i++) out.add(i);
      continue;
    }
    m = /^role:(.+)$/.exec(item);
    if (m) {
      for (let i = 0; i < ctx.total; i++) if (ctx.rolesOf(i).includes(m[1]!)) out.add(i);
      continue;
    }
    m = /^region:(.+)$/.exec(item);
    if (m) {
      const members = ctx.regionNodes?.(m[1]!);
      if (!members) throw new Error(`selector "${item}": the scenario has no region "${m[1]}"`);
      for (const i of members) out.add(i);
      continue;
    }
    m = /^random:(\d+)(%?)$/.exec(item);
    if (m) {
      const up: number[] = [];
      for (let i = 0; i < ctx.total; i++) if (ctx.isUp(i)) up.push(i);
      const k = m[2] === '%' ? Math.max(1, Math.round((Number(m[1]) / 100) * up.length)) : Number(m[1]);
      for (const i of ctx.random.sample(up, k)) out.add(i);
      continue;
    }
    throw new Error(`unknown selector "${item}"`);
  }
  return [...out].sort((a, b) => a - b);
}

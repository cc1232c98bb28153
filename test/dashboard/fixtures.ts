import type { ApiMember, MemberState } from '../../lib/dashboard/api-types.js';

/** A member as the API reports it, with overridable fields. */
export function member(name: string, over: Partial<ApiMember> = {}): ApiMember {
  const roles = over.roles ?? [];
  return {
    name,
    address: `10.0.0.1:7946`,
    state: 'alive' as MemberState,
    incarnation: 1,
    roles,
    meta: { roles, tags: {}, endpoints: {}, load: {} },
    rttMs: null,
    sinceMs: 0,
    ...over,
  };
}

/** `n` members named m0000.. with varied addresses, states and RTTs. */
export function manyMembers(n: number): ApiMember[] {
  const states: MemberState[] = ['alive', 'alive', 'alive', 'suspect', 'dead', 'left'];
  return Array.from({ length: n }, (_, i) => member(`m${String(i).padStart(4, '0')}`, {
    address: `10.0.${Math.floor(i / 250)}.${i % 250}:7946`,
    state: states[i % states.length]!,
    incarnation: i % 7,
    rttMs: i % 5 === 0 ? null : (i % 97) / 10,
    sinceMs: (i * 37) % 100_000,
    roles: i % 3 === 0 ? ['broker'] : ['worker'],
  }));
}

/**
 * The shapes of the agent's HTTP API the dashboard reads (docs/http-api.md). They are
 * checked loosely at the boundary ({@link asMember} and friends): an agent of another
 * version that adds fields still works, and one that drops fields shows `-` rather
 * than crashing the dashboard.
 */

import type { ExplainBody } from '../cli/explain-render.js';

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';
export const MEMBER_STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** Advertised metadata of a member. */
export interface MemberMeta {
  roles: string[];
  tags: Record<string, string>;
  endpoints: Record<string, string>;
  load: Record<string, number>;
}

/** A member as `GET /v1/members` and the `member-*` events report it. */
export interface ApiMember {
  name: string;
  address: string;
  state: MemberState;
  incarnation: number;
  roles: string[];
  meta: MemberMeta;
  rttMs: number | null;
  /** Milliseconds in the current state when the agent answered. */
  sinceMs: number;
}

/** A broker of `GET /v1/brokers`. */
export interface ApiBroker {
  name: string;
  address: string;
  endpoints: Record<string, string>;
  load: Record<string, number>;
}

/** A channel of `GET /v1/channels`. */
export interface ApiChannel {
  channel: string;
  clients: number;
  users: number;
  messages: number;
}

/** A presence entry of `GET /v1/channels/{c}/presence`. */
export interface ApiClientEntry {
  clientId: string;
  user: string;
  info: unknown;
  node: string;
  since: number;
}

/** A history entry of `GET /v1/channels/{c}/messages`. */
export interface ApiMessage {
  id: string;
  ts: number;
  node: string;
  data: unknown;
}

/** `GET /v1/sync`. */
export interface ApiSync {
  ready: boolean;
  peers: { name: string; inSync: boolean }[];
  sessions: { merkle: number; bulk: number; deltaCatchUps: number } | undefined;
}

/** `GET /v1/self` (the fields the dashboard uses). */
export interface ApiSelf {
  name: string;
  healthScore: number | undefined;
  pid: number | undefined;
  uptimeMs: number | undefined;
  profile: string | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const strRecord = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};
const numRecord = (v: unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'number') out[k] = x;
  return out;
};

/** A member from JSON, or undefined when it has no name. */
export function asMember(v: unknown): ApiMember | undefined {
  if (!isObj(v) || typeof v.name !== 'string') return undefined;
  const meta = isObj(v.meta) ? v.meta : {};
  const state = MEMBER_STATES.includes(v.state as MemberState) ? (v.state as MemberState) : 'alive';
  const roles = strings(v.roles ?? meta.roles);
  return {
    name: v.name,
    address: str(v.address, '-'),
    state,
    incarnation: num(v.incarnation),
    roles,
    meta: { roles, tags: strRecord(meta.tags), endpoints: strRecord(meta.endpoints), load: numRecord(meta.load) },
    rttMs: typeof v.rttMs === 'number' ? v.rttMs : null,
    sinceMs: num(v.sinceMs),
  };
}

/**
 * `GET /v1/members/{name}` (an explanation), or undefined when the body lacks what the
 * rendering reads: an agent of another version then shows "unavailable", not a crash.
 */
export function asExplanation(body: unknown): ExplainBody | undefined {
  if (!isObj(body) || typeof body.name !== 'string' || typeof body.observer !== 'string' || !isObj(body.health)) return undefined;
  if (!Array.isArray(body.probes) || !Array.isArray(body.history) || !Array.isArray(body.health.why)) return undefined;
  return body as unknown as ExplainBody;
}

export function asMembers(body: unknown): ApiMember[] {
  const list = isObj(body) && Array.isArray(body.members) ? body.members : [];
  return list.map(asMember).filter((m): m is ApiMember => m !== undefined);
}

export function asBrokers(body: unknown): ApiBroker[] {
  const list = isObj(body) && Array.isArray(body.brokers) ? body.brokers : [];
  return list.filter(isObj).filter((b) => typeof b.name === 'string').map((b) => ({
    name: b.name as string,
    address: str(b.address, '-'),
    endpoints: strRecord(b.endpoints),
    load: numRecord(b.load),
  }));
}

export function asChannels(body: unknown): ApiChannel[] {
  const list = isObj(body) && Array.isArray(body.channels) ? body.channels : [];
  return list.filter(isObj).filter((c) => typeof c.channel === 'string').map((c) => ({
    channel: c.channel as string,
    clients: num(c.clients),
    users: num(c.users),
    messages: num(c.messages),
  }));
}

export function asPresence(body: unknown): ApiClientEntry[] {
  const list = isObj(body) && Array.isArray(body.clients) ? body.clients : [];
  return list.filter(isObj).map((c) => ({ clientId: str(c.clientId, '-'), user: str(c.user, '-'), info: c.info, node: str(c.node, '-'), since: num(c.since) }));
}

export function asMessages(body: unknown): ApiMessage[] {
  const list = isObj(body) && Array.isArray(body.messages) ? body.messages : [];
  return list.filter(isObj).map(asMessage);
}

export function asMessage(m: Record<string, unknown>): ApiMessage {
  return { id: str(m.id, '-'), ts: num(m.ts), node: str(m.node, '-'), data: m.data };
}

export function asSync(body: unknown): ApiSync {
  const b = isObj(body) ? body : {};
  const peers = Array.isArray(b.peers) ? b.peers.filter(isObj).map((p) => ({ name: str(p.name), inSync: p.inSync === true })) : [];
  const s = isObj(b.sessions) ? b.sessions : undefined;
  return {
    ready: b.ready !== false,
    peers,
    sessions: s ? { merkle: num(s.merkle), bulk: num(s.bulk), deltaCatchUps: num(s.deltaCatchUps) } : undefined,
  };
}

export function asSelf(body: unknown): ApiSelf {
  const b = isObj(body) ? body : {};
  return {
    name: str(b.name, '?'),
    healthScore: typeof b.healthScore === 'number' ? b.healthScore : undefined,
    pid: typeof b.pid === 'number' ? b.pid : undefined,
    uptimeMs: typeof b.uptimeMs === 'number' ? b.uptimeMs : undefined,
    profile: typeof b.profile === 'string' ? b.profile : undefined,
  };
}

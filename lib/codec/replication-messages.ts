import { Encoder } from '@msgpack/msgpack';
import type { Delta, DeltaReply, DropRecord, DropsWire, ExchangeMessage, HistoryEntry, PresenceEntry, SyncContext, SyncRecord } from './replication-types.js';
import type { WireVector } from '../summary/version-vector.js';
import { defineMessage } from './messages.js';
import { ownPayload } from '../own-bytes.js';
import type { FieldReader } from './messages.js';

/**
 * Replication (16–31) and anti-entropy (32–47) messages. Field order is the wire format
 * (docs/protocol.md). Every message names its sender (`from`): a stream accepted over
 * TCP shows the dialler's ephemeral port, not the address it is a member at.
 *
 * Caps here are loose wire bounds, not the replica's limits: a replica must never refuse
 * a well-formed peer record for exceeding *its* configuration (the cluster would never
 * converge), so the wire only bounds what could hurt the receiver.
 */
export const ReplicationMessageType = {
  deltas: 16,
  vectorRequest: 17,
  deltaReply: 18,
  originRemoved: 19,
  merkle: 32,
  bulkRequest: 33,
  bulkChunk: 34,
} as const;

/** Wire bounds of replication messages (bytes of UTF-8 unless noted). */
export const REPLICATION_WIRE_LIMITS = Object.freeze({
  /** Channel names. */
  maxChannelBytes: 1024,
  /** Client ids, user ids, idempotency keys. */
  maxIdBytes: 1024,
  /** Headers per history entry. */
  maxHeaders: 64,
  /** One header name or value. */
  maxHeaderBytes: 8192,
  /** Deltas per message. */
  maxDeltas: 65_536,
  /** Origins in a version vector. */
  maxVectorEntries: 16_384,
  /** Records per Merkle message. */
  maxRecords: 65_536,
  /** Parts of a bulk chunk (each a msgpack bin ≤ 64 KiB). */
  maxBulkParts: 64,
});

/** Local changes pushed to peers (a batch of one flush). */
export interface DeltasMessage {
  type: 'deltas';
  from: string;
  deltas: Delta[];
}

/** "My digest differs from yours: here is my vector, send what I lack." */
export interface VectorRequestMessage {
  type: 'vector-request';
  from: string;
  vector: WireVector;
}

/** The answer to a vector request, or deltas pushed back to a peer that lacks them. */
export interface DeltaReplyMessage {
  type: 'delta-reply';
  from: string;
  reply: DeltaReply;
}

/**
 * "I confirmed you dead (or gone) and dropped your presence up to `epoch`": sent to a
 * member seen alive again, which then re-announces its clients under a newer epoch.
 */
export interface OriginRemovedMessage {
  type: 'origin-removed';
  from: string;
  epoch: number;
}

/** One message of a Merkle anti-entropy session (session id inside). */
export interface MerkleMessage {
  type: 'merkle';
  from: string;
  msg: ExchangeMessage<SyncRecord>;
}

/** An empty or far-behind node asks a peer to stream its whole state. */
export interface BulkRequestMessage {
  type: 'bulk-request';
  from: string;
  sid: number;
}

/**
 * One chunk of a bulk stream: a msgpack-encoded BulkChunk, deflated, cut into parts of
 * at most 64 KiB (the msgpack bin cap); `rawBytes` is its inflated size.
 */
export interface BulkChunkMessage {
  type: 'bulk-chunk';
  sid: number;
  index: number;
  parts: Uint8Array[];
  rawBytes: number;
}

declare module './messages.js' {
  interface MessageMap {
    deltas: DeltasMessage;
    'vector-request': VectorRequestMessage;
    'delta-reply': DeltaReplyMessage;
    'origin-removed': OriginRemovedMessage;
    merkle: MerkleMessage;
    'bulk-request': BulkRequestMessage;
    'bulk-chunk': BulkChunkMessage;
  }
}

/** Types of the messages this file registers. */
export const REPLICATION_MESSAGE_TYPES: ReadonlySet<string> = new Set(['deltas', 'vector-request', 'delta-reply', 'origin-removed', 'merkle', 'bulk-request', 'bulk-chunk']);

const L = REPLICATION_WIRE_LIMITS;

// ── shared field readers ───────────────────────────────────────────────────────

type Fail = (field: string, problem: string) => never;

const utf8 = new TextEncoder();

function checkStr(fail: Fail, field: string, v: unknown, maxBytes: number): string {
  if (typeof v !== 'string' || v.length === 0) return fail(field, `expected a non-empty string, got ${typeof v}`);
  if (v.length * 3 > maxBytes && (v.length > maxBytes || utf8.encode(v).length > maxBytes)) fail(field, `longer than ${maxBytes} bytes`);
  // record keys use NUL as a separator: a name with NUL would alias another record
  if (v.includes('\u0000')) fail(field, 'contains NUL');
  return v;
}

function checkUint(fail: Fail, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(field, `expected a non-negative safe integer, got ${String(v)}`);
  return v;
}

function checkArray(fail: Fail, field: string, v: unknown, max: number): unknown[] {
  if (!Array.isArray(v)) return fail(field, 'expected an array');
  if (v.length > max) fail(field, `${v.length} items exceed the cap of ${max}`);
  return v;
}

function checkBin(fail: Fail, field: string, v: unknown, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) return fail(field, 'expected binary data');
  if (len !== undefined && v.length !== len) fail(field, `expected ${len} bytes, got ${v.length}`);
  return v;
}

function checkHeaders(fail: Fail, field: string, v: unknown): Record<string, string> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return fail(field, 'expected a map of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > L.maxHeaders) fail(field, `${entries.length} headers exceed the cap of ${L.maxHeaders}`);
  for (const [k, s] of entries) {
    if (typeof s !== 'string' || k.length > L.maxHeaderBytes || s.length > L.maxHeaderBytes) fail(field, `header ${JSON.stringify(k.slice(0, 32))} is not a bounded string`);
  }
  return v as Record<string, string>;
}

function optionalStr(fail: Fail, field: string, v: unknown, maxBytes: number): string | undefined {
  return v === null || v === undefined ? undefined : checkStr(fail, field, v, maxBytes);
}

function vectorOf(fail: Fail, field: string, v: unknown): WireVector {
  const items = checkArray(fail, field, v, L.maxVectorEntries);
  const out: WireVector = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const t = checkArray(fail, `${field}[${i}]`, items[i], 3);
    if (t.length !== 3) fail(`${field}[${i}]`, 'expected [node, epoch, seq]');
    out[i] = [checkStr(fail, `${field}[${i}].node`, t[0], 128), checkUint(fail, `${field}[${i}].epoch`, t[1]), checkUint(fail, `${field}[${i}].seq`, t[2])];
  }
  return out;
}

const vectorWire = (v: WireVector): unknown[] => v.map((t) => [t[0], t[1], t[2]]);

// ── deltas ─────────────────────────────────────────────────────────────────────

const KIND = { join: 0, update: 1, leave: 2, publish: 3 } as const;

function deltaWire(d: Delta): unknown[] {
  switch (d.kind) {
    case 'join':
    case 'update':
      return [KIND[d.kind], d.node, d.epoch, d.seq, d.channel, d.clientId, d.user, d.info ?? null, d.since];
    case 'leave':
      return [KIND.leave, d.node, d.epoch, d.seq, d.channel, d.clientId];
    case 'publish': {
      const out: unknown[] = [KIND.publish, d.node, d.epoch, d.seq, d.channel, d.ts, d.data ?? null, d.c];
      if (d.headers !== undefined || d.idempotencyKey !== undefined) out.push(d.headers ?? null);
      if (d.idempotencyKey !== undefined) out.push(d.idempotencyKey);
      return out;
    }
  }
}

function readDelta(fail: Fail, field: string, v: unknown): Delta {
  const a = checkArray(fail, field, v, 10);
  const kind = a[0];
  if (kind !== 0 && kind !== 1 && kind !== 2 && kind !== 3) return fail(`${field}.kind`, `expected 0-3, got ${String(kind)}`);
  const node = checkStr(fail, `${field}.node`, a[1], 128);
  const epoch = checkUint(fail, `${field}.epoch`, a[2]);
  const seq = checkUint(fail, `${field}.seq`, a[3]);
  if (seq === 0) fail(`${field}.seq`, 'sequence numbers start at 1');
  const channel = checkStr(fail, `${field}.channel`, a[4], L.maxChannelBytes);
  if (kind === KIND.publish) {
    if (a.length < 8) fail(field, `publish has ${a.length} fields, expected at least 8`);
    const d: Delta = { kind: 'publish', node, epoch, seq, channel, ts: checkUint(fail, `${field}.ts`, a[5]), c: checkUint(fail, `${field}.c`, a[7]), data: ownPayload(a[6]) };
    const headers = checkHeaders(fail, `${field}.headers`, a[8]);
    if (headers !== undefined) d.headers = headers;
    const ik = optionalStr(fail, `${field}.idempotencyKey`, a[9], L.maxIdBytes);
    if (ik !== undefined) d.idempotencyKey = ik;
    return d;
  }
  const clientId = checkStr(fail, `${field}.clientId`, a[5], L.maxIdBytes);
  if (kind === KIND.leave) return { kind: 'leave', node, epoch, seq, channel, clientId };
  if (a.length < 9) fail(field, `${kind === 0 ? 'join' : 'update'} has ${a.length} fields, expected 9`);
  return {
    kind: kind === 0 ? 'join' : 'update', node, epoch, seq, channel, clientId,
    user: checkStr(fail, `${field}.user`, a[6], L.maxIdBytes), info: ownPayload(a[7]), since: checkUint(fail, `${field}.since`, a[8]),
  };
}

// a string readDelta's checkStr accepts, decided without building any message: short
// enough that its UTF-8 form cannot pass maxBytes (3 bytes per code unit at most), no NUL
function quickStr(v: unknown, maxBytes: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length * 3 <= maxBytes && !v.includes('\u0000');
}

function quickUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The common case of {@link readDelta} (a publish without headers or idempotency key)
 * checked without building the field paths of error messages: readDelta evaluates about
 * eight path strings per delta as arguments, which was a steady source of garbage at tens
 * of thousands of deltas per second. Accepts only what readDelta accepts and builds the
 * same object; anything else (other kinds, headers, long names, errors) takes readDelta.
 */
function quickPublish(v: unknown): Delta | undefined {
  if (!Array.isArray(v) || v.length < 8 || v.length > 10 || v[0] !== KIND.publish) return undefined;
  const node: unknown = v[1];
  const epoch: unknown = v[2];
  const seq: unknown = v[3];
  const channel: unknown = v[4];
  const ts: unknown = v[5];
  const c: unknown = v[7];
  if (!quickStr(node, 128) || !quickUint(epoch) || !quickUint(seq) || seq === 0 || !quickStr(channel, L.maxChannelBytes) || !quickUint(ts) || !quickUint(c)) return undefined;
  if ((v[8] !== undefined && v[8] !== null) || (v[9] !== undefined && v[9] !== null)) return undefined;
  return { kind: 'publish', node, epoch, seq, channel, ts, c, data: ownPayload(v[6]) };
}

function readDeltas(r: FieldReader, field: string): Delta[] {
  const fail: Fail = (f, p) => r.fail(f, p);
  const items = checkArray(fail, field, r.value(field), L.maxDeltas);
  const out = new Array<Delta>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = quickPublish(items[i]) ?? readDelta(fail, `${field}[${i}]`, items[i]);
  return out;
}

// ── records (Merkle exchange) ──────────────────────────────────────────────────

function recordWire(rec: SyncRecord): unknown[] {
  switch (rec.kind) {
    case 'presence': {
      const e = rec.entry;
      return [0, e.channel, e.clientId, e.user, e.info ?? null, e.node, e.epoch, e.seq, e.since];
    }
    case 'history': {
      const e = rec.entry;
      return [1, e.channel, e.node, e.epoch, e.seq, e.ts, e.data ?? null, e.headers ?? null, e.idempotencyKey ?? null, e.c];
    }
    case 'low-water': {
      const m = rec.mark;
      const out: unknown[] = [2, rec.channel, m.ts, m.node, m.epoch, m.seq];
      if (rec.drops) {
        // drop records flat: node, epoch, c, ts, seq per record; then the horizon or null
        const flat: unknown[] = [];
        for (const r of rec.drops.records) flat.push(r.node, r.epoch, r.c, r.ts, r.seq);
        const h = rec.drops.horizon;
        out.push(flat, h ? [h.ts, h.node, h.epoch, h.seq] : null);
      }
      return out;
    }
  }
}

function readRecord(fail: Fail, field: string, v: unknown): SyncRecord {
  const a = checkArray(fail, field, v, 10);
  const channel = checkStr(fail, `${field}.channel`, a[1], L.maxChannelBytes);
  switch (a[0]) {
    case 0: {
      if (a.length !== 9) fail(field, 'presence record needs 9 fields');
      const entry: PresenceEntry = {
        channel, clientId: checkStr(fail, `${field}.clientId`, a[2], L.maxIdBytes), user: checkStr(fail, `${field}.user`, a[3], L.maxIdBytes),
        info: ownPayload(a[4]), node: checkStr(fail, `${field}.node`, a[5], 128), epoch: checkUint(fail, `${field}.epoch`, a[6]),
        seq: checkUint(fail, `${field}.seq`, a[7]), since: checkUint(fail, `${field}.since`, a[8]),
      };
      return { kind: 'presence', entry };
    }
    case 1: {
      if (a.length !== 10) fail(field, 'history record needs 10 fields');
      const entry: HistoryEntry = {
        channel, node: checkStr(fail, `${field}.node`, a[2], 128), epoch: checkUint(fail, `${field}.epoch`, a[3]),
        seq: checkUint(fail, `${field}.seq`, a[4]), ts: checkUint(fail, `${field}.ts`, a[5]), c: checkUint(fail, `${field}.c`, a[9]), data: ownPayload(a[6]),
      };
      const headers = checkHeaders(fail, `${field}.headers`, a[7]);
      if (headers !== undefined) entry.headers = headers;
      const ik = optionalStr(fail, `${field}.idempotencyKey`, a[8], L.maxIdBytes);
      if (ik !== undefined) entry.idempotencyKey = ik;
      return { kind: 'history', entry };
    }
    case 2: {
      if (a.length !== 6 && a.length !== 8) fail(field, 'low-water record needs 6 or 8 fields');
      const rec: SyncRecord = {
        kind: 'low-water', channel,
        mark: { ts: checkUint(fail, `${field}.ts`, a[2]), node: checkStr(fail, `${field}.node`, a[3], 128), epoch: checkUint(fail, `${field}.epoch`, a[4]), seq: checkUint(fail, `${field}.seq`, a[5]) },
      };
      if (a.length === 8) rec.drops = readDrops(fail, `${field}.drops`, a[6], a[7]);
      return rec;
    }
    default:
      return fail(`${field}.kind`, `expected 0-2, got ${String(a[0])}`);
  }
}

// a drop summary holds at most 1,024 records (one per origin epoch, decision 0047)
function readDrops(fail: Fail, field: string, flat: unknown, horizon: unknown): DropsWire {
  const a = checkArray(fail, field, flat, 5 * 1024);
  if (a.length % 5 !== 0) fail(field, `expected groups of 5 fields, got ${a.length}`);
  const records: DropRecord[] = [];
  for (let i = 0; i < a.length; i += 5) {
    const f = `${field}[${i / 5}]`;
    const c = checkUint(fail, `${f}.c`, a[i + 2]);
    if (c === 0) fail(`${f}.c`, 'entry numbers start at 1');
    records.push({ node: checkStr(fail, `${f}.node`, a[i], 128), epoch: checkUint(fail, `${f}.epoch`, a[i + 1]), c, ts: checkUint(fail, `${f}.ts`, a[i + 3]), seq: checkUint(fail, `${f}.seq`, a[i + 4]) });
  }
  if (horizon === null || horizon === undefined) return { records };
  const h = checkArray(fail, `${field}.horizon`, horizon, 4);
  if (h.length !== 4) fail(`${field}.horizon`, 'needs 4 fields');
  return { records, horizon: { ts: checkUint(fail, `${field}.horizon.ts`, h[0]), node: checkStr(fail, `${field}.horizon.node`, h[1], 128), epoch: checkUint(fail, `${field}.horizon.epoch`, h[2]), seq: checkUint(fail, `${field}.horizon.seq`, h[3]) } };
}

function readRecords(fail: Fail, field: string, v: unknown): SyncRecord[] | undefined {
  if (v === null || v === undefined) return undefined;
  const items = checkArray(fail, field, v, L.maxRecords);
  return items.map((x, i) => readRecord(fail, `${field}[${i}]`, x));
}

function uintList(fail: Fail, field: string, v: unknown, max: number): number[] {
  const items = checkArray(fail, field, v, 65_536);
  for (let i = 0; i < items.length; i++) {
    const n = items[i];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) fail(`${field}[${i}]`, `expected an integer in [0, ${max}]`);
  }
  return items as number[];
}

// tree node numbers: fanoutBits × depth ≤ 24, so fewer than 2^25 nodes
const MAX_TREE_NODE = 2 ** 25;

const FLAG_WANT_CONTEXT = 1;
const FLAG_DONE = 2;
const FLAG_PARTIAL = 4;

function merkleWire(m: ExchangeMessage<SyncRecord>): unknown[] {
  const flags = (m.wantContext ? FLAG_WANT_CONTEXT : 0) | (m.done ? FLAG_DONE : 0) | (m.partial ? FLAG_PARTIAL : 0);
  const ctx = m.context as SyncContext | undefined;
  const fields: unknown[] = [
    m.sid, flags, m.root ?? null, m.digest ?? null,
    m.expand ? [m.expand.nodes, m.expand.levels, m.expand.hashes] : null,
    m.list ? [m.list.nodes, m.list.counts, m.list.hashes] : null,
    m.records ? m.records.map(recordWire) : null,
    m.want ?? null,
    m.stale ? m.stale.map(recordWire) : null,
    ctx ? (ctx.floors ? [vectorWire(ctx.vector), vectorWire(ctx.floors)] : [vectorWire(ctx.vector)]) : null,
  ];
  // trailing absent fields are dropped: a converged check stays a few bytes
  while (fields.length > 2 && fields[fields.length - 1] === null) fields.pop();
  return fields;
}

function readMerkle(r: FieldReader): ExchangeMessage<SyncRecord> {
  const fail: Fail = (f, p) => r.fail(f, p);
  const m: ExchangeMessage<SyncRecord> = { sid: r.uint('sid') };
  const flags = r.int('flags', 0, 7);
  if (flags & FLAG_WANT_CONTEXT) m.wantContext = true;
  if (flags & FLAG_DONE) m.done = true;
  if (flags & FLAG_PARTIAL) m.partial = true;
  const opt = (field: string): unknown => (r.more() ? r.value(field) : null);
  const root = opt('root');
  if (root !== null) m.root = checkBin(fail, 'root', root, 8);
  const digest = opt('digest');
  if (digest !== null) m.digest = checkBin(fail, 'digest', digest, 8);
  const expand = opt('expand');
  if (expand !== null) {
    const a = checkArray(fail, 'expand', expand, 3);
    const levels = a[1];
    if (typeof levels !== 'number' || !Number.isInteger(levels) || levels < 1 || levels > 24) fail('expand.levels', 'expected an integer in [1, 24]');
    m.expand = { nodes: uintList(fail, 'expand.nodes', a[0], MAX_TREE_NODE), levels, hashes: checkBin(fail, 'expand.hashes', a[2]) };
  }
  const list = opt('list');
  if (list !== null) {
    const a = checkArray(fail, 'list', list, 3);
    m.list = { nodes: uintList(fail, 'list.nodes', a[0], MAX_TREE_NODE), counts: uintList(fail, 'list.counts', a[1], 2 ** 31), hashes: checkBin(fail, 'list.hashes', a[2]) };
    if (m.list.nodes.length !== m.list.counts.length) fail('list', 'nodes and counts differ in length');
  }
  const records = readRecords(fail, 'records', opt('records'));
  if (records) m.records = records;
  const want = opt('want');
  if (want !== null) m.want = checkBin(fail, 'want', want);
  const stale = readRecords(fail, 'stale', opt('stale'));
  if (stale) m.stale = stale;
  const ctx = opt('context');
  if (ctx !== null) {
    const a = checkArray(fail, 'context', ctx, 2);
    const context: SyncContext = { vector: vectorOf(fail, 'context.vector', a[0]) };
    if (a.length > 1) context.floors = vectorOf(fail, 'context.floors', a[1]);
    m.context = context;
  }
  return m;
}

// ── registration ───────────────────────────────────────────────────────────────

const T = ReplicationMessageType;

const deltasDefinition = defineMessage(
  T.deltas,
  'deltas',
  (m) => [m.from, m.deltas.map(deltaWire)],
  (r) => ({ type: 'deltas', from: r.name('from'), deltas: readDeltas(r, 'deltas') }),
);

defineMessage(
  T.vectorRequest,
  'vector-request',
  (m) => [m.from, vectorWire(m.vector)],
  (r) => ({ type: 'vector-request', from: r.name('from'), vector: vectorOf((f, p) => r.fail(f, p), 'vector', r.value('vector')) }),
);

const REPLY_TRUNCATED = 1;
const REPLY_UNEXPLAINED = 2;

defineMessage(
  T.deltaReply,
  'delta-reply',
  (m) => {
    const flags = (m.reply.truncated ? REPLY_TRUNCATED : 0) | (m.reply.unexplained ? REPLY_UNEXPLAINED : 0);
    const out: unknown[] = [m.from, m.reply.deltas.map(deltaWire), flags];
    if (m.reply.vector) out.push(vectorWire(m.reply.vector));
    return out;
  },
  (r) => {
    const from = r.name('from');
    const reply: DeltaReply = { deltas: readDeltas(r, 'deltas') };
    const flags = r.int('flags', 0, 3);
    if (flags & REPLY_TRUNCATED) reply.truncated = true;
    if (flags & REPLY_UNEXPLAINED) reply.unexplained = true;
    if (r.more()) reply.vector = vectorOf((f, p) => r.fail(f, p), 'vector', r.value('vector'));
    return { type: 'delta-reply', from, reply };
  },
);

defineMessage(
  T.originRemoved,
  'origin-removed',
  (m) => [m.from, m.epoch],
  (r) => ({ type: 'origin-removed', from: r.name('from'), epoch: r.uint('epoch') }),
);

defineMessage(
  T.merkle,
  'merkle',
  (m) => [m.from, ...merkleWire(m.msg)],
  (r) => ({ type: 'merkle', from: r.name('from'), msg: readMerkle(r) }),
);

defineMessage(
  T.bulkRequest,
  'bulk-request',
  (m) => [m.from, m.sid],
  (r) => ({ type: 'bulk-request', from: r.name('from'), sid: r.uint('sid') }),
);

const bulkChunkDefinition = defineMessage(
  T.bulkChunk,
  'bulk-chunk',
  (m) => [m.sid, m.index, m.parts, m.rawBytes],
  (r) => {
    const sid = r.uint('sid');
    const index = r.uint('index');
    const fail: Fail = (f, p) => r.fail(f, p);
    const items = checkArray(fail, 'parts', r.value('parts'), L.maxBulkParts);
    const parts = items.map((p, i) => checkBin(fail, `parts[${i}]`, p));
    return { type: 'bulk-chunk', sid, index, parts, rawBytes: r.uint('rawBytes') };
  },
);

// ── trusted encoding (runtime hot paths) ───────────────────────────────────────

const trustedEncoder = new Encoder();

/**
 * Encodes a `deltas` message without the validation pass of `encodeMessage`: only for
 * deltas this node holds in its replica, i.e. built by the replica's own validated local
 * writes or received from peers and validated by `readDeltas` on the way in. Receivers
 * still validate every message strictly. See docs/decisions/0025.
 */
export function encodeDeltasTrusted(from: string, deltas: readonly Delta[]): Uint8Array {
  const m: DeltasMessage = { type: 'deltas', from, deltas: deltas as Delta[] };
  return trustedEncoder.encode([deltasDefinition.number, ...deltasDefinition.encodeFields(m)]);
}

/** Encodes a `bulk-chunk` message without re-validating it (the runtime built it: parts of its own deflate output). */
export function encodeBulkChunkTrusted(m: BulkChunkMessage): Uint8Array {
  return trustedEncoder.encode([bulkChunkDefinition.number, ...bulkChunkDefinition.encodeFields(m)]);
}

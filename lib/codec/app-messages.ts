import { Encoder } from '@msgpack/msgpack';
import { ClusterError } from '../errors.js';
import { defineMessage } from './messages.js';

/**
 * Application messages (48, the runtime range): opaque bytes one node sends to another
 * on a topic, e.g. the Socket.IO adapter's broadcasts and requests. The codec checks
 * only the envelope; the bytes belong to the topic's handler, which validates them.
 */
export const AppMessageType = { app: 48 } as const;

/** Wire bounds of `app` messages; a message past them refuses its frame. */
export const APP_WIRE_LIMITS = Object.freeze({
  /** Topic names, in UTF-8 bytes. */
  maxTopicBytes: 256,
  /** One message's body, in bytes (below the 16 MiB of a stream frame; the runtime's cap may be lower). */
  maxBodyBytes: 8 * 1024 * 1024,
  /**
   * A body travels as binary parts of at most this many bytes: the frame decoder caps
   * every msgpack binary at 64 KiB (msgpack-limits.ts), as bulk chunks do.
   */
  partBytes: 65_000,
});

const MAX_PARTS = Math.ceil(APP_WIRE_LIMITS.maxBodyBytes / APP_WIRE_LIMITS.partBytes);

/** `from` hands `body` to the handler of `topic` on the receiving node. */
export interface AppMessage {
  type: 'app';
  from: string;
  topic: string;
  body: Uint8Array;
}

declare module './messages.js' {
  interface MessageMap {
    app: AppMessage;
  }
}

const appDefinition = defineMessage(
  AppMessageType.app,
  'app',
  (m) => [m.from, m.topic, split(m.body)],
  (r) => {
    const from = r.name('from');
    const topic = r.str('topic', APP_WIRE_LIMITS.maxTopicBytes);
    const parts = r.list('parts', MAX_PARTS, (p) => [p.bytes('part', APP_WIRE_LIMITS.partBytes)] as const);
    return { type: 'app', from, topic, body: join(parts.map((p) => p[0]), (f, problem) => r.fail(f, problem)) };
  },
);

/** The body as wire parts: `[[part], [part], ...]` (list items are arrays, as FieldReader.list reads them). */
function split(body: Uint8Array): Uint8Array[][] {
  if (body.length > APP_WIRE_LIMITS.maxBodyBytes) {
    throw new ClusterError('E_LIMIT', `app message body of ${body.length} bytes exceeds the cap of ${APP_WIRE_LIMITS.maxBodyBytes}`);
  }
  const out: Uint8Array[][] = [];
  for (let i = 0; i < body.length; i += APP_WIRE_LIMITS.partBytes) out.push([body.subarray(i, i + APP_WIRE_LIMITS.partBytes)]);
  return out;
}

function join(parts: Uint8Array[], fail: (field: string, problem: string) => never): Uint8Array {
  // one part: a copy anyway, so that the handler does not keep the whole frame alive
  let n = 0;
  for (const p of parts) n += p.length;
  if (n > APP_WIRE_LIMITS.maxBodyBytes) fail('parts', `${n} bytes exceed the cap of ${APP_WIRE_LIMITS.maxBodyBytes}`);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const trustedEncoder = new Encoder();

/**
 * Encodes an `app` message without the validation pass of `encodeMessage`: the runtime
 * checked the topic and the body's size when the application handed them over, and a
 * broadcast encodes once for every peer. Receivers validate strictly as always.
 */
export function encodeAppMessageTrusted(from: string, topic: string, body: Uint8Array): Uint8Array {
  return trustedEncoder.encode([appDefinition.number, from, topic, split(body)]);
}

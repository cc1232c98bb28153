import { Encoder } from '@msgpack/msgpack';
import type { RawData } from 'ws';
import { LimitedMsgpackDecoder, resolveMsgpackLimits } from '../internal.js';
import { HttpError } from './http-util.js';

/** The subprotocols of `/v2/ws`: JSON text frames (the default, also without a subprotocol) and msgpack binary frames. */
export const WS_PROTOCOLS = Object.freeze({ json: 'clusterd.v2.json', msgpack: 'clusterd.v2.msgpack' });

/** How frames of one connection are read and written. */
export type FrameFormat = 'json' | 'msgpack';

/** A request as read from a frame: `{id, op, ...fields}`. */
export interface WsRequest {
  id: string | number;
  op: string;
  body: Record<string, unknown>;
}

/**
 * The format a client's `Sec-WebSocket-Protocol` offer selects: msgpack when it offers
 * `clusterd.v2.msgpack`, JSON when it offers `clusterd.v2.json` or nothing. An offer of
 * only other protocols is refused (400): the client expects one it would not get.
 */
export function chooseFormat(offered: string | undefined): { format: FrameFormat; protocol: string | undefined } {
  if (offered === undefined || offered.trim() === '') return { format: 'json', protocol: undefined };
  const list = offered.split(',').map((p) => p.trim());
  if (list.includes(WS_PROTOCOLS.msgpack)) return { format: 'msgpack', protocol: WS_PROTOCOLS.msgpack };
  if (list.includes(WS_PROTOCOLS.json)) return { format: 'json', protocol: WS_PROTOCOLS.json };
  throw new HttpError(400, 'E_BAD_REQUEST', `unsupported WebSocket subprotocol "${offered.slice(0, 100)}" (offer ${WS_PROTOCOLS.json} or ${WS_PROTOCOLS.msgpack}, or none for JSON)`);
}

/** Reads and writes the frames of one format; one per connection. */
export class FrameCodec {
  private readonly decoder: LimitedMsgpackDecoder | undefined;
  private readonly encoder: Encoder | undefined;

  constructor(readonly format: FrameFormat, maxFrameBytes: number) {
    if (format === 'msgpack') {
      // the frame cap bounds the whole value; these bound what one header may claim
      this.decoder = new LimitedMsgpackDecoder(resolveMsgpackLimits({ maxDepth: 64, maxStrLength: maxFrameBytes, maxBinLength: maxFrameBytes, maxArrayLength: 65536, maxMapLength: 65536 }));
      this.encoder = new Encoder({ ignoreUndefined: true });
    }
  }

  /** Encodes an answer or a pushed item for the wire. */
  encode(value: unknown): string | Uint8Array {
    // a copy: the encoder reuses its buffer, and ws may hold on to the bytes
    return this.encoder ? this.encoder.encode(value).slice() : JSON.stringify(value);
  }

  /**
   * A frame as a request; throws 400 naming what is wrong (`onId` gets the id as soon as
   * it is valid, so the error's answer can carry it).
   */
  decode(data: RawData, isBinary: boolean, onId: (id: string | number) => void): WsRequest {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let value: unknown;
    if (this.decoder) {
      if (!isBinary) throw new HttpError(400, 'E_BAD_FRAME', `this connection speaks ${WS_PROTOCOLS.msgpack}: send binary frames`);
      try {
        value = this.decoder.decode(bytes);
      } catch (err) {
        throw new HttpError(400, 'E_BAD_MSGPACK', `frame is not valid msgpack: ${(err as Error).message}`);
      }
    } else {
      if (isBinary) throw new HttpError(400, 'E_BAD_FRAME', `send JSON text frames (or connect with the ${WS_PROTOCOLS.msgpack} subprotocol for binary msgpack frames)`);
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, 'E_BAD_JSON', `frame is not valid JSON: ${(err as Error).message}`);
      }
    }
    const code = this.decoder ? 'E_BAD_MSGPACK' : 'E_BAD_JSON';
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, code, `a frame must be ${this.decoder ? 'a msgpack map' : 'a JSON object'} {id, op, ...}`);
    const { id, op, ...body } = value as Record<string, unknown>;
    if (!((typeof id === 'string' && id.length > 0 && id.length <= 128) || (typeof id === 'number' && Number.isSafeInteger(id)))) {
      throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "id" must be a string of 1–128 characters or an integer: the answer carries it');
    }
    onId(id);
    if (typeof op !== 'string') throw new HttpError(400, 'E_MISSING_FIELD', 'missing required field "op"');
    if (this.decoder) checkJsonModel(body, 'frame');
    return { id, op, body };
  }
}

/**
 * msgpack can say more than JSON (binary, extensions, timestamps); a message must read the
 * same to a JSON client, so values outside JSON's model are refused, naming where.
 */
function checkJsonModel(v: unknown, path: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new HttpError(400, 'E_BAD_MSGPACK', `${path}: ${v} has no JSON form`);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkJsonModel(v[i], `${path}[${i}]`);
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const k in v) checkJsonModel((v as Record<string, unknown>)[k], `${path}.${k.slice(0, 40)}`);
    return;
  }
  const what = v instanceof Uint8Array ? 'binary' : v instanceof Date ? 'a timestamp' : typeof v === 'bigint' ? 'a 64-bit integer beyond 2^53' : 'an extension type';
  throw new HttpError(400, 'E_BAD_MSGPACK', `${path} is ${what}: values must be what JSON can say (nil, bool, numbers, strings, arrays, maps with string keys)`);
}

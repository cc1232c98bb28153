import type { Timer } from '../clock.js';
import type { MemoryStream } from './memory-stream.js';
import type { MemoryTransport } from './memory-transport.js';
import type { Address, Stream } from './transport.js';

// What the memory network schedules: one recycled record per arrival (all
// deliveries go through one heap: see MemoryNetwork), and the state of a dial in progress.

/** Kinds of {@link Delivery}. */
export const PACKET = 0;
export const DATA = 1;
export const FIN = 2;
export const RESET = 3;
export const SYN = 4;
export const SYN_ACK = 5;
export const REFUSE = 6;

/** One scheduled arrival: a datagram, a stream message or a stream control event. */
export interface Delivery {
  at: number;
  seq: number;
  kind: number;
  from: MemoryTransport | null;
  to: MemoryTransport | null;
  data: Uint8Array | null;
  /** The receiving stream end (DATA, FIN, RESET, SYN_ACK). */
  stream: MemoryStream | null;
  dial: PendingDial | null;
}

/** A dial waiting for its SYN-ACK, refusal or timeout. */
export interface PendingDial {
  from: MemoryTransport;
  to: Address;
  settled: boolean;
  /** The SYN was dropped by a partition: the timeout then means unreachable. */
  lost: boolean;
  timer: Timer | null;
  end: MemoryStream | null;
  resolve(stream: Stream): void;
  reject(err: Error): void;
}

/** Makes an empty delivery (the queue's allocator). */
export const newDelivery = (): Delivery => ({ at: 0, seq: 0, kind: 0, from: null, to: null, data: null, stream: null, dial: null });
/** Clears a delivery's references before it is recycled. */
export const resetDelivery = (d: Delivery): void => {
  d.from = null;
  d.to = null;
  d.data = null;
  d.stream = null;
  d.dial = null;
};

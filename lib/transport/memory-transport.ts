import type { Timer } from '../clock.js';
import { emptyStats } from './limits.js';
import type { ResolvedLimits } from './limits.js';
import type { Delivery, PendingDial } from './memory-delivery.js';
import type { MemoryNetwork } from './memory.js';
import type { LinkSettings } from './memory-options.js';
import type { MemoryStream } from './memory-stream.js';
import type { Address, PacketHandler, Stream, Transport, TransportStats } from './transport.js';

/** A {@link Transport} on a {@link MemoryNetwork}; made by {@link MemoryNetwork.createTransport}. */
export class MemoryTransport implements Transport {
  readonly advertiseAddress: Address;
  readonly bindAddress: Address;
  readonly stats: TransportStats = emptyStats();
  /** @internal */ closed = false;
  /** @internal */ group = 0;
  /** @internal */ isolated = false;
  /** @internal */ blocked: Set<Address> | null = null;
  /** @internal */ links: Map<Address, LinkSettings> | null = null;
  /** @internal */ stalled = false;
  /** @internal */ stallUntil = 0;
  /** @internal */ stallTimer: Timer | null = null;
  /** @internal arrivals held during a stall */ inbox: Delivery[] = [];
  /** @internal */ inboxPackets = 0;
  /** @internal sends held during a stall */ outbox: (() => void)[] = [];
  /** @internal */ outboxPackets = 0;
  /** @internal */ readonly streams = new Set<MemoryStream>();
  /** @internal */ inbound = 0;
  /** @internal */ readonly dials = new Set<PendingDial>();
  /** @internal */ packetHandler: PacketHandler | undefined;
  /** @internal */ streamHandler: ((stream: Stream) => void) | undefined;

  /** @internal use {@link MemoryNetwork.createTransport} */
  constructor(
    private readonly network: MemoryNetwork,
    /** The address this transport lives at (bind and advertise alike). */
    readonly address: Address,
    /** @internal */ readonly limits: ResolvedLimits,
  ) {
    this.advertiseAddress = address;
    this.bindAddress = address;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    this.network.sendPacket(this, to, data);
  }

  onPacket(handler: PacketHandler): void {
    this.packetHandler = handler;
  }

  dial(to: Address, timeoutMs: number): Promise<Stream> {
    return this.network.dial(this, to, timeoutMs);
  }

  onStream(handler: (stream: Stream) => void): void {
    this.streamHandler = handler;
  }

  close(): Promise<void> {
    this.network.closeTransport(this);
    return Promise.resolve();
  }
}

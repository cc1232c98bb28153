import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { formatAddress, parseAddress } from './address.js';
import type { NetTransportStats } from './net-stats.js';
import type { Address, PacketHandler } from './transport.js';

/** Options of {@link UdpEndpoint.bind}. */
export interface UdpEndpointOptions {
  /** IP literal to bind. */
  host: string;
  /** Port to bind; 0 for an ephemeral one. */
  port: number;
  /** Largest datagram sent or accepted. */
  maxPacketSize: number;
  /** Bytes allowed in the socket's send queue before datagrams are dropped. */
  sendQueueLimit: number;
  /** Counters shared with the owning transport. */
  stats: NetTransportStats;
}

interface Destination {
  host: string;
  port: number;
}

// parsed destinations are cached because gossip sends to the same few hundred peers
// over and over; the cap keeps a flood of distinct bogus addresses from growing it
const DESTINATION_CACHE_MAX = 4096;
const IPV4_MAPPED = '::ffff:';

/**
 * The datagram half of the real-socket transport: one dgram socket (udp4 or udp6 by
 * the bind address family). Nothing here throws for network reasons: every failure
 * lands in a counter.
 */
export class UdpEndpoint {
  /** The port actually bound. */
  readonly port: number;
  private handler: PacketHandler | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly destinations = new Map<Address, Destination | null>();
  private readonly v6: boolean;
  private readonly dualStack: boolean;
  private readonly afterSend: (err: Error | null) => void;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: UdpEndpointOptions,
  ) {
    this.port = socket.address().port;
    this.v6 = isIP(options.host) === 6;
    this.dualStack = this.v6 && /^[0:]+$/.test(options.host);
    const stats = options.stats;
    // one shared callback instead of a closure per datagram; without a callback dgram
    // silently swallows send errors, so it is the only way to count them
    this.afterSend = (err) => {
      if (err) {
        stats.packetErrors++;
        stats.packetsDropped++;
      }
    };
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // ICMP errors and the like surface here on some platforms; a node must survive them
    socket.on('error', () => {
      stats.packetErrors++;
    });
  }

  /** Binds a socket; rejects with the raw socket error (the caller words it). */
  static bind(options: UdpEndpointOptions): Promise<UdpEndpoint> {
    const type = isIP(options.host) === 6 ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type });
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        try {
          socket.close();
        } catch {
          // a socket whose bind failed may already count as closed
        }
        reject(err);
      };
      socket.once('error', fail);
      socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
        socket.off('error', fail);
        resolve(new UdpEndpoint(socket, options));
      });
    });
  }

  /** Sets the single datagram handler. */
  onPacket(handler: PacketHandler): void {
    this.handler = handler;
  }

  /** Sends one datagram, or counts why it was not sent. */
  send(to: Address, data: Uint8Array): void {
    const stats = this.options.stats;
    if (this.closed) {
      stats.packetsDropped++;
      return;
    }
    if (data.length > this.options.maxPacketSize) {
      stats.packetsOversize++;
      stats.packetsDropped++;
      return;
    }
    const dest = this.destination(to);
    if (!dest) {
      stats.packetsUnaddressable++;
      stats.packetsDropped++;
      return;
    }
    if (this.socket.getSendQueueSize() > this.options.sendQueueLimit) {
      stats.packetsBackpressure++;
      stats.packetsDropped++;
      return;
    }
    try {
      this.socket.send(data, dest.port, dest.host, this.afterSend);
    } catch {
      stats.packetErrors++;
      stats.packetsDropped++;
      return;
    }
    stats.packetsOut++;
    stats.bytesOut += data.length;
  }

  /** Closes the socket; idempotent. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const stats = this.options.stats;
    if (this.closed) return;
    if (msg.length > this.options.maxPacketSize) {
      stats.packetsOversize++;
      stats.packetsDropped++;
      return;
    }
    stats.packetsIn++;
    stats.bytesIn += msg.length;
    let host = rinfo.address;
    // a dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; report what they advertise
    if (this.dualStack && host.startsWith(IPV4_MAPPED) && isIP(host.slice(IPV4_MAPPED.length)) === 4) {
      host = host.slice(IPV4_MAPPED.length);
    }
    this.handler?.(msg, formatAddress(host, rinfo.port));
  }

  private destination(to: Address): Destination | null {
    let dest = this.destinations.get(to);
    if (dest !== undefined) return dest;
    dest = this.resolve(to);
    if (this.destinations.size >= DESTINATION_CACHE_MAX) this.destinations.clear();
    this.destinations.set(to, dest);
    return dest;
  }

  private resolve(to: Address): Destination | null {
    let parsed;
    try {
      parsed = parseAddress(to);
    } catch {
      return null;
    }
    if (parsed.port === 0) return null;
    if (parsed.family === 6 && !this.v6) return null;
    if (parsed.family === 4 && this.v6) {
      return this.dualStack ? { host: IPV4_MAPPED + parsed.host, port: parsed.port } : null;
    }
    return { host: parsed.host, port: parsed.port };
  }
}

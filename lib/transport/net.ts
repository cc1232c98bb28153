import net from 'node:net';
import { SystemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { ClusterError } from '../errors.js';
import { formatAddress, parseAddress } from './address.js';
import type { HostPort } from './address.js';
import { checkInteger, DEFAULT_STREAM_HIGH_WATER_MARK, resolveLimits } from './limits.js';
import type { ResolvedLimits } from './limits.js';
import { emptyNetStats } from './net-stats.js';
import type { NetTransportStats } from './net-stats.js';
import { bindError, errnoOf, unreachableError } from './socket-errors.js';
import { listenTcp, TcpStream } from './tcp.js';
import type { BufferBudget } from './tcp.js';
import { UdpEndpoint } from './udp.js';
import type { Address, PacketHandler, Stream, Transport, TransportLimits } from './transport.js';

/** Default port of clusterd, UDP and TCP alike. */
export const DEFAULT_PORT = 7946;

/** Options of {@link NetTransport.listen}. */
export interface NetTransportOptions extends TransportLimits {
  /**
   * IP literal and port to bind, UDP and TCP on the same port; port 0 picks a free one.
   * The family of the address picks udp4 or udp6.
   * @default "0.0.0.0:7946"
   */
  bind?: Address;
  /**
   * Address peers should use to reach us (behind NAT, a container, ...). Must be
   * concrete: a wildcard such as 0.0.0.0 is refused. A missing or 0 port means the
   * bound port.
   * @default the bind address (which must then be concrete)
   */
  advertise?: Address;
  /** Time source for dial and idle timeouts. @default new SystemClock() */
  clock?: Clock;
  /** Close a stream after this many ms without traffic either way; 0 disables. @default 60000 */
  idleTimeoutMs?: number;
  /** Bytes queued on a stream's socket above which `send` refuses messages. @default 4194304 (4 MiB) */
  streamHighWaterMark?: number;
  /** Bytes queued in the UDP socket above which datagrams are dropped. @default 1048576 (1 MiB) */
  packetQueueLimit?: number;
  /** How many ephemeral ports to try when port 0 was asked and TCP finds UDP's port taken. @default 8 */
  bindAttempts?: number;
  /**
   * Bytes of partly received stream messages held across all streams together. A peer
   * that trickles huge messages on many streams could otherwise pin
   * maxStreamMessage × maxInboundStreams; past this budget the stream that grew it is
   * closed (counted in streamErrors and streamsOversize). At least maxStreamMessage.
   * @default 67108864 (64 MiB)
   */
  maxBufferedStreamBytes?: number;
}

interface PendingDial {
  cancel(): void;
}

/**
 * The real-socket transport: UDP datagrams and length-prefixed TCP streams on the
 * same port. Create it with {@link NetTransport.listen}.
 */
export class NetTransport implements Transport {
  readonly advertiseAddress: Address;
  readonly bindAddress: Address;
  readonly stats: NetTransportStats;
  private streamHandler: ((stream: Stream) => void) | undefined;
  private readonly streams = new Set<TcpStream>();
  private inbound = 0;
  private readonly pendingDials = new Set<PendingDial>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private server: net.Server | undefined;

  private constructor(
    private readonly udp: UdpEndpoint,
    private readonly bindHost: string,
    private readonly bindFamily: 4 | 6,
    advertise: Address,
    private readonly limits: ResolvedLimits,
    private readonly settings: { clock: Clock; idleTimeoutMs: number; highWaterMark: number; buffered: BufferBudget },
    stats: NetTransportStats,
  ) {
    this.bindAddress = formatAddress(bindHost, udp.port);
    this.advertiseAddress = advertise;
    this.stats = stats;
  }

  /**
   * Binds UDP, then TCP on the same port. Rejects with ClusterError E_CONFIG for bad
   * options and E_ADDRESS when the address cannot be bound (with the reason: port in
   * use, address not on this host, permission).
   */
  static async listen(options: NetTransportOptions = {}): Promise<NetTransport> {
    const limits = resolveLimits(options);
    const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    const highWaterMark = options.streamHighWaterMark ?? DEFAULT_STREAM_HIGH_WATER_MARK;
    const sendQueueLimit = options.packetQueueLimit ?? 1024 * 1024;
    const attempts = options.bindAttempts ?? 8;
    const maxBuffered = options.maxBufferedStreamBytes ?? 64 * 1024 * 1024;
    checkInteger('maxBufferedStreamBytes', maxBuffered, limits.maxStreamMessage, 2 ** 40);
    checkInteger('idleTimeoutMs', idleTimeoutMs, 0, 2 ** 31 - 1);
    checkInteger('streamHighWaterMark', highWaterMark, 0, 2 ** 32);
    checkInteger('packetQueueLimit', sendQueueLimit, 0, 2 ** 32);
    checkInteger('bindAttempts', attempts, 1, 1000);

    const bind = configAddress('bind', options.bind ?? `0.0.0.0:${DEFAULT_PORT}`, DEFAULT_PORT);
    if (bind.family === 0) {
      throw new ClusterError('E_CONFIG', `bind address "${options.bind}" must be an IP literal, not a host name`);
    }
    let advertise: HostPort | undefined;
    if (options.advertise !== undefined) {
      advertise = configAddress('advertise', options.advertise, 0);
      if (isWildcard(advertise.host)) {
        throw new ClusterError('E_CONFIG', `advertise address "${options.advertise}" must be concrete, not a wildcard: peers cannot send to it`);
      }
    } else if (isWildcard(bind.host)) {
      throw new ClusterError('E_CONFIG', `binding the wildcard ${bind.host} needs an explicit advertise address that peers can reach`);
    }

    const stats = emptyNetStats();
    const clock = options.clock ?? new SystemClock();
    // the TCP listener needs the transport to exist before it accepts, so connections
    // that arrive in between are parked on this indirection
    let accept: (socket: net.Socket) => void = (socket) => socket.destroy();
    for (let attempt = 1; ; attempt++) {
      let udp: UdpEndpoint;
      try {
        udp = await UdpEndpoint.bind({ host: bind.host, port: bind.port, maxPacketSize: limits.maxPacketSize, sendQueueLimit, stats });
      } catch (err) {
        throw bindError(err, 'udp', bind.host, bind.port);
      }
      let server: net.Server;
      try {
        server = await listenTcp(bind.host, udp.port, (socket) => accept(socket));
      } catch (err) {
        await udp.close();
        // with port 0 UDP's free port may be taken for TCP: pick another one
        if (bind.port === 0 && errnoOf(err) === 'EADDRINUSE' && attempt < attempts) continue;
        throw bindError(err, 'tcp', bind.host, udp.port);
      }
      const advertised = advertise
        ? formatAddress(advertise.host, advertise.port === 0 ? udp.port : advertise.port)
        : formatAddress(bind.host, udp.port);
      const transport = new NetTransport(udp, bind.host, bind.family, advertised, limits, { clock, idleTimeoutMs, highWaterMark, buffered: { used: 0, max: maxBuffered } }, stats);
      transport.server = server;
      accept = (socket) => transport.accept(socket);
      return transport;
    }
  }

  sendPacket(to: Address, data: Uint8Array): void {
    this.udp.send(to, data);
  }

  onPacket(handler: PacketHandler): void {
    this.udp.onPacket(handler);
  }

  onStream(handler: (stream: Stream) => void): void {
    this.streamHandler = handler;
  }

  dial(to: Address, timeoutMs: number): Promise<Stream> {
    if (this.closed) return Promise.reject(new ClusterError('E_CLOSED', `cannot dial ${to}: transport is closed`));
    let dest: HostPort;
    try {
      dest = parseAddress(to);
    } catch (err) {
      return Promise.reject(err);
    }
    if (dest.port === 0) return Promise.reject(new ClusterError('E_ADDRESS', `cannot dial ${to}: port 0`));
    return new Promise<Stream>((resolve, reject) => {
      const connectOptions: net.NetConnectOpts = { host: dest.host, port: dest.port };
      // dial from our bound IP so the peer sees the address we live on, not whatever
      // source address routing picks (matters with several 127.0.0.x nodes)
      if (dest.family === this.bindFamily && !isWildcard(this.bindHost)) connectOptions.localAddress = this.bindHost;
      const socket = net.connect(connectOptions);
      // errors after the dial settled (or during destroy) must not become uncaught
      socket.on('error', () => {});
      let settled = false;
      const pending: PendingDial = { cancel: () => settle(new ClusterError('E_CLOSED', `transport closed while dialing ${to}`)) };
      const timer = this.settings.clock.setTimer(timeoutMs, () =>
        settle(new ClusterError('E_TIMEOUT', `dial ${to} timed out after ${timeoutMs} ms`)));
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.pendingDials.delete(pending);
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', onError);
        if (err) {
          socket.destroy();
          reject(err);
          return;
        }
        this.stats.streamsOpened++;
        resolve(this.adopt(socket, to, false));
      };
      const onConnect = (): void => settle();
      const onError = (err: Error): void => settle(unreachableError(err, to));
      socket.once('connect', onConnect);
      socket.once('error', onError);
      this.pendingDials.add(pending);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    for (const dial of [...this.pendingDials]) dial.cancel();
    for (const stream of [...this.streams]) stream.destroy(new ClusterError('E_CLOSED', 'transport closed'));
    const server = this.server;
    await Promise.all([
      this.udp.close(),
      server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined,
    ]);
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.closed || !this.streamHandler) {
      socket.destroy();
      return;
    }
    if (this.inbound >= this.limits.maxInboundStreams) {
      this.stats.streamErrors++;
      this.stats.streamsRefused++;
      socket.destroy();
      return;
    }
    const host = unmapIPv4(socket.remoteAddress ?? '?');
    const stream = this.adopt(socket, formatAddress(host, socket.remotePort ?? 0), true);
    this.stats.streamsAccepted++;
    this.streamHandler(stream);
  }

  private adopt(socket: net.Socket, remote: Address, inbound: boolean): TcpStream {
    if (inbound) this.inbound++;
    const stream = new TcpStream(
      socket,
      remote,
      {
        maxStreamMessage: this.limits.maxStreamMessage,
        highWaterMark: this.settings.highWaterMark,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        clock: this.settings.clock,
        stats: this.stats,
        buffered: this.settings.buffered,
      },
      (gone) => {
        this.streams.delete(gone);
        if (inbound) this.inbound--;
      },
    );
    this.streams.add(stream);
    return stream;
  }
}

function configAddress(name: string, address: Address, defaultPort: number): HostPort {
  try {
    return parseAddress(address, defaultPort);
  } catch (err) {
    throw new ClusterError('E_CONFIG', `${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** True for 0.0.0.0 and :: (in any spelling). */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || (net.isIP(host) === 6 && /^[0:]+$/.test(host));
}

function unmapIPv4(host: string): string {
  return host.startsWith('::ffff:') && net.isIP(host.slice(7)) === 4 ? host.slice(7) : host;
}

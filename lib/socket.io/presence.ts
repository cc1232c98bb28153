import type { ClusterNode } from '../node.js';

/** Mirroring of connected sockets into clusterd presence (the `presence` option of createAdapter). */
export interface PresenceOptions {
  /**
   * The user a socket belongs to, from its handshake (e.g. an id the auth middleware
   * checked: `(h) => String(h.auth.user)`). Sockets of one user are counted as one user.
   */
  user: (handshake: Handshake) => string;
  /** The presence channel of a namespace. @default (nsp) => `socket.io${nsp}` (e.g. `socket.io/`) */
  channel?: (nsp: string) => string;
}

/** The handshake of a socket, as Socket.IO records it. */
export interface Handshake {
  headers: Record<string, string | string[] | undefined>;
  address: string;
  query: Record<string, unknown>;
  auth: Record<string, unknown>;
  [key: string]: unknown;
}

interface Namespace {
  name: string;
  sockets: Map<string, { handshake: unknown }>;
}

/**
 * Keeps one presence entry per connected socket (client id = socket id, written by this
 * node only): the replicated presence then shows every socket of the cluster, and a
 * dead server's entries disappear everywhere when membership declares it dead.
 */
export class PresenceMirror {
  /** Sockets not mirrored because `user` threw or the entry was refused (bad channel, limits). */
  errors = 0;
  private readonly channelOf: (nsp: string) => string;

  constructor(
    private readonly node: ClusterNode,
    private readonly options: PresenceOptions,
  ) {
    this.channelOf = options.channel ?? ((nsp) => `socket.io${nsp}`);
  }

  connected(nsp: Namespace, id: string): void {
    const socket = nsp.sockets.get(id);
    if (!socket) return;
    try {
      this.node.channels.join(this.channelOf(nsp.name), id, this.options.user(socket.handshake as Handshake));
    } catch {
      // the socket works without its presence entry; the count says how many lack one
      this.errors++;
    }
  }

  disconnected(nsp: Namespace, id: string): void {
    try {
      this.node.channels.leave(this.channelOf(nsp.name), id);
    } catch {
      this.errors++;
    }
  }
}

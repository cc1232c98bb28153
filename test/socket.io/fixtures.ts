import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { ServerOptions, Socket as ServerSocket } from 'socket.io';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { ClusterNode } from '../../lib/node.js';
import { NetTransport } from '../../lib/transport/net.js';
import { createAdapter, recoveryHistory } from '../../lib/socket.io/index.js';
import type { AdapterConstructor, Handshake } from '../../lib/socket.io/index.js';
import { FAST_SWIM } from '../integration/fixtures.js';

/** One Socket.IO server embedding its own clusterd node, on 127.0.0.`i`. */
export interface Srv {
  node: ClusterNode;
  io: Server;
  adapter: AdapterConstructor;
  url: string;
}

/** Connection-state recovery settings of a test server: Socket.IO's and the packet channel's retention. */
export interface RecoverySetup {
  maxDisconnectionDuration: number;
  maxPackets: number;
}

/**
 * Starts server `s<i>` on 127.0.0.`i`, joining through `seed` (none: it founds the cluster);
 * with `recovery`, Socket.IO's connectionStateRecovery is on and the node keeps the packets.
 */
export async function startServer(i: number, seed: string | undefined, serverOptions: Partial<ServerOptions> = {}, recovery?: RecoverySetup): Promise<Srv> {
  const transport = await NetTransport.listen({ bind: `127.0.0.${i}:0` });
  const replica = recovery ? { history: { settingsFor: recoveryHistory(recovery) } } : undefined;
  const node = new ClusterNode({ name: `s${i}`, transport, swim: FAST_SWIM, messages: { flushDelayMs: 5 }, ...(replica ? { replica } : {}) });
  node.start();
  await node.join(seed ? [seed] : []);
  const http = createServer();
  const user = (h: Handshake): string => {
    if (h.auth.user === undefined) throw new Error('no user'); // counted in presenceErrors; the socket still works
    return String(h.auth.user);
  };
  const adapter = createAdapter(node, { requestsTimeout: 10_000, presence: { user } });
  const csr = recovery ? { connectionStateRecovery: { maxDisconnectionDuration: recovery.maxDisconnectionDuration } } : {};
  const io = new Server(http, { ...serverOptions, ...csr, adapter });
  await new Promise<void>((r) => http.listen(0, `127.0.0.${i}`, r));
  const { port } = http.address() as AddressInfo;
  io.on('connection', (socket: ServerSocket) => {
    // a recovered socket keeps the data of its session (the server it first connected to)
    if (!socket.recovered) socket.data = { user: socket.handshake.auth.user, server: node.name };
    socket.on('bcast', (...args: unknown[]) => socket.broadcast.emit('woot', ...args));
    socket.on('join', (room: string | number, cb: () => void) => {
      void socket.join(room as string); // Socket.IO types rooms as strings; numbers work (and are tested)
      cb();
    });
  });
  return { node, io, adapter, url: `http://127.0.0.${i}:${port}` };
}

/** A socket.io-client connected to `url` as `user` (websocket only, no reconnection). */
export async function client(url: string, user: string): Promise<ClientSocket> {
  const c = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { user } });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('connect_error', reject);
  });
  return c;
}

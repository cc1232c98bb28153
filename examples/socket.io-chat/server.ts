// One chat server: a Socket.IO server with its own clusterd node. main.ts starts three.
// Usage: node --import=tsx examples/socket.io-chat/server.ts <index 1..3> [seed host:port]
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { ClusterNode, NetTransport } from '../../lib/index.js';
import { createAdapter } from '../../lib/socket.io/index.js';

const index = Number(process.argv[2] ?? 1);
const seed = process.argv[3];
const host = process.env.CHAT_HOST ?? '127.0.0.1';
const httpPort = Number(process.env.CHAT_PORT_BASE ?? 3000) + index;
const page = readFileSync(new URL('./index.html', import.meta.url));

const transport = await NetTransport.listen({ bind: `${host}:${seed ? 0 : Number(process.env.CHAT_SEED_PORT ?? 7946)}` });
const node = new ClusterNode({ name: `chat-${index}`, transport, messages: { flushDelayMs: 5 } });
node.start();
await node.join(seed ? [seed] : []);

const http = createServer((req, res) => {
  // the page may carry ?name=: route on the path alone
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  } else {
    res.writeHead(404).end();
  }
});
// who is online comes from clusterd presence: every node holds every server's sockets
const io = new Server(http, { adapter: createAdapter(node, { presence: { user: (h) => String(h.auth.name ?? 'anonymous').slice(0, 40) } }) });
const online = (): string[] => node.channels.presence('socket.io/').clients.map((c) => `${c.user} (${c.node})`).sort();

io.on('connection', (socket) => {
  socket.emit('welcome', { server: node.name, online: online() });
  socket.on('chat', (text: unknown) => {
    if (typeof text !== 'string' || text.length === 0 || text.length > 500) return;
    io.emit('chat', { from: String(socket.handshake.auth.name ?? 'anonymous'), server: node.name, text });
  });
});
node.channelEvents.on('user-join', () => io.local.emit('online', online()));
node.channelEvents.on('user-leave', () => io.local.emit('online', online()));

await new Promise<void>((r) => http.listen(httpPort, host, r));
process.stdout.write(`${JSON.stringify({ server: node.name, url: `http://${host}:${httpPort}/`, cluster: node.transport.advertiseAddress })}\n`);

const stop = async (): Promise<void> => {
  await io.close();
  await node.leave();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

import net from 'node:net';
import t from 'tap';
import { NetTransport } from '../../lib/transport/net.js';
import type { Stream } from '../../lib/transport/transport.js';

const transport = await NetTransport.listen({ bind: '127.0.0.1:0' });
t.teardown(() => transport.close());
const [host, portText] = transport.bindAddress.split(':') as [string, string];
const port = Number(portText);
const accepted: Stream[] = [];
transport.onStream((s) => accepted.push(s));

/** Opens a raw socket, writes `bytes`, optionally ends, and resolves when the server closed it. */
function attack(bytes: Uint8Array, end = false): Promise<{ closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.write(bytes);
      if (end) socket.end();
    });
    socket.on('error', () => {});
    socket.resume();
    socket.on('close', () => resolve({ closedByServer: true }));
  });
}

function closeReason(stream: Stream): Promise<Error | undefined> {
  return new Promise((resolve) => stream.onClose(resolve));
}

t.test('a 4 GB length prefix is cut off without allocating it', async (t) => {
  const before = process.memoryUsage().arrayBuffers;
  const errors = transport.stats.streamErrors;
  const header = Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
  const result = await attack(header);
  t.ok(result.closedByServer, 'the server closed the connection');
  const stream = accepted.at(-1)!;
  t.match(await closeReason(stream), { code: 'E_LIMIT', message: /4294967295-byte/ });
  t.equal(transport.stats.streamErrors, errors + 1);
  t.equal(transport.stats.streamsOversize, 1);
  t.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no large allocation');
});

t.test('garbage (an HTTP request) is cut off', async (t) => {
  const result = await attack(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  t.ok(result.closedByServer);
  t.match(await closeReason(accepted.at(-1)!), { code: 'E_LIMIT' });
  t.equal(transport.stats.streamsOversize, 2);
});

t.test('a peer that hangs up mid-message ends the stream with E_FRAME_TRUNCATED', async (t) => {
  const messages: Uint8Array[] = [];
  const frame = Buffer.from([0, 0, 0, 3, 7, 7, 7, 0, 0, 0, 10, 1, 2]);
  const closing = attack(frame, true);
  await closing;
  const stream = accepted.at(-1)!;
  stream.onMessage((m) => messages.push(m));
  t.match(await closeReason(stream), { code: 'E_FRAME_TRUNCATED' });
  t.same(messages.map((m) => [...m]), [[7, 7, 7]], 'the whole message before it was delivered');
});

t.test('a message split across many tiny writes is reassembled', async (t) => {
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const stream = await new Promise<Stream>((resolve) => {
    const check = (): void => {
      const last = accepted.at(-1);
      if (last && last.remote.endsWith(`:${socket.localPort}`)) resolve(last);
      else setTimeout(check, 2);
    };
    check();
  });
  const got: Uint8Array[] = [];
  stream.onMessage((m) => got.push(m));
  const payload = Buffer.alloc(1000, 9);
  const frame = Buffer.concat([Buffer.from([0, 0, 0x03, 0xe8]), payload, Buffer.from([0, 0, 0, 0])]);
  for (let i = 0; i < frame.length; i += 97) {
    socket.write(frame.subarray(i, i + 97));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise<void>((resolve) => {
    const check = (): void => (got.length === 2 ? resolve() : void setTimeout(check, 2));
    check();
  });
  t.ok(Buffer.compare(got[0]!, payload) === 0, 'the 1000-byte message');
  t.equal(got[1]!.length, 0, 'then an empty message');
  socket.destroy();
});

t.test('connections beyond maxInboundStreams are dropped at once', async (t) => {
  const small = await NetTransport.listen({ bind: '127.0.0.2:0', maxInboundStreams: 2 });
  t.teardown(() => small.close());
  small.onStream(() => {});
  const [h, p] = small.bindAddress.split(':') as [string, string];
  const sockets = [0, 1].map(() => net.connect({ host: h, port: Number(p) }).on('error', () => {}));
  await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const extra = net.connect({ host: h, port: Number(p) }).on('error', () => {});
  extra.resume();
  await new Promise((resolve) => extra.once('close', resolve));
  t.equal(small.stats.streamsRefused, 1);
  t.equal(small.stats.streamErrors, 1);
  for (const s of sockets) s.destroy();
});

t.test('partly sent messages on many streams cannot pin more than the transport budget', async (t) => {
  const small = await NetTransport.listen({ bind: '127.0.0.1:0', maxStreamMessage: 64 * 1024, maxBufferedStreamBytes: 256 * 1024 });
  t.teardown(() => small.close());
  const closed: (Error | undefined)[] = [];
  small.onStream((s) => s.onClose((err) => closed.push(err)));
  const [h, p] = small.bindAddress.split(':') as [string, string];
  // each peer announces a 60 KiB message and sends 50 KiB of it, then waits
  const partial = Buffer.alloc(4 + 50 * 1024);
  partial.writeUInt32BE(60 * 1024, 0);
  const sockets = Array.from({ length: 8 }, () => {
    const socket = net.connect({ host: h, port: Number(p) }, () => socket.write(partial));
    socket.on('error', () => {});
    return socket;
  });
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const start = Date.now();
  while (closed.length < 3 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  // 256 KiB holds five 50 KiB partial bodies; the three streams that push past it are cut
  t.equal(closed.length, 3, `${closed.length} streams cut`);
  t.ok(closed.every((e) => (e as { code?: string } | undefined)?.code === 'E_LIMIT'), 'each with E_LIMIT');
  t.equal(small.stats.streamsOversize, 3, 'counted');
  await t.rejects(NetTransport.listen({ bind: '127.0.0.1:0', maxStreamMessage: 1024, maxBufferedStreamBytes: 10 }), /maxBufferedStreamBytes/, 'a budget below one message is refused');
});

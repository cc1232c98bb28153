import dgram from 'node:dgram';
import net from 'node:net';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { NetTransport } from '../../lib/transport/net.js';
import type { NetTransportOptions } from '../../lib/transport/net.js';
import type { Stream } from '../../lib/transport/transport.js';
import { conformanceLimits, runConformance } from './conformance.js';

const open: NetTransport[] = [];
t.teardown(() => Promise.all(open.map((x) => x.close())));

async function listen(options: NetTransportOptions): Promise<NetTransport> {
  const transport = await NetTransport.listen(options);
  open.push(transport);
  return transport;
}

function trio(hosts: [string, string, string]) {
  return async () => {
    const [a, b, c] = await Promise.all(hosts.map((host) => NetTransport.listen({ bind: host, ...conformanceLimits })));
    return { a: a!, b: b!, c: c!, cleanup: async () => void (await Promise.all([a!.close(), b!.close(), c!.close()])) };
  };
}

async function ipv6Loopback(): Promise<boolean> {
  const socket = dgram.createSocket('udp6');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(0, '::1', () => {
      socket.close();
      resolve(true);
    });
  });
}

function until(done: () => boolean, what: string, limitMs = 1500): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (done()) resolve();
      else if (Date.now() - start > limitMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 2);
    };
    check();
  });
}

runConformance('NetTransport IPv4', trio(['127.0.0.1:0', '127.0.0.2:0', '127.0.0.3:0']));
if (await ipv6Loopback()) runConformance('NetTransport IPv6', trio(['[::1]:0', '[::1]:0', '[::1]:0']));
else void t.test('NetTransport IPv6', { skip: 'no ::1 on this host' }, () => {});

t.test('binds UDP and TCP on the same port, reports bind and advertise addresses', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0' });
  const port = Number(x.bindAddress.split(':')[1]);
  t.ok(port > 0);
  t.equal(x.advertiseAddress, x.bindAddress, 'advertise defaults to bind');
  const y = await listen({ bind: '127.0.0.1:0', advertise: '127.0.0.9' });
  t.match(y.advertiseAddress, /^127\.0\.0\.9:\d+$/, 'advertise without port takes the bound port');
  t.equal(y.advertiseAddress.split(':')[1], y.bindAddress.split(':')[1]);
  const z = await listen({ bind: '127.0.0.1:0', advertise: 'node-z.example:9000' });
  t.equal(z.advertiseAddress, 'node-z.example:9000', 'advertise may name a host and another port (NAT)');
});

t.test('bind failures reject with a ClusterError that says what is wrong', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0' });
  const port = Number(x.bindAddress.split(':')[1]);
  await t.rejects(NetTransport.listen({ bind: `127.0.0.1:${port}` }), {
    code: 'E_ADDRESS',
    message: `port ${port} on 127.0.0.1 is already in use (udp)`,
  });

  // only the TCP side taken
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tcpPort = (server.address() as net.AddressInfo).port;
  await t.rejects(NetTransport.listen({ bind: `127.0.0.1:${tcpPort}` }), {
    code: 'E_ADDRESS',
    message: `port ${tcpPort} on 127.0.0.1 is already in use (tcp)`,
  });
  // and the UDP socket bound on the way was released
  const retry = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    retry.once('error', reject);
    retry.bind(tcpPort, '127.0.0.1', resolve);
  });
  retry.close();
  server.close();
});

t.test('bad options reject with E_CONFIG', async (t) => {
  await t.rejects(NetTransport.listen({ bind: '0.0.0.0:0' }), { code: 'E_CONFIG', message: /advertise/ });
  await t.rejects(NetTransport.listen({ bind: '127.0.0.1:0', advertise: '0.0.0.0:7946' }), { code: 'E_CONFIG', message: /concrete/ });
  await t.rejects(NetTransport.listen({ bind: '[::]:0', advertise: '[::]:0' }), { code: 'E_CONFIG' });
  await t.rejects(NetTransport.listen({ bind: 'localhost:0' }), { code: 'E_CONFIG', message: /IP literal/ });
  await t.rejects(NetTransport.listen({ bind: '127.0.0.1:99999' }), { code: 'E_CONFIG', message: /port/ });
  await t.rejects(NetTransport.listen({ bind: '127.0.0.1:0', maxPacketSize: 70_000 }), { code: 'E_CONFIG', message: /maxPacketSize/ });
  await t.rejects(NetTransport.listen({ bind: '127.0.0.1:0', idleTimeoutMs: -1 }), { code: 'E_CONFIG' });
});

t.test('dial honours its timeout (virtual clock)', async (t) => {
  const clock = new ManualClock();
  const x = await listen({ bind: '127.0.0.1:0', clock });
  const y = await listen({ bind: '127.0.0.2:0' });
  const dial = x.dial(y.advertiseAddress, 50);
  clock.advance(60);
  await t.rejects(dial, { code: 'E_TIMEOUT', message: /timed out after 50 ms/ });
});

t.test('a dial to a closed port is refused with E_UNREACHABLE', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0' });
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  await t.rejects(x.dial(`127.0.0.1:${port}`, 1000), { code: 'E_UNREACHABLE', message: /connection refused/ });
  await t.rejects(x.dial('nonsense', 1000), { code: 'E_ADDRESS' });
});

t.test('dials leave from the bound address', async (t) => {
  const x = await listen({ bind: '127.0.0.2:0' });
  const y = await listen({ bind: '127.0.0.3:0' });
  const accepted: Stream[] = [];
  y.onStream((s) => accepted.push(s));
  await x.dial(y.advertiseAddress, 1000);
  await until(() => accepted.length === 1, 'accept');
  t.match(accepted[0]!.remote, /^127\.0\.0\.2:\d+$/);
});

t.test('idle streams are closed after idleTimeoutMs', async (t) => {
  const clock = new ManualClock();
  const x = await listen({ bind: '127.0.0.1:0', clock, idleTimeoutMs: 100 });
  const y = await listen({ bind: '127.0.0.2:0' });
  const accepted: Stream[] = [];
  y.onStream((s) => accepted.push(s));
  const s = await x.dial(y.advertiseAddress, 1000);
  let closed: Error | undefined | null = null;
  s.onClose((err) => (closed = err));
  clock.advance(60);
  t.ok(s.send(new Uint8Array(1)), 'traffic resets the idle timer');
  clock.advance(60);
  t.equal(closed, null, 'still open 60 ms after the last message');
  clock.advance(50);
  await until(() => closed !== null, 'idle close');
  t.match(closed, { code: 'E_TIMEOUT', message: /idle/ });
  t.equal(x.stats.streamsIdle, 1);
});

t.test('send refuses when the socket buffer is over the high-water mark, then drains', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0', streamHighWaterMark: 64 * 1024, maxStreamMessage: 1024 * 1024 });
  const y = await listen({ bind: '127.0.0.2:0', maxStreamMessage: 1024 * 1024 });
  let received = 0;
  y.onStream((s) => s.onMessage(() => received++));
  const s = await x.dial(y.advertiseAddress, 1000);
  const chunk = new Uint8Array(1024 * 1024);
  let accepted = 0;
  while (accepted < 256 && s.send(chunk)) accepted++;
  t.ok(accepted < 256, `refused after ${accepted} MiB queued`);
  let drained = false;
  s.onDrain?.(() => (drained = true));
  await until(() => drained, 'drain');
  t.ok(s.send(chunk), 'accepts again after drain');
  await until(() => received === accepted + 1, 'everything accepted is delivered', 5000);
});

t.test('UDP: datagrams to the wrong family or malformed addresses are counted, not thrown', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0' });
  x.sendPacket('[::1]:7946', new Uint8Array(1));
  x.sendPacket('127.0.0.1:0', new Uint8Array(1));
  x.sendPacket('127.0.0.1:x', new Uint8Array(1));
  t.equal(x.stats.packetsUnaddressable, 3);
  t.equal(x.stats.packetsDropped, 3);
  t.equal(x.stats.packetsOut, 0);
});

t.test('UDP: oversized inbound datagrams are dropped and counted', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0', maxPacketSize: 100 });
  const got: number[] = [];
  x.onPacket((d) => got.push(d.length));
  const raw = dgram.createSocket('udp4');
  const port = Number(x.bindAddress.split(':')[1]);
  await new Promise<void>((resolve) => raw.send(new Uint8Array(500), port, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => raw.send(new Uint8Array(50), port, '127.0.0.1', () => resolve()));
  await until(() => got.length === 1 && x.stats.packetsOversize === 1, 'datagrams');
  t.same(got, [50]);
  raw.close();
});

t.test('UDP: send errors are counted, never thrown or crashing', async (t) => {
  const x = await listen({ bind: '127.0.0.1:0' });
  // a broadcast destination without SO_BROADCAST fails in the kernel (EACCES)
  x.sendPacket('127.255.255.255:9', new Uint8Array(4));
  await until(() => x.stats.packetErrors === 1, 'the send error');
  t.equal(x.stats.packetsDropped, 1);
});

import t from 'tap';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { encode } from '@msgpack/msgpack';
import type { ClusterdAdapter } from '../../lib/socket.io/index.js';
import { waitFor } from '../integration/fixtures.js';
import { client as connectClient, startServer } from './fixtures.js';
import type { Srv } from './fixtures.js';

const client = (s: Srv, user: string): Promise<ClientSocket> => connectClient(s.url, user);

/** Collects what each client receives for `event`. */
function record(clients: Record<string, ClientSocket>, event: string): Record<string, unknown[][]> {
  const got: Record<string, unknown[][]> = {};
  for (const [name, c] of Object.entries(clients)) {
    got[name] = [];
    c.on(event, (...args: unknown[]) => got[name]!.push(args));
  }
  return got;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('three Socket.IO servers, each on its own clusterd node, act as one', async (t) => {
  const s1 = await startServer(1, undefined);
  const s2 = await startServer(2, s1.node.transport.advertiseAddress);
  const s3 = await startServer(3, s1.node.transport.advertiseAddress);
  const servers = [s1, s2, s3];
  const clients: Record<string, ClientSocket> = {};
  t.teardown(async () => {
    for (const c of Object.values(clients)) c.disconnect();
    for (const s of servers) {
      await s.io.close();
      await s.node.close();
    }
  });
  await waitFor('every server counts three', () => servers.every((s) => s.node.messages.peers('socket.io').length === 2));
  t.equal(await s1.io.of('/').adapter.serverCount(), 3, 'server count from membership');

  clients.a = await client(s1, 'alice');
  clients.b = await client(s2, 'bob');
  clients.c = await client(s3, 'carol');
  clients.d = await client(s2, 'dave');
  const id = (k: string): string => clients[k]!.id!;
  for (const k of ['a', 'b']) await clients[k]!.emitWithAck('join', 'room1');

  await t.test('io.emit reaches every client on every server, once', async (t) => {
    const got = record(clients, 'hello');
    s2.io.emit('hello', 'world', 42);
    await waitFor('all got hello', () => Object.values(got).every((g) => g.length === 1));
    await sleep(50);
    t.same(got, { a: [['world', 42]], b: [['world', 42]], c: [['world', 42]], d: [['world', 42]] });
  });

  await t.test('to(room) reaches the room only; except and local narrow it', async (t) => {
    const got = record(clients, 'r');
    s3.io.to('room1').emit('r', 1);
    s3.io.to('room1').except(id('b')).emit('r', 2);
    s3.io.except('room1').emit('r', 3);
    s2.io.local.emit('r', 4);
    await waitFor('deliveries', () => got.a!.length === 2 && got.b!.length === 2 && got.c!.length === 1 && got.d!.length === 2);
    await sleep(100);
    // s2's local emit needs no hop: it may overtake s3's, so compare as sets
    const sorted = (k: string): unknown[] => got[k]!.map((g) => g[0]).sort();
    t.same(sorted('a'), [1, 2], 'a: room1 twice');
    t.same(sorted('b'), [1, 4], 'b: room1, excluded, then local to s2');
    t.same(sorted('c'), [3], 'c: outside room1');
    t.same(sorted('d'), [3, 4], 'd: outside room1, and local to s2');
  });

  await t.test('binary payloads cross servers intact; volatile emits too', async (t) => {
    const got = record(clients, 'bin');
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    s1.io.emit('bin', { name: 'blob', bytes });
    await waitFor('binary delivered', () => Object.values(got).every((g) => g.length === 1));
    for (const k of ['b', 'c']) {
      const [payload] = got[k]![0] as [{ name: string; bytes: ArrayBuffer | Buffer }];
      t.equal(payload.name, 'blob');
      t.ok(Buffer.from(payload.bytes as ArrayBuffer).equals(bytes), `${k}: 100,000 bytes equal`);
    }
    // volatile: dropped by a server whose client transport is busy, else delivered
    s1.io.volatile.emit('bin', 'v');
    await waitFor('volatile delivered', () => Object.values(got).every((g) => g.length === 2));
    t.same(got.c![1], ['v']);
  });

  await t.test('emitWithAck collects the acks of clients on every server', async (t) => {
    for (const [k, c] of Object.entries(clients)) c.on('q', (n: number, cb: (r: string) => void) => cb(`${k}${n}`));
    const all = (await s1.io.timeout(3000).emitWithAck('q', 7)) as string[];
    t.same(all.sort(), ['a7', 'b7', 'c7', 'd7']);
    const room = (await s3.io.to('room1').timeout(3000).emitWithAck('q', 8)) as string[];
    t.same(room.sort(), ['a8', 'b8']);
  });

  await t.test('fetchSockets sees remote sockets with rooms and data; remote sockets can be driven', async (t) => {
    const all = await s1.io.fetchSockets();
    t.same(all.map((s) => s.id).sort(), Object.keys(clients).map(id).sort());
    const bob = all.find((s) => s.id === id('b'))!;
    t.same(bob.data, { user: 'bob', server: 's2' });
    t.ok(bob.rooms.has('room1'));
    t.equal(bob.handshake.auth.user, 'bob');
    const inRoom = await s3.io.in('room1').fetchSockets();
    t.same(inRoom.map((s) => s.id).sort(), [id('a'), id('b')].sort());
    const got = record(clients, 'direct');
    bob.emit('direct', 'to bob');
    await waitFor('bob got it', () => got.b!.length === 1);
    t.same(got.b, [['to bob']]);
  });

  await t.test('socketsJoin, socketsLeave and disconnectSockets act on remote sockets', async (t) => {
    s1.io.in(id('c')).socketsJoin('room2');
    s1.io.in(id('d')).socketsJoin(['room2', 'room3']);
    await waitFor('joined on s2 and s3', () => s3.io.of('/').adapter.rooms.get('room2')?.has(id('c')) === true && s2.io.of('/').adapter.rooms.get('room3')?.has(id('d')) === true);
    t.same((await s1.io.in('room2').fetchSockets()).map((s) => s.id).sort(), [id('c'), id('d')].sort());
    s2.io.in('room2').socketsLeave('room2');
    await waitFor('left', () => !s3.io.of('/').adapter.rooms.has('room2') && !s2.io.of('/').adapter.rooms.has('room2'));
    t.same((await s1.io.in('room3').fetchSockets()).map((s) => s.id), [id('d')]);
    const gone = new Promise<string>((r) => clients.d!.once('disconnect', (reason) => r(reason)));
    s1.io.in('room3').disconnectSockets();
    t.equal(await gone, 'io server disconnect');
    delete clients.d;
    await waitFor('d gone from s2', () => s2.io.of('/').sockets.size === 1);
  });

  await t.test('serverSideEmit reaches the other servers; with an ack, their answers come back', async (t) => {
    const seen: string[] = [];
    for (const s of servers) {
      s.io.on('ping', (arg: string, cb?: (r: string) => void) => {
        seen.push(`${s.node.name}:${arg}`);
        cb?.(`pong from ${s.node.name}`);
      });
    }
    s1.io.serverSideEmit('ping', 'x');
    await waitFor('two servers saw it', () => seen.length === 2);
    t.same(seen.sort(), ['s2:x', 's3:x'], 'not the sender');
    const answers = (await s2.io.serverSideEmitWithAck('ping', 'y')) as string[];
    t.same(answers.sort(), ['pong from s1', 'pong from s3']);
  });

  await t.test('sockets are mirrored into clusterd presence on every node', async (t) => {
    const users = (s: Srv): string[] => s.node.channels.presence('socket.io/').clients.map((c) => `${c.user}@${c.node}`).sort();
    await waitFor('presence replicated', () => servers.every((s) => users(s).length === 3));
    t.same(users(s1), ['alice@s1', 'bob@s2', 'carol@s3']);
    t.same(users(s3), users(s1));
    t.equal(s1.adapter.stats().presenceErrors, 0);
    // a socket whose user function throws works, without a presence entry
    const anon = connect(s1.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise<void>((r) => anon.once('connect', () => r()));
    t.equal(s1.adapter.stats().presenceErrors, 1);
    t.ok((await s2.io.fetchSockets()).some((s) => s.id === anon.id), 'the socket is there');
    anon.disconnect();
    await waitFor('anon gone', () => s1.io.of('/').sockets.size === 1);
    t.equal(users(s1).length, 3, 'no entry was made for it');
  });

  await t.test('bad bodies on the topic are refused and counted', async (t) => {
    const before = s2.adapter.stats().rejected;
    s1.node.messages.send('s2', 'socket.io', Uint8Array.of(0xc1));
    s1.node.messages.send('s2', 'socket.io', encode([0, { uid: 'u', nsp: '/', type: 3, data: { opts: { rooms: 'no', except: [] }, packet: { type: 2 } } }]));
    s1.node.messages.send('s2', 'socket.io', encode([9, {}]));
    await waitFor('three refused', () => s2.adapter.stats().rejected === before + 3);
    t.pass('refused');
    // and the bus still works
    const got = record(clients, 'after');
    s1.io.emit('after', 1);
    await waitFor('delivered after garbage', () => got.b!.length === 1);
  });

  await t.test('a message too big to publish is counted and fails its request at once, without crashing', async (t) => {
    const before = s1.adapter.stats().publishErrors;
    const big = Buffer.alloc(5 * 1024 * 1024); // over maxMessageBytes (4 MiB)
    s1.io.serverSideEmit('big', big);
    const started = Date.now();
    const err = await s1.io.serverSideEmitWithAck('big', big).then(() => undefined, (e: Error) => e);
    t.match(err, { code: 'E_LIMIT' }, 'the ack request fails with E_LIMIT');
    t.ok(Date.now() - started < 1000, 'at once, not after requestsTimeout');
    t.equal(s1.adapter.stats().publishErrors, before + 2);
  });

  await t.test("socket.broadcast excludes the sender; Buffer and Uint8Array arrive as binary", async (t) => {
    const got = record(clients, 'woot');
    clients.b!.emit('bcast', [], { a: 'b' }, Buffer.from('asdfasdf'), Uint8Array.of(1, 2, 3, 4));
    await waitFor('woot delivered', () => got.a!.length === 1 && got.c!.length === 1);
    await sleep(100);
    t.equal(got.b!.length, 0, 'not the sender');
    const [arr, map, buf, u8] = got.c![0]! as [unknown, unknown, Buffer, Buffer];
    t.same([arr, map], [[], { a: 'b' }]);
    t.ok(Buffer.isBuffer(buf) && buf.equals(Buffer.from('asdfasdf')));
    t.ok(Buffer.isBuffer(u8) && u8.equals(Buffer.from([1, 2, 3, 4])));
  });

  await t.test('numeric rooms, several rooms at once (delivered once), acks with no client and with a silent one', async (t) => {
    await clients.c!.emitWithAck('join', 123);
    await clients.c!.emitWithAck('join', 'room1');
    const got = record(clients, 'multi');
    s1.io.to(123 as unknown as string).emit('multi', 'n');
    s1.io.to('room1').to(123 as unknown as string).emit('multi', 'm');
    await waitFor('multi delivered', () => got.c!.length === 2 && got.a!.length === 1);
    await sleep(100);
    t.same(got.c, [['n'], ['m']], 'c: numeric room, then the union of two rooms once');
    t.same(got.a, [['m']]);
    t.same(await s2.io.to('nobody-here').timeout(500).emitWithAck('q', 1), [], 'no client: no answer, no error');
    clients.c!.off('q');
    clients.c!.on('q', () => {}); // never acknowledges
    const err = await s2.io.to('room1').timeout(500).emitWithAck('q', 2).then(() => undefined, (e: Error & { responses?: unknown[] }) => e);
    t.ok(err instanceof Error, 'one client silent: the emit times out');
    t.same(err?.responses?.slice().sort(), ['a2', 'b2'], 'with the answers that came');
  });

  await t.test('serverSideEmit times out naming the server that did not answer', async (t) => {
    const adapter = s1.io.of('/').adapter as unknown as ClusterdAdapter;
    adapter.requestsTimeout = 300;
    s3.io.removeAllListeners('ping');
    s3.io.on('ping', () => {}); // never answers
    const err = await s1.io.serverSideEmitWithAck('ping', 'z').then(() => undefined, (e: Error & { responses?: unknown[] }) => e);
    adapter.requestsTimeout = 10_000;
    t.match(err?.message, /timeout reached: missing 1 responses \(s3\)/);
    t.same(err?.responses, ['pong from s2']);
  });

  await t.test('a namespace some servers lack: they answer "absent" at once instead of being waited for', async (t) => {
    const chat1 = s1.io.of('/chat');
    s2.io.of('/chat').on('ping', (cb: (r: string) => void) => cb('chat pong s2'));
    const e = connect(`${s1.url}/chat`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { user: 'erin' } });
    clients.e = e;
    await new Promise<void>((r) => e.once('connect', () => r()));
    e.on('q', (cb: (r: string) => void) => cb('erin'));
    const started = Date.now();
    t.same((await chat1.fetchSockets()).map((s) => s.id), [e.id]);
    t.same(await chat1.serverSideEmitWithAck('ping'), ['chat pong s2']);
    t.same(await chat1.timeout(5000).emitWithAck('q'), ['erin']);
    t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms, not after a timeout`);
    t.ok(s3.adapter.stats().absent >= 3, 's3 answered absent');
  });

  await t.test('a dead server stops counting at once: requests stop waiting for it, its sockets vanish', async (t) => {
    const fetched = s1.io.fetchSockets(); // in flight while s3 dies: it must not wait the 10 s timeout for s3
    await s3.node.close(); // a crash, as seen from the cluster: no leave message
    const started = Date.now();
    await waitFor('s3 dead on s1', () => s1.node.members().find((m) => m.name === 's3')?.state === 'dead', 10_000);
    t.equal(await s1.io.of('/').adapter.serverCount(), 2);
    const ids = (await fetched).map((s) => s.id);
    t.ok(ids.includes(id('a')) && ids.includes(id('b')), 'the in-flight fetch resolved with the live servers');
    const after = (await s1.io.fetchSockets()).map((s) => s.id).sort();
    t.same(after, [id('a'), id('b')].sort(), "carol's socket is gone from fetchSockets");
    await waitFor('carol gone from presence', () => s1.node.channels.presence('socket.io/').clients.every((c) => c.node !== 's3'));
    t.ok(Date.now() - started < 9000, `settled in ${Date.now() - started} ms`);
  });
});

t.test('with connectionStateRecovery on, each server gives its clients an offset every server can resume from', async (t) => {
  const setup = { maxDisconnectionDuration: 60_000, maxPackets: 100 };
  const s7 = await startServer(7, undefined, {}, setup);
  const s8 = await startServer(8, s7.node.transport.advertiseAddress, {}, setup);
  const clients: ClientSocket[] = [];
  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    for (const s of [s7, s8]) {
      await s.io.close();
      await s.node.close();
    }
  });
  await waitFor('two servers', () => s7.node.messages.peers('socket.io').length === 1 && s8.node.messages.peers('socket.io').length === 1);
  const local = await client(s7, 'ann');
  const remote = await client(s8, 'ben');
  clients.push(local, remote);
  const got = record({ local, remote }, 'ev');
  s7.io.emit('ev', 'x');
  await waitFor('both got it', () => got.local!.length === 1 && got.remote!.length === 1);
  const [[x1, o1]] = got.local as [[string, string]];
  const [[x2, o2]] = got.remote as [[string, string]];
  t.same([x1, x2], ['x', 'x']);
  // an offset is the cursor of what its server delivered (decision 0058): a history read
  // after it, on either node, finds nothing more once the packet is replicated
  for (const o of [o1, o2]) {
    t.match(o, /^[A-Za-z0-9_-]+$/, 'a cursor string, which the client keeps');
    for (const s of [s7, s8]) await waitFor('replicated', () => s.node.channels.history('socket.io#/', { after: o }).messages.length === 0 && s.node.channels.history('socket.io#/').messages.length === 1);
  }
  s7.io.volatile.emit('ev', 'v');
  await waitFor('volatile arrived', () => got.local!.length === 2);
  t.same(got.local![1], ['v'], 'a volatile packet gets no offset and is not stored');
  t.equal(s7.node.channels.history('socket.io#/').messages.length, 1);
});

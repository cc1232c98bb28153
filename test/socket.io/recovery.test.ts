import { spawn } from 'node:child_process';
import { connect as netConnect, createServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket as NetSocket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { encode } from '@msgpack/msgpack';
import { encodeAppMessageTrusted } from '../../lib/codec/app-messages.js';
import { emptyCursor, originKey } from '../../lib/replica/cursor.js';
import { advance, handles } from '../../lib/socket.io/recovery.js';
import { encodeEnvelope } from '../../lib/socket.io/wire.js';
import { waitFor } from '../integration/fixtures.js';
import { client, startServer } from './fixtures.js';
import type { RecoverySetup, Srv } from './fixtures.js';

const childScript = fileURLToPath(new URL('./child-server.ts', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy standing for the load balancer: forwards to `target`, or refuses while it is null. */
class Proxy {
  target: { host: string; port: number } | null = null;
  private readonly conns = new Set<NetSocket>();
  private constructor(private readonly server: NetServer) {}

  static async start(host: string): Promise<Proxy> {
    const server = createServer();
    const p = new Proxy(server);
    server.on('connection', (inbound) => p.accept(inbound));
    await new Promise<void>((r) => server.listen(0, host, r));
    return p;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.address}:${a.port}`;
  }

  point(url: string | null): void {
    this.target = url ? { host: new URL(url).hostname, port: Number(new URL(url).port) } : null;
  }

  /** Cuts every forwarded connection (the clients see "transport close"). */
  cut(): void {
    for (const c of this.conns) c.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }

  private accept(inbound: NetSocket): void {
    if (!this.target) return void inbound.destroy();
    const outbound = netConnect(this.target.port, this.target.host);
    this.conns.add(inbound);
    this.conns.add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
      this.conns.delete(inbound);
      this.conns.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  }
}

/** A client through the proxy that reconnects on its own (quickly), recording `ev` packets and connects. */
function balancedClient(url: string, user: string): { c: ClientSocket; got: unknown[][]; connects: boolean[] } {
  const c = connect(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100, randomizationFactor: 0, auth: { user } });
  const got: unknown[][] = [];
  const connects: boolean[] = [];
  c.on('ev', (...args: unknown[]) => got.push(args));
  c.on('connect', () => connects.push(c.recovered));
  return { c, got, connects };
}

const values = (got: unknown[][]): unknown[] => got.map((a) => a[0]);
const sessionsOf = (s: Srv): Map<string, { node: string; rooms: unknown[]; disconnectedAt?: number }> =>
  (s.io.of('/').adapter as unknown as { recovery: { sessions: Map<string, { node: string; rooms: unknown[]; disconnectedAt?: number }> } }).recovery.sessions;

t.test('offsets count what a server delivered per origin, in any arrival order', async (t) => {
  const c = emptyCursor();
  const a = originKey('a', 1);
  advance(c, a, 5); // the first seen of an origin starts its prefix
  advance(c, a, 7); // 6 not delivered (yet)
  t.ok(handles(c, 'a', 1, 4, 0) && handles(c, 'a', 1, 5, 0) && handles(c, 'a', 1, 7, 0));
  t.notOk(handles(c, 'a', 1, 6, 0), 'a hole stays owed');
  t.notOk(handles(c, 'a', 2, 1, 0), 'another epoch of the origin is not handled');
  advance(c, a, 6);
  t.same(c.origins.get(a), { c: 7, extras: [] }, 'the hole filled: the prefix absorbs the extra');
  for (let n = 9; n < 9 + 2 * 80; n += 2) advance(c, a, n); // 80 holes: the oldest are given up, bounded
  t.ok(c.origins.get(a)!.extras.length <= 64);
  const floored = { ...emptyCursor(), floor: { ts: 1000 * 1024 - 1, node: '~', epoch: 0, seq: 0 } };
  t.ok(handles(floored, 'z', 3, 99, 999) && !handles(floored, 'z', 3, 99, 1000), 'below the floor (by wall ms) is handled');
  // what recovery costs per packet, and per session change (docs/socket.io.md quotes these)
  const stored = encode({ d: ['chat', { text: 'hello' }], r: ['room1'], x: [] }).length;
  const session = encodeAppMessageTrusted('web-1', 'socket.io', encodeEnvelope({ kind: 'session', nsp: '/', pid: 'p'.repeat(20), state: 0, sid: 's'.repeat(20), rooms: ['s'.repeat(20), 'room1'], data: { user: 'alice' } })).length;
  t.comment(`history payload of ['chat', {text: 'hello'}] to room1: ${stored} bytes; a session message (2 rooms, data {user}): ${session} bytes`);
  t.ok(stored < 60 && session < 150);
});

const RECOVERY: RecoverySetup = { maxDisconnectionDuration: 60_000, maxPackets: 30 };

t.test('a client whose server is SIGKILLed recovers on another server: every missed packet once, in order, rooms and data kept', async (t) => {
  const s2 = await startServer(32, undefined, {}, RECOVERY);
  const s3 = await startServer(33, s2.node.transport.advertiseAddress, {}, RECOVERY);
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, '31', s2.node.transport.advertiseAddress, JSON.stringify(RECOVERY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const proxy = await Proxy.start('127.0.0.30');
  const clients: ClientSocket[] = [];
  t.teardown(async () => {
    child.kill('SIGKILL');
    for (const c of clients) c.disconnect();
    await proxy.close();
    for (const s of [s2, s3]) {
      await s.io.close();
      await s.node.close();
    }
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  const s1 = JSON.parse(line) as { url: string; name: string };
  await waitFor('three servers counted', () => s2.node.messages.peers('socket.io').length === 2 && s3.node.messages.peers('socket.io').length === 2);

  // alice reaches s31 through the balancer and joins room r; bob, on s33, is in room other
  proxy.point(s1.url);
  const alice = balancedClient(proxy.url, 'alice');
  clients.push(alice.c);
  await waitFor('alice connected', () => alice.connects.length === 1);
  t.same(alice.connects, [false], 'a first connection is not a recovery');
  await alice.c.emitWithAck('join', 'r');
  const bob = await client(s3.url, 'bob');
  clients.push(bob);
  await bob.emitWithAck('join', 'other');
  const sid = alice.c.id!;
  await waitFor("alice's session (in room r) known on s32", () => [...sessionsOf(s2).values()].some((x) => x.node === 's31' && x.rooms.includes('r')));

  // live packets before the kill, from both other servers: each with an offset
  for (let i = 0; i < 4; i++) {
    // (live packets from two servers have no order between them: one at a time)
    (i % 2 ? s3 : s2).io.to('r').emit('ev', i);
    await waitFor(`alice got ${i}`, () => alice.got.length === i + 1);
  }
  t.same(values(alice.got), [0, 1, 2, 3]);
  t.ok(alice.got.every((a) => typeof a[1] === 'string' && (a[1] as string).length > 0), 'each packet carries an offset');
  t.comment(`offset of a packet with 3 servers publishing: ${String(alice.got[3]![1]).length} characters`);

  // s31's last words: a packet s31 publishes reaches alice and s32 live, and s31 dies
  // right after, most likely before its replication flush (100 ms): nobody else may ever
  // hold it, which must not stop alice's recovery (she had it)
  const carol = await client(s1.url, 'carol');
  const dave = await client(s2.url, 'dave');
  clients.push(carol, dave);
  const woot = { alice: 0, dave: 0 };
  alice.c.on('woot', () => woot.alice++);
  dave.on('woot', () => woot.dave++);
  carol.emit('bcast', 'last words');
  await waitFor('the last words reached alice and s32', () => woot.alice === 1 && woot.dave === 1);

  // s31 dies; the balancer sends nobody anywhere until the packets below were emitted
  proxy.point(null);
  child.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor('alice lost her connection', () => !alice.c.connected);
  const missed: unknown[] = [];
  for (let i = 4; i < 24; i++) {
    const from = i % 2 ? s3 : s2;
    if (i % 5 === 0) {
      from.io.emit('ev', i); // to everyone
      missed.push(i);
    } else if (i % 7 === 0) {
      from.io.to('other').emit('ev', i); // not alice's room: not for her
    } else {
      from.io.to('r').emit('ev', Buffer.from([i])); // binary survives storage too
      missed.push(i);
    }
    await sleep(3); // a later wall millisecond: the merged order is the emission order
  }
  const before = alice.got.length;
  proxy.point(s2.url);
  await waitFor('alice reconnected', () => alice.connects.length === 2, 8000);
  t.comment(`reconnected ${Date.now() - killedAt} ms after the kill`);
  t.same(alice.connects, [false, true], 'socket.recovered === true on the client');
  await waitFor('the missed packets arrived', () => alice.got.length >= before + missed.length, 3000);
  await sleep(100); // nothing more may come
  const replay = alice.got.slice(before).map((a) => (a[0] instanceof Uint8Array || Buffer.isBuffer(a[0]) ? (a[0] as Uint8Array)[0] : a[0]));
  t.same(replay, missed, 'every missed packet, once, in order, none for other rooms');
  t.equal(alice.c.id, sid, 'the same socket id');
  t.equal(woot.alice, 1, 'the last words of s31 were not replayed (she had them)');
  const [onS2] = await s2.io.in('r').fetchSockets();
  t.equal(onS2?.id, sid, 'alice is in room r again, now on s32');
  t.same(onS2?.data, { user: 'alice', server: 's31' }, 'socket.data of the session (set on s31)');
  t.ok((await s2.io.fetchSockets()).find((s) => s.id === sid)?.rooms.has('r'));
  t.equal(s2.adapter.stats().recovered, 1);

  // live again: the next packet once, with an offset that recovers her again elsewhere
  s3.io.to('r').emit('ev', 'after');
  await waitFor('the next one', () => alice.got.length === before + missed.length + 1);
  t.same(alice.got.at(-1)?.[0], 'after');

  // recovery must fail when what she missed is no longer held: 30 packets kept, 40 emitted
  await waitFor("alice's session on s33 says s32", () => [...sessionsOf(s3).values()].some((x) => x.node === 's32' && x.disconnectedAt === undefined));
  proxy.point(null);
  proxy.cut();
  await waitFor('alice disconnected again', () => !alice.c.connected);
  await waitFor('s33 knows she left s32', () => [...sessionsOf(s3).values()].some((x) => x.disconnectedAt !== undefined && x.node === 's32'));
  for (let i = 0; i < 40; i++) s3.io.to('r').emit('ev', `lost-${i}`);
  proxy.point(s3.url);
  await waitFor('alice connected to s33', () => alice.connects.length === 3, 8000);
  t.same(alice.connects, [false, true, false], 'not recovered: packets she missed were dropped (cap 30)');
  t.notOk(alice.got.some((a) => String(a[0]).startsWith('lost-')), 'and none of them replayed');
  t.equal(s3.adapter.stats().refused, 1, 'counted as refused');
});

t.test('a session past maxDisconnectionDuration is not recovered', async (t) => {
  const short: RecoverySetup = { maxDisconnectionDuration: 800, maxPackets: 100 };
  const a = await startServer(34, undefined, {}, short);
  const b = await startServer(35, a.node.transport.advertiseAddress, {}, short);
  const proxy = await Proxy.start('127.0.0.30');
  const clients: ClientSocket[] = [];
  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    await proxy.close();
    for (const s of [a, b]) {
      await s.io.close();
      await s.node.close();
    }
  });
  await waitFor('two servers', () => a.node.messages.peers('socket.io').length === 1);
  proxy.point(a.url);
  const x = balancedClient(proxy.url, 'xavier');
  clients.push(x.c);
  await waitFor('connected', () => x.connects.length === 1);
  a.io.emit('ev', 1);
  await waitFor('got one', () => x.got.length === 1);
  await waitFor('session on b', () => sessionsOf(b).size === 1);
  // a recoverable disconnection (transport close) while a stays up: a persists the session
  proxy.point(null);
  proxy.cut();
  await waitFor('b knows it is disconnected', () => [...sessionsOf(b).values()].every((s) => s.disconnectedAt !== undefined));
  a.io.emit('ev', 2);
  // quick: recovered on the other server
  proxy.point(b.url);
  await waitFor('reconnected', () => x.connects.length === 2);
  t.same(x.connects, [false, true], 'recovered within maxDisconnectionDuration');
  await waitFor('missed one', () => x.got.length === 2);
  t.same(values(x.got), [1, 2]);
  // away longer than 800 ms: not recovered
  proxy.point(null);
  proxy.cut();
  await waitFor('disconnected', () => !x.c.connected);
  await sleep(1000);
  proxy.point(a.url);
  await waitFor('reconnected again', () => x.connects.length === 3, 5000);
  t.same(x.connects, [false, true, false], 'expired: not recovered');
});

import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { WebSocket } from 'ws';
import { toHttpError } from '../../lib/http/http-api.js';
import { WsApi } from '../../lib/http/ws-api.js';
import type { WsApiOptions } from '../../lib/http/ws-api.js';
import { call, startTestAgent, waitFor } from '../daemon/fixtures.js';

interface Answer { id: string | number | null; ok: boolean; status?: number; result?: Record<string, unknown>; error?: { status: number; code: string; message: string } }
interface Item { type: 'message' | 'gap'; channel: string; message?: { id: string; data: unknown }; gaps?: unknown[]; cursor: string }

/** A /v2/ws client for tests: sends frames, collects answers (by id) and pushed items apart. */
async function connect(url: string, query = '', protocol?: string): Promise<{ ws: WebSocket; answers: Answer[]; items: Item[]; send: (frame: unknown) => void; next: (n: number) => Promise<Answer[]> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v2/ws${query}`, protocol !== undefined ? [protocol] : []);
  const answers: Answer[] = [];
  const items: Item[] = [];
  const msgpack = protocol === 'clusterd.v2.msgpack';
  ws.on('message', (d, isBinary) => {
    const v = (msgpack ? decode(d as Buffer) : JSON.parse(String(d))) as Answer & Item;
    if (isBinary !== msgpack) throw new Error(`a ${isBinary ? 'binary' : 'text'} frame on a ${protocol ?? 'json'} connection`);
    if ('ok' in v) answers.push(v);
    else items.push(v);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let seen = 0;
  return {
    ws,
    answers,
    items,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : msgpack ? encode(frame) : JSON.stringify(frame)),
    next: async (n) => {
      await waitFor(`${n} answers`, () => answers.length >= seen + n, 5000);
      seen += n;
      return answers.slice(seen - n, seen);
    },
  };
}

t.test('publish with acks: many in flight, each answer carries its id, in order', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const c = await connect(url);
  t.teardown(() => c.ws.close());
  // ids are the client's: any strings or integers, in any order
  const ids = ['z', 7, 'a-1', 3, 'm'];
  for (const [i, id] of ids.entries()) c.send({ id, op: 'publish', channel: 'chat', data: { n: i } });
  const acks = await c.next(ids.length);
  t.same(acks.map((a) => a.id), ids, 'one answer per request, in the order sent');
  for (const a of acks) t.match(a, { ok: true, status: 201, result: { id: String, cursor: String, duplicate: false } });
  c.send({ id: 'dup1', op: 'publish', channel: 'chat', data: 1, idempotencyKey: 'k' });
  c.send({ id: 'dup2', op: 'publish', channel: 'chat', data: 1, idempotencyKey: 'k' });
  const [d1, d2] = await c.next(2);
  t.match(d2, { id: 'dup2', ok: true, status: 200, result: { duplicate: true, id: d1!.result!.id } });
  // history over the same connection, after a cursor
  c.send({ id: 'h', op: 'history', channel: 'chat', limit: 2, after: acks[2]!.result!.cursor });
  const [h] = await c.next(1);
  t.same((h!.result!.messages as { data: unknown }[]).map((m) => m.data), [{ n: 3 }, { n: 4 }]);
  t.equal(((await call(`${url}/v1/channels/chat/messages`)).body.messages as unknown[]).length, 6, 'what was acked is in history');
});

t.test('bad frames get a precise error and leave the connection usable; an oversize frame closes it', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const c = await connect(url);
  const cases: [unknown, string | number | null, number, string, RegExp][] = [
    ['{"id": 1, "op": ', null, 400, 'E_BAD_JSON', /not valid JSON/],
    ['[1]', null, 400, 'E_BAD_JSON', /JSON object/],
    [{ op: 'publish', channel: 'a', data: 1 }, null, 400, 'E_INVALID_ARGUMENT', /"id"/],
    [{ id: 1, channel: 'a' }, 1, 400, 'E_MISSING_FIELD', /"op"/],
    [{ id: 2, op: 'subscribe-all-the-things' }, 2, 400, 'E_UNKNOWN_OP', /unknown op/],
    [{ id: 3, op: 'publish', channel: 'a' }, 3, 400, 'E_MISSING_FIELD', /"data"/],
    [{ id: 4, op: 'publish', channel: 'bad name', data: 1 }, 4, 400, 'E_BAD_CHANNEL', /channel name/],
    [{ id: 5, op: 'publish', channel: 'a', data: 1, colour: 'red' }, 5, 400, 'E_UNKNOWN_FIELD', /"colour"/],
    [{ id: 6, op: 'publish', channel: 'a', data: 1, headers: { h: 1 } }, 6, 400, 'E_INVALID_ARGUMENT', /headers/],
    [{ id: 7, op: 'publish', channel: 'a', data: 'x'.repeat(70 * 1024) }, 7, 413, 'E_LIMIT', /limit/],
    [{ id: 8, op: 'history', channel: 'a', limit: 'ten' }, 8, 400, 'E_INVALID_ARGUMENT', /limit/],
    [{ id: 9, op: 'presence.leave', channel: 'a', clientId: 'nobody' }, 9, 404, 'E_NOT_FOUND', /not joined/],
  ];
  for (const [frame, id, status, code, message] of cases) {
    c.send(frame);
    const [a] = await c.next(1);
    t.match(a, { id, ok: false, error: { status, code, message } }, `${code}: ${JSON.stringify(frame).slice(0, 60)}`);
  }
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  t.match((await c.next(1))[0], { ok: false, error: { code: 'E_BAD_FRAME' } });
  c.send({ id: 'still', op: 'publish', channel: 'a', data: 1 });
  t.match((await c.next(1))[0], { id: 'still', ok: true }, 'the connection is still usable');
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  c.send({ id: 'big', op: 'publish', channel: 'a', data: 'x'.repeat(1024 * 1024) });
  t.equal(await closed, 1009, 'a frame over 1 MiB closes with 1009');
});

t.test('presence is bound to the connection: the socket closes, the client leaves on every node', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  const b = await startTestAgent({ join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  const clients = async (url: string): Promise<string[]> => ((await call(`${url}/v1/channels/room/presence`)).body.clients as { clientId: string }[]).map((x) => x.clientId).sort();
  const c = await connect(a.url);
  c.send({ id: 1, op: 'presence.join', channel: 'room', clientId: 'c1', user: 'ann', info: { mood: 'ok' } });
  c.send({ id: 2, op: 'presence.join', channel: 'room', clientId: 'c2', user: 'bob' });
  c.send({ id: 3, op: 'presence.update', channel: 'room', clientId: 'c1', info: { mood: 'great' } });
  t.match(await c.next(3), [{ id: 1, ok: true, result: { client: { clientId: 'c1', user: 'ann' } } }, { id: 2, ok: true }, { id: 3, ok: true }]);
  await waitFor('both clients on the other node', async () => (await clients(b.url)).join() === 'c1,c2');
  c.send({ id: 4, op: 'presence.leave', channel: 'room', clientId: 'c2' });
  t.match(await c.next(1), [{ id: 4, ok: true, result: { left: true } }]);
  c.ws.close();
  await waitFor('presence gone on the node the socket was on', async () => (await clients(a.url)).length === 0);
  await waitFor('presence gone on the other node', async () => (await clients(b.url)).length === 0);
  t.pass('the closed connection left everywhere');
});

/** A WsApi with its own options on a plain server, over a real agent's channels. */
async function standalone(t: { teardown: (fn: () => Promise<void>) => void }, opts: WsApiOptions): Promise<string> {
  const { agent, stop } = await startTestAgent();
  const api = new WsApi(() => agent.node.channels, toHttpError, opts);
  const server = createServer();
  server.on('upgrade', (req, socket, head) => api.handle(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    api.closeAll();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await stop();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('plain GET on /v2/ws gets 426; with --token the upgrade needs it', async (t) => {
  const { url, stop } = await startTestAgent({ token: 'sekrit-token-123' });
  t.teardown(stop);
  const auth = { authorization: 'Bearer sekrit-token-123' };
  t.match(await call(`${url}/v2/ws`, 'GET', undefined, auth), { status: 426, body: { error: { code: 'E_UPGRADE_REQUIRED' } } });
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v2/ws`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
  t.equal(refused, 401, 'no token: 401');
  const c = await connect(url, '?token=sekrit-token-123');
  c.send({ id: 1, op: 'publish', channel: 'a', data: 1 });
  t.match((await c.next(1))[0], { id: 1, ok: true });
  c.ws.close();
});

t.test('a client that floods gets E_RATE_LIMITED per request, and service again once it slows', async (t) => {
  const c = await connect(await standalone(t, { maxRequestsPerSecond: 50 }));
  t.teardown(() => c.ws.close());
  for (let i = 0; i < 80; i++) c.send({ id: i, op: 'history', channel: 'a' });
  const all = await c.next(80);
  const limited = all.filter((a) => a.error?.code === 'E_RATE_LIMITED');
  t.ok(limited.length >= 20 && limited.length <= 30, `${limited.length} of 80 refused (a bucket of 50)`);
  t.match(limited[0], { ok: false, error: { status: 429, message: /more than 50 requests per second/ } });
  await new Promise((r) => setTimeout(r, 200));
  c.send({ id: 'later', op: 'history', channel: 'a' });
  t.match((await c.next(1))[0], { id: 'later', ok: true });
});

t.test('a client that does not read is disconnected at the buffer bound', async (t) => {
  const url = await standalone(t, { maxBufferedBytes: 256 * 1024 });
  const c = await connect(url);
  c.send({ id: 'fill', op: 'publish', channel: 'big', data: 'x'.repeat(60 * 1024) });
  await c.next(1);
  // stop reading; ask for the 60 KiB message again and again
  (c.ws as unknown as { _socket: { pause: () => void } })._socket.pause();
  let isClosed = false;
  const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
  void closed.then(() => (isClosed = true));
  let sent = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 20 && c.ws.readyState === WebSocket.OPEN; i++) c.send({ id: sent++, op: 'history', channel: 'big' });
  }, 5);
  await Promise.race([closed, new Promise((r) => setTimeout(r, 8000))]);
  clearInterval(timer);
  t.ok(isClosed, 'the agent closed the connection');
  if (!isClosed) c.ws.terminate();
  t.ok(sent < 5000, `disconnected after ${sent} requests of 60 KiB answers`);
});

t.test('subscribe with a cursor read on another agent: exactly the messages after it, once, then live', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  const b = await startTestAgent({ join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  for (let i = 1; i <= 5; i++) t.equal((await call(`${a.url}/v1/channels/feed/messages`, 'POST', { data: { i } })).status, 201);
  // the reader read the first three on agent A
  const read = (await call(`${a.url}/v1/channels/feed/messages?limit=3&after=start`)).body as { messages: { data: { i: number } }[]; cursor: string };
  t.same(read.messages.map((m) => m.data.i), [1, 2, 3]);
  await waitFor('agent B holds the five', async () => ((await call(`${b.url}/v1/channels/feed/messages`)).body.messages as unknown[]).length === 5);
  const c = await connect(b.url);
  t.teardown(() => c.ws.close());
  c.send({ id: 's', op: 'subscribe', channel: 'feed', cursor: read.cursor });
  const [ack] = await c.next(1);
  t.match(ack, { id: 's', ok: true, status: 200, result: { channel: 'feed', cursor: String } });
  await waitFor('the two after the cursor', () => c.items.length >= 2, 5000);
  t.equal(c.answers.length, 1, 'the answer came before the items');
  // live: published on A, pushed by B
  t.equal((await call(`${a.url}/v1/channels/feed/messages`, 'POST', { data: { i: 6 } })).status, 201);
  await waitFor('the live one', () => c.items.length >= 3, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  t.same(c.items.map((x) => [x.type, x.channel, (x.message?.data as { i: number }).i]), [['message', 'feed', 4], ['message', 'feed', 5], ['message', 'feed', 6]], 'exactly 4, 5, 6, once each');
  // each item's cursor resumes after it, on either agent
  const rest = (await call(`${a.url}/v1/channels/feed/messages?after=${encodeURIComponent(c.items[1]!.cursor)}`)).body.messages as { data: { i: number } }[];
  t.same(rest.map((m) => m.data.i), [6], 'an item\'s cursor resumes after it');
  // a second subscribe to the same channel, unsubscribe, unsubscribe again
  c.send({ id: 'again', op: 'subscribe', channel: 'feed' });
  c.send({ id: 'u', op: 'unsubscribe', channel: 'feed' });
  c.send({ id: 'u2', op: 'unsubscribe', channel: 'feed' });
  t.match(await c.next(3), [
    { id: 'again', ok: false, error: { status: 409, code: 'E_CONFLICT', message: /already subscribed/ } },
    { id: 'u', ok: true, result: { channel: 'feed', cursor: c.items[2]!.cursor } },
    { id: 'u2', ok: false, error: { status: 404, code: 'E_NOT_FOUND', message: /not subscribed/ } },
  ]);
  await call(`${b.url}/v1/channels/feed/messages`, 'POST', { data: { i: 7 } });
  await new Promise((r) => setTimeout(r, 200));
  t.equal(c.items.length, 3, 'nothing after unsubscribe');
});

t.test('subscribe: a bad cursor gets E_BAD_CURSOR and leaves the connection usable; the count per connection is bounded', async (t) => {
  const c = await connect(await standalone(t, { maxSubscriptions: 2 }));
  t.teardown(() => c.ws.close());
  const cases: [unknown, number, string, RegExp][] = [
    [{ id: 1, op: 'subscribe', channel: 'x', cursor: 'not-a-cursor' }, 400, 'E_BAD_CURSOR', /cursor/],
    [{ id: 2, op: 'subscribe', channel: 'x', cursor: '' }, 400, 'E_BAD_CURSOR', /cursor/],
    [{ id: 3, op: 'subscribe', channel: 'x', cursor: 42 }, 400, 'E_BAD_CURSOR', /cursor/],
    [{ id: 4, op: 'subscribe' }, 400, 'E_MISSING_FIELD', /"channel"/],
    [{ id: 5, op: 'subscribe', channel: 'x', from: 'start' }, 400, 'E_UNKNOWN_FIELD', /"from"/],
    [{ id: 6, op: 'subscribe', channel: 'bad name' }, 400, 'E_BAD_CHANNEL', /channel name/],
  ];
  for (const [frame, status, code, message] of cases) {
    c.send(frame);
    t.match((await c.next(1))[0], { id: (frame as { id: number }).id, ok: false, error: { status, code, message } }, code);
  }
  c.send({ id: 'p', op: 'publish', channel: 'y', data: 'first' });
  const [p] = await c.next(1);
  // a cursor of another channel is refused too
  c.send({ id: 7, op: 'subscribe', channel: 'x', cursor: p!.result!.cursor });
  t.match((await c.next(1))[0], { id: 7, ok: false, error: { status: 400, code: 'E_BAD_CURSOR' } });
  c.send({ id: 8, op: 'subscribe', channel: 'x' });
  c.send({ id: 9, op: 'subscribe', channel: 'y', cursor: 'start' });
  c.send({ id: 10, op: 'subscribe', channel: 'z' });
  t.match(await c.next(3), [{ id: 8, ok: true }, { id: 9, ok: true }, { id: 10, ok: false, error: { status: 413, code: 'E_LIMIT', message: /at most 2 subscriptions/ } }]);
  await waitFor('the replay from start', () => c.items.length === 1, 5000);
  t.match(c.items[0], { type: 'message', channel: 'y', message: { data: 'first' } }, '"start" replays what is held');
  c.send({ id: 11, op: 'publish', channel: 'x', data: 'live' });
  await waitFor('the live item', () => c.items.length === 2, 5000);
  t.match(c.items[1], { type: 'message', channel: 'x', message: { data: 'live' } }, 'the connection still works');
});

t.test('a subscriber that does not read its items is disconnected at the buffer bound', async (t) => {
  const url = await standalone(t, { maxBufferedBytes: 256 * 1024 });
  const c = await connect(url);
  const pub = await connect(url);
  t.teardown(() => pub.ws.close());
  c.send({ id: 's', op: 'subscribe', channel: 'big' });
  await c.next(1);
  (c.ws as unknown as { _socket: { pause: () => void } })._socket.pause();
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  let sent = 0;
  // the publisher reads its acks; only the subscriber's items pile up. The paused
  // subscriber learns of the close when it next writes (a ping)
  while (!isClosed && sent < 1000) {
    pub.send({ id: sent++, op: 'publish', channel: 'big', data: 'x'.repeat(60 * 1024) });
    const [ack] = await pub.next(1);
    if (!ack!.ok) throw new Error(`publish refused: ${JSON.stringify(ack)}`);
    if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
  }
  t.ok(isClosed, `the subscriber was let go after ${sent} messages of 60 KiB`);
  t.ok(sent < 1000);
});

t.test('msgpack frames under clusterd.v2.msgpack: the same ops, answers, items and errors', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const c = await connect(url, '', 'clusterd.v2.msgpack');
  t.teardown(() => c.ws.close());
  t.equal(c.ws.protocol, 'clusterd.v2.msgpack', 'the agent chose the subprotocol');
  c.send({ id: 1, op: 'subscribe', channel: 'm' });
  c.send({ id: 2, op: 'publish', channel: 'm', data: { text: 'hé', n: [1, 2.5, null, true] }, headers: { k: 'v' } });
  c.send({ id: 3, op: 'presence.join', channel: 'm', clientId: 'c1', user: 'ann' });
  c.send({ id: 4, op: 'history', channel: 'm' });
  const [s, p, j, h] = await c.next(4);
  t.match(s, { id: 1, ok: true, result: { cursor: String } });
  t.match(p, { id: 2, ok: true, status: 201, result: { id: String, cursor: String, duplicate: false } });
  t.match(j, { id: 3, ok: true, result: { client: { clientId: 'c1', user: 'ann' } } });
  t.same((h!.result!.messages as { data: unknown }[]).map((m) => m.data), [{ text: 'hé', n: [1, 2.5, null, true] }]);
  await waitFor('the item', () => c.items.length === 1, 5000);
  t.match(c.items[0], { type: 'message', channel: 'm', message: { data: { text: 'hé' }, headers: { k: 'v' } }, cursor: String });
  // what a JSON reader of the same message sees is the same
  t.same(((await call(`${url}/v1/channels/m/messages`)).body.messages as { data: unknown }[])[0]!.data, { text: 'hé', n: [1, 2.5, null, true] });
  const bad: [unknown, string | number | null, string, RegExp][] = [
    [Buffer.from([0x93, 0x01]), null, 'E_BAD_MSGPACK', /not valid msgpack/],
    [Buffer.from([0xc1]), null, 'E_BAD_MSGPACK', /0xc1/],
    [encode([1, 2]), null, 'E_BAD_MSGPACK', /msgpack map/],
    [encode({ id: 5, op: 'publish', channel: 'm', data: new Uint8Array([1, 2]) }), 5, 'E_BAD_MSGPACK', /frame\.data is binary/],
    [encode({ id: 6, op: 'subscribe', channel: 'q', cursor: 'junk' }), 6, 'E_BAD_CURSOR', /cursor/],
    [encode({ id: 7, op: 'nope' }), 7, 'E_UNKNOWN_OP', /unknown op/],
    ['{"id": 8, "op": "history", "channel": "m"}', null, 'E_BAD_FRAME', /binary frames/],
  ];
  for (const [frame, id, code, message] of bad) {
    c.ws.send(frame as Buffer | string);
    t.match((await c.next(1))[0], { id, ok: false, error: { status: 400, code, message } }, code);
  }
  c.send({ id: 'still', op: 'history', channel: 'm' });
  t.match((await c.next(1))[0], { id: 'still', ok: true }, 'the connection is still usable');
});

t.test('subprotocols: clusterd.v2.json is JSON; an offer of only unknown ones is refused with 400', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const c = await connect(url, '', 'clusterd.v2.json');
  t.equal(c.ws.protocol, 'clusterd.v2.json');
  c.send({ id: 1, op: 'history', channel: 'a' });
  t.match((await c.next(1))[0], { id: 1, ok: true });
  c.ws.close();
  const refused = await new Promise<{ status: number; body: string }>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v2/ws`, ['mqtt']);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => {});
  });
  t.equal(refused.status, 400);
  t.match(JSON.parse(refused.body), { error: { code: 'E_BAD_REQUEST', message: /unsupported WebSocket subprotocol "mqtt"/ } });
});

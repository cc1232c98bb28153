import t from 'tap';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { call, startTestAgent, waitFor } from '../daemon/fixtures.js';

const TOKEN = 'sekrit-token-123';

t.test('reads and the API contract shapes', async (t) => {
  const { agent, url, stop } = await startTestAgent();
  t.teardown(stop);
  const health = await call(`${url}/v1/health`);
  t.equal(health.status, 200);
  t.match(health.body, { status: 'ok', name: agent.node.name });
  t.type(health.body.ready, 'boolean');
  const members = await call(`${url}/v1/members`);
  t.match(members.body, { members: [{ name: agent.node.name, state: 'alive', incarnation: Number, roles: [], meta: { tags: { 'clusterd-api': url } } }] });
  const self = await call(`${url}/v1/self`);
  t.equal(self.body.name, agent.node.name);
  t.equal(self.body.http, agent.httpAddress);
  t.match((await call(`${url}/v1/brokers`)).body, { brokers: [] });
  const metrics = await call(`${url}/metrics`);
  t.equal(metrics.status, 200);
  t.match(metrics.text, /clusterd_members\{state="alive"\} 1/);
  t.match(metrics.text, /clusterd_http_requests_total\{method="GET",route="GET \/v1\/health",status="200"\} 1/);
});

t.test('errors name the problem', async (t) => {
  const { url, stop } = await startTestAgent({ maxBodyBytes: 2048 });
  t.teardown(stop);
  const cases: [string, string, unknown, number, string, RegExp][] = [
    ['GET', '/v1/nope', undefined, 404, 'E_NOT_FOUND', /no route GET \/v1\/nope/],
    ['DELETE', '/v1/members', undefined, 405, 'E_METHOD_NOT_ALLOWED', /allowed: GET/],
    ['GET', '/v1/members?bogus=1', undefined, 400, 'E_BAD_QUERY', /unknown query parameter "bogus"/],
    ['GET', '/v1/members?state=zombie', undefined, 400, 'E_BAD_QUERY', /state must be/],
    ['POST', '/v1/channels/chat/messages', '{"data": 1', 400, 'E_BAD_JSON', /not valid JSON/],
    ['POST', '/v1/channels/chat/messages', '[1]', 400, 'E_BAD_JSON', /JSON object/],
    ['POST', '/v1/channels/chat/messages', { data: 1, colour: 'red' }, 400, 'E_UNKNOWN_FIELD', /unknown field "colour"/],
    ['POST', '/v1/channels/chat/messages', { headers: {} }, 400, 'E_MISSING_FIELD', /missing required field "data"/],
    ['POST', '/v1/channels/chat/messages', { data: 1, headers: { a: 1 } }, 400, 'E_INVALID_ARGUMENT', /headers/],
    ['POST', '/v1/channels/bad%20name/messages', { data: 1 }, 400, 'E_BAD_CHANNEL', /channel name/],
    ['POST', '/v1/channels/%E0%A4%A/messages', { data: 1 }, 400, 'E_BAD_REQUEST', /percent-encoding/],
    ['POST', '/v1/channels/chat/messages', { data: 'x'.repeat(4000) }, 413, 'E_TOO_LARGE', /limit of 2048 bytes|limit is 2048/],
    ['GET', '/v1/channels/chat/messages?limit=0', undefined, 400, 'E_BAD_QUERY', /limit/],
    ['GET', '/v1/channels/chat/messages?limit=abc', undefined, 400, 'E_BAD_QUERY', /limit/],
    ['PUT', '/v1/channels/chat/presence/c1', { info: {} }, 400, 'E_MISSING_FIELD', /"user"/],
    ['POST', '/v1/join', { seeds: 'x' }, 400, 'E_INVALID_ARGUMENT', /seeds/],
    ['POST', '/v1/join', { seeds: ['nope:nope'] }, 400, 'E_INVALID_ARGUMENT', /seed/],
    ['GET', '/v1/events?types=gossip', undefined, 400, 'E_BAD_QUERY', /unknown event type "gossip"/],
    ['GET', '/v1/faults', undefined, 404, 'E_NOT_FOUND', /--enable-faults/],
    ['POST', '/v1/keys/install', { key: Buffer.alloc(32).toString('base64') }, 409, 'E_KEYRING', /encryption is off/],
    ['POST', '/v1/keys/install', { key: 'short' }, 409, 'E_KEYRING', /encryption is off/],
  ];
  for (const [method, path, body, status, code, message] of cases) {
    const r = await call(`${url}${path}`, method, body);
    t.equal(r.status, status, `${method} ${path} → ${status}`);
    const err = r.body.error as { code: string; message: string };
    t.equal(err.code, code, `${method} ${path} → ${code}`);
    t.match(err.message, message);
  }
  const wrongType = await call(`${url}/v1/channels/chat/messages`, 'POST', '{"data":1}', { 'content-type': 'text/plain' });
  t.equal(wrongType.status, 415);
  // a body far over the cap is refused without being buffered, and the agent keeps serving
  const big = await new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/channels/chat/messages`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (let i = 0; i < 100; i++) req.write('x'.repeat(1024));
    req.end();
  });
  t.equal(big, 413);
  t.equal((await call(`${url}/v1/health`)).status, 200);
});

/**
 * Node's fetch() in a process of its own (sharing the agent's event loop would change
 * who writes when): POSTs `mib` MiB, `tries` times, and returns what each try read.
 */
function fetchBig(url: string, headers: Record<string, string>, mib: number, tries: number, chunked = false): Promise<{ status: number; body: unknown }[]> {
  const script = `
    const out = [];
    for (let i = 0; i < ${tries}; i++) {
      let body = Buffer.alloc(${mib} * 1024 * 1024, 0x20);
      const init = { method: 'POST', headers: ${JSON.stringify(headers)}, body };
      if (${chunked}) {
        let sent = 0;
        init.body = new ReadableStream({ pull(c) { if (sent++ >= ${mib}) c.close(); else c.enqueue(new Uint8Array(1024 * 1024).fill(0x20)); } });
        init.duplex = 'half';
      }
      try {
        const res = await fetch(${JSON.stringify(url)}, init);
        out.push({ status: res.status, body: await res.json() });
      } catch (err) {
        out.push({ status: 0, body: String(err.cause?.code ?? err.message) });
      }
    }
    console.log(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { status: number; body: unknown }[]);
    });
  });
}

t.test('lingering close: a fetch() client that writes a 20 MiB body reads the JSON 413', async (t) => {
  const { url, stop } = await startTestAgent({ token: TOKEN });
  t.teardown(stop);
  const target = `${url}/v1/channels/chat/messages`;
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  // before the agent lingered, most of these failed with EPIPE
  const declared = await fetchBig(target, auth, 20, 2);
  t.same(declared.map((r) => r.status), [413, 413], 'content-length declared: every try reads the 413');
  t.match(declared[0]!.body, { error: { code: 'E_TOO_LARGE', message: /20971520 bytes; the limit is 1048576/ } });
  // no content-length (chunked): the cap is crossed while reading
  const chunked = await fetchBig(target, auth, 20, 1, true);
  t.same(chunked.map((r) => r.status), [413], 'chunked');
  t.match(chunked[0]!.body, { error: { code: 'E_TOO_LARGE', message: /exceeds the limit of 1048576 bytes/ } });
  // another early error, answered from the headers alone: 401 without the token
  const unauth = await fetchBig(target, { 'content-type': 'application/json' }, 20, 1);
  t.same(unauth.map((r) => r.status), [401], 'missing token');
  t.match(unauth[0]!.body, { error: { code: 'E_UNAUTHORIZED' } });
  t.equal((await call(`${url}/v1/health`)).status, 200);
});

t.test('bearer token: writes need it, reads configurable, health always open', async (t) => {
  const { url, stop } = await startTestAgent({ token: TOKEN, authReads: false });
  t.teardown(stop);
  t.equal((await call(`${url}/v1/members`)).status, 200, 'reads open with authReads=false');
  const noToken = await call(`${url}/v1/join`, 'POST', { seeds: ['127.0.0.1:1'] });
  t.equal(noToken.status, 401);
  t.match(noToken.body, { error: { code: 'E_UNAUTHORIZED', message: /Authorization: Bearer/ } });
  const wrong = await call(`${url}/v1/leave`, 'POST', {}, { authorization: 'Bearer nope-nope-nope' });
  t.match(wrong.body, { error: { code: 'E_UNAUTHORIZED', message: /wrong/ } });
  t.equal((await call(`${url}/v1/keys`, 'GET', undefined, { authorization: `Bearer ${TOKEN}` })).status, 409, 'the token opens key routes (no keyring here)');
  t.equal((await call(`${url}/v1/keys`)).status, 401, 'key routes need the token even for reads');

  const closed = await startTestAgent({ token: TOKEN });
  t.teardown(closed.stop);
  t.equal((await call(`${closed.url}/v1/members`)).status, 401, 'reads need the token by default');
  t.equal((await call(`${closed.url}/v1/members`, 'GET', undefined, { authorization: `Bearer ${TOKEN}` })).status, 200);
  t.equal((await call(`${closed.url}/v1/health`)).status, 200, 'health stays open for probes');
});

t.test('keys, faults and the fault transport', async (t) => {
  const key = Buffer.alloc(32, 1).toString('base64');
  const key2 = Buffer.alloc(32, 2).toString('base64');
  const { url, stop } = await startTestAgent({ encryptKey: key, enableFaults: true });
  t.teardown(stop);
  const list = await call(`${url}/v1/keys`);
  t.match(list.body, { keys: [{ primary: true }] });
  t.equal((await call(`${url}/v1/keys/install`, 'POST', { key: key2 })).status, 200);
  t.equal((await call(`${url}/v1/keys/remove`, 'POST', { key: key })).status, 409, 'cannot remove the primary');
  t.equal((await call(`${url}/v1/keys/use`, 'POST', { key: key2 })).status, 200);
  const after = await call(`${url}/v1/keys/remove`, 'POST', { key });
  t.equal((after.body.keys as unknown[]).length, 1);
  t.equal((await call(`${url}/v1/keys/remove`, 'POST', { key })).status, 200, 'removing an absent key is idempotent');
  t.equal((await call(`${url}/v1/keys/install`, 'POST', { key: 'AAAA' })).status, 400);

  const bad = await call(`${url}/v1/faults`, 'PUT', { rules: [{ peer: '127.0.0.9', drop: 2 }] });
  t.match(bad.body, { error: { code: 'E_INVALID_ARGUMENT', message: /rules\[0\]: drop/ } });
  const set = await call(`${url}/v1/faults`, 'PUT', { rules: [{ peer: '127.0.0.9', drop: 1 }] });
  t.match(set.body, { rules: [{ peer: '127.0.0.9', direction: 'both', drop: 1, delayMs: 0 }] });
  t.match((await call(`${url}/v1/faults`, 'DELETE')).body, { rules: [] });
});

t.test('channels: publish, history, presence, SSE and WebSocket with resume', async (t) => {
  const { agent, url, stop } = await startTestAgent();
  t.teardown(stop);
  t.equal((await call(`${url}/v1/channels`)).status, 200, 'channel routes are served');
  await waitFor('ready', async () => (await call(`${url}/v1/health`)).body.ready === true);
  const sseEvents: { id?: string; type: string; data: string }[] = [];
  const ac = new AbortController();
  const sse = streamSse(`${url}/v1/events?channel=chat`, sseEvents, ac.signal);
  await waitFor('sse open', () => agent.hub.subscriberCount === 1);

  const pub = await call(`${url}/v1/channels/chat/messages`, 'POST', { data: { text: 'hi' }, headers: { k: 'v' }, idempotencyKey: 'one' });
  t.equal(pub.status, 201);
  t.type(pub.body.id, 'string');
  t.type(pub.body.cursor, 'string');
  const dup = await call(`${url}/v1/channels/chat/messages`, 'POST', { data: { text: 'hi' }, idempotencyKey: 'one' });
  t.equal(dup.status, 200);
  t.equal(dup.body.duplicate, true);
  await call(`${url}/v1/channels/chat/messages`, 'POST', { data: 'second' });
  const hist = await call(`${url}/v1/channels/chat/messages?limit=10`);
  t.match(hist.body, { complete: true, messages: [{ id: pub.body.id, node: agent.node.name, data: { text: 'hi' }, headers: { k: 'v' } }, { data: 'second' }] });
  const after = await call(`${url}/v1/channels/chat/messages?after=${encodeURIComponent(String(pub.body.cursor))}`);
  t.match(after.body, { messages: [{ data: 'second' }] });
  t.equal((after.body.messages as unknown[]).length, 1);

  const join = await call(`${url}/v1/channels/chat/presence/c1`, 'PUT', { user: 'ann', info: { device: 'phone' } });
  t.equal(join.status, 200);
  const pres = await call(`${url}/v1/channels/chat/presence`);
  t.match(pres.body, { channel: 'chat', clients: [{ clientId: 'c1', user: 'ann', info: { device: 'phone' }, node: agent.node.name }], counts: { clients: 1, users: 1 } });
  t.match((await call(`${url}/v1/channels`)).body, { channels: [{ channel: 'chat', clients: 1, users: 1, messages: 2 }] });
  t.equal((await call(`${url}/v1/channels/chat/presence/c1`, 'DELETE')).status, 200);
  t.equal((await call(`${url}/v1/channels/chat/presence/c1`, 'DELETE')).status, 404);
  t.match((await call(`${url}/v1/sync`)).body, { ready: true });

  await waitFor('sse events', () => sseEvents.some((e) => e.type === 'client-leave'));
  ac.abort();
  await sse;
  const types = sseEvents.map((e) => e.type);
  t.same(types.filter((x) => x === 'message').length, 2, 'SSE carried both messages (the duplicate is not an event)');
  t.ok(types.includes('client-join') && types.includes('user-join'));
  const firstMessage = sseEvents.find((e) => e.type === 'message')!;

  // a channel stream's ids are portable cursors: resume after the first message and get
  // the second from history, once, after a presence snapshot (presence is not history)
  t.ok(firstMessage.id && !/^[0-9a-f]{8}-\d+$/.test(firstMessage.id), 'message ids of a channel stream are cursors, not hub ids');
  const resumed: { id?: string; type: string; data: string }[] = [];
  const ac2 = new AbortController();
  const s2 = streamSse(`${url}/v1/events?channel=chat`, resumed, ac2.signal, firstMessage.id);
  await waitFor('replay', () => resumed.some((e) => e.type === 'message'));
  await call(`${url}/v1/channels/chat/messages`, 'POST', { data: 'third' });
  await waitFor('live after replay', () => resumed.filter((e) => e.type === 'message').length === 2);
  ac2.abort();
  await s2;
  t.same(resumed.map((e) => e.type), ['presence-snapshot', 'message', 'message'], 'snapshot, replay, then live');
  t.same(resumed.filter((e) => e.type === 'message').map((e) => (JSON.parse(e.data) as { message: { data: unknown } }).message.data), ['second', 'third'], 'exactly the messages after the cursor');
  t.match(JSON.parse(resumed[0]!.data), { channel: 'chat', clients: [], counts: { clients: 0 } });
  const lastId = resumed[2]!.id!;
  t.match((await call(`${url}/v1/channels/chat/messages?after=${encodeURIComponent(lastId)}`)).body, { messages: [], complete: true }, 'a stream id is a history cursor too');

  // bad cursors get a 400 naming the problem, on reads and on streams
  const badCursor = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { error?: { code: string; message: string } } }> => {
    const res = await fetch(`${url}${path}`, { headers });
    return { status: res.status, body: await res.json() as { error?: { code: string; message: string } } };
  };
  t.match(await badCursor('/v1/channels/chat/messages?after=%21%21'), { status: 400, body: { error: { code: 'E_BAD_CURSOR', message: /not base64url/ } } });
  t.match(await badCursor('/v1/channels/chat/messages?after=AAAA'), { status: 400, body: { error: { code: 'E_BAD_CURSOR', message: /unknown version 0/ } } });
  t.match(await badCursor(`/v1/channels/other/messages?after=${encodeURIComponent(lastId)}`), { status: 400, body: { error: { code: 'E_BAD_CURSOR', message: /another channel/ } } });
  t.match(await badCursor(`/v1/channels/chat/messages?after=${lastId.slice(0, 12)}`), { status: 400, body: { error: { code: 'E_BAD_CURSOR', message: /truncated/ } } });
  t.match(await badCursor('/v1/channels/chat/messages?after=' + 'A'.repeat(13_000)), { status: 400, body: { error: { code: 'E_BAD_CURSOR' } } });
  t.match(await badCursor('/v1/events?channel=chat', { 'last-event-id': 'Bw' }), { status: 400, body: { error: { code: 'E_BAD_CURSOR', message: /newer than this node understands/ } } });

  // a cursor from another boot cannot resume: told so explicitly
  const reset: { type: string; data: string }[] = [];
  const ac3 = new AbortController();
  const s3 = streamSse(`${url}/v1/events`, reset, ac3.signal, '00000000-5');
  await waitFor('reset', () => reset.length > 0);
  ac3.abort();
  await s3;
  t.equal(reset[0]!.type, 'reset');
  t.match(JSON.parse(reset[0]!.data), { reason: 'agent-restarted' });

  // WebSocket: hello, then live events
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?types=message`);
  const got: { type: string }[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as { type: string }));
  await new Promise((r) => ws.once('open', r));
  await call(`${url}/v1/channels/other/messages`, 'POST', { data: 3 });
  await waitFor('ws message', () => got.some((g) => g.type === 'message'));
  t.equal(got[0]!.type, 'hello');
  ws.close();
});

async function streamSse(url: string, out: { id?: string; type: string; data: string }[], signal: AbortSignal, lastEventId?: string): Promise<void> {
  try {
    const res = await fetch(url, { signal, headers: lastEventId ? { 'last-event-id': lastEventId } : {} });
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: { id?: string; type: string; data: string } = { type: 'message', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.type = line.slice(7);
          else if (line.startsWith('data: ')) {
            e.data = line.slice(6);
            hasData = true;
          }
        }
        if (hasData) out.push(e);
      }
    }
  } catch {
    // aborted
  }
}

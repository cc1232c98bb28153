import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { io as connect } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { waitFor } from '../integration/fixtures.js';

const main = fileURLToPath(new URL('../../examples/socket.io-chat/main.ts', import.meta.url));

t.test('the chat example: three server processes, a message crosses from one server to another', async (t) => {
  const started = Date.now();
  const base = 40_000 + Math.floor(Math.random() * 20_000);
  const proc = spawn(process.execPath, ['--import=tsx', main], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CHAT_HOST: '127.0.0.9', CHAT_PORT_BASE: String(base), CHAT_SEED_PORT: String(base + 10) },
  });
  const clients: Socket[] = [];
  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    const stopping = Date.now();
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    t.comment(`stopped in ${Date.now() - stopping} ms`);
  });
  const urls: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^\s+(http:\/\/\S+)$/.exec(line);
      if (m) urls.push(m[1]!);
      if (urls.length === 3) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
  });
  t.comment(`three servers up in ${Date.now() - started} ms`);
  t.same(urls, [1, 2, 3].map((i) => `http://127.0.0.9:${base + i}/`));
  const page = await (await fetch(urls[0]!)).text();
  t.match(page, /<script src="\/socket\.io\/socket\.io\.js"><\/script>/, 'the page loads the Socket.IO client');
  t.match(await (await fetch(`${urls[1]!}socket.io/socket.io.js`)).text(), /io/, 'which the server serves');

  const join = async (url: string, name: string): Promise<{ c: Socket; welcome: { server: string }; chat: unknown[]; online: string[][] }> => {
    const c = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { name } });
    clients.push(c);
    const chat: unknown[] = [];
    const online: string[][] = [];
    c.on('chat', (m: unknown) => chat.push(m));
    c.on('online', (list: string[]) => online.push(list));
    const welcome = await new Promise<{ server: string }>((r) => c.once('welcome', r));
    return { c, welcome, chat, online };
  };
  const ann = await join(urls[0]!, 'ann');
  const bob = await join(urls[1]!, 'bob');
  t.same([ann.welcome.server, bob.welcome.server], ['chat-1', 'chat-2']);
  await waitFor('bob sees ann online', () => bob.online.some((l) => l.includes('ann (chat-1)') && l.includes('bob (chat-2)')));
  ann.c.emit('chat', 'hello from ann');
  await waitFor('bob got it', () => bob.chat.length === 1);
  t.same(bob.chat, [{ from: 'ann', server: 'chat-1', text: 'hello from ann' }], 'the message crossed servers');
  t.same(ann.chat, bob.chat);
});

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Socket as ClientSocket } from 'socket.io-client';
import { waitFor } from '../integration/fixtures.js';
import { client, startServer } from './fixtures.js';

const childScript = fileURLToPath(new URL('./child-server.ts', import.meta.url));

t.test('a Socket.IO server killed with SIGKILL: its sockets vanish from fetchSockets and presence elsewhere', async (t) => {
  const s1 = await startServer(4, undefined);
  const s2 = await startServer(5, s1.node.transport.advertiseAddress);
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, '6', s1.node.transport.advertiseAddress], { stdio: ['ignore', 'pipe', 'inherit'] });
  const clients: ClientSocket[] = [];
  t.teardown(async () => {
    child.kill('SIGKILL');
    for (const c of clients) c.disconnect();
    for (const s of [s1, s2]) {
      await s.io.close();
      await s.node.close();
    }
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  const s3 = JSON.parse(line) as { url: string; name: string };
  t.equal(s3.name, 's6');
  await waitFor('three servers counted', () => s1.node.messages.peers('socket.io').length === 2 && s2.node.messages.peers('socket.io').length === 2);
  const alice = await client(s1.url, 'alice');
  const carol = await client(s3.url, 'carol');
  clients.push(alice, carol);
  const ids = async (): Promise<string[]> => (await s2.io.fetchSockets()).map((s) => s.id!).sort();
  t.same(await ids(), [alice.id, carol.id].sort(), "s2 sees carol's socket on the child");
  const users = (): string[] => s2.node.channels.presence('socket.io/').clients.map((c) => `${c.user}@${c.node}`).sort();
  await waitFor('presence of both', () => users().length === 2);
  t.same(users(), ['alice@s4', 'carol@s6']);

  const killedAt = Date.now();
  child.kill('SIGKILL');
  // asked while s6 is only suspect: the request waits for it, and stops waiting when it is declared dead
  const fetched = ids();
  await waitFor('s6 declared dead on s2', () => s2.node.members().find((m) => m.name === 's6')?.state === 'dead', 10_000);
  const deadAfter = Date.now() - killedAt;
  t.same(await fetched, [alice.id], "carol's socket is gone from the in-flight fetchSockets");
  const settledAfter = Date.now() - killedAt;
  t.ok(settledAfter < deadAfter + 1000, `fetchSockets settled ${settledAfter} ms after the kill, death confirmed at ${deadAfter} ms (requestsTimeout is 10,000)`);
  t.equal(await s2.io.of('/').adapter.serverCount(), 2);
  await waitFor('carol gone from presence', () => users().length === 1, 2000);
  t.same(users(), ['alice@s4']);
  t.comment(`kill -9 → dead ${deadAfter} ms, fetchSockets settled ${settledAfter} ms, presence cleared ${Date.now() - killedAt} ms`);
});

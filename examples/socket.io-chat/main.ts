// The chat example: three Socket.IO servers, one process each, one clusterd cluster, no Redis.
// `npm run example:chat`, then open the printed URLs in two browser tabs.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./server.ts', import.meta.url));
const children: ChildProcess[] = [];

function start(index: number, seed?: string): Promise<{ url: string; cluster: string }> {
  const child = spawn(process.execPath, ['--import=tsx', script, String(index), ...(seed ? [seed] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { url: string; cluster: string }));
    child.once('exit', (code) => reject(new Error(`chat server ${index} exited with ${code}`)));
  });
}

const stop = (): void => {
  for (const c of children) c.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const first = await start(1);
const others = await Promise.all([start(2, first.cluster), start(3, first.cluster)]);
process.stdout.write(`chat servers ready (Ctrl-C stops them):\n${[first, ...others].map((s) => `  ${s.url}`).join('\n')}\n`);

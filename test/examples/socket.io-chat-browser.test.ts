import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { WebSocket } from 'ws';
import { waitFor } from '../integration/fixtures.js';

/*
 * The chat example as a newcomer uses it (issue #15): its three servers, the page opened
 * in two tabs of headless Chromium on two different servers, a message typed in one
 * shows up in the other. Chromium is driven over the DevTools protocol (a WebSocket).
 */

const CHROMIUM = '/usr/bin/chromium';
const main = fileURLToPath(new URL('../../examples/socket.io-chat/main.ts', import.meta.url));

/** A minimal DevTools protocol client: commands by id, on the browser or a page session. */
class DevTools {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      const w = m.id !== undefined ? this.waiting.get(m.id) : undefined;
      if (!w) return;
      this.waiting.delete(m.id!);
      if (m.error) w.reject(new Error(m.error.message));
      else w.resolve(m.result ?? {});
    });
  }

  static async connect(url: string): Promise<DevTools> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new DevTools(ws);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  /** Opens a tab on `url`; returns its session. */
  async open(url: string): Promise<string> {
    const { targetId } = await this.send('Target.createTarget', { url }) as { targetId: string };
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    return sessionId;
  }

  /** Evaluates an expression in a tab and returns its value. */
  async eval(sessionId: string, expression: string): Promise<unknown> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId) as { result: { value?: unknown } };
    return r.result.value;
  }

  close(): void {
    this.ws.close();
  }
}

t.test('the chat example in headless Chromium: a message typed on one server\'s page shows on another\'s', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)` }, async (t) => {
  const base = 40_000 + Math.floor(Math.random() * 20_000);
  const procs: ChildProcess[] = [];
  const profile = mkdtempSync(join(tmpdir(), 'clusterd-chat-chromium-'));
  t.teardown(async () => {
    for (const p of procs) {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
    }
    // chromium's helper processes may still be writing its profile for a moment: a
    // leftover temporary directory is not the test's failure
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (err) {
      t.comment(`left ${profile}: ${String(err)}`);
    }
  });
  const chat = spawn(process.execPath, ['--import=tsx', main], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CHAT_HOST: '127.0.0.10', CHAT_PORT_BASE: String(base), CHAT_SEED_PORT: String(base + 10) },
  });
  procs.push(chat);
  const urls: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: chat.stdout! }).on('line', (line) => {
      const m = /^\s+(http:\/\/\S+)$/.exec(line);
      if (m) urls.push(m[1]!);
      if (urls.length === 3) resolve();
    });
    chat.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
  });

  const browser = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(browser);
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: browser.stderr! }).on('line', (line) => {
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    browser.once('exit', (code) => reject(new Error(`chromium exited with ${code}`)));
  });
  const dt = await DevTools.connect(endpoint);
  // asked to close, chromium ends its helper processes itself (a kill may leave them
  // writing the profile for a moment)
  t.teardown(async () => {
    const exited = new Promise((r) => browser.once('exit', r));
    await Promise.race([dt.send('Browser.close').catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    dt.close();
  });

  const ann = await dt.open(`${urls[0]!}?name=ann`);
  const bob = await dt.open(`${urls[1]!}?name=bob`);
  // before a tab has loaded its page it has no execution context: read as empty until then
  const text = async (session: string, id: string): Promise<string> =>
    String(await dt.eval(session, `document.getElementById(${JSON.stringify(id)})?.textContent ?? ''`).catch(() => ''));
  let annServer = '';
  let bobServer = '';
  await waitFor('both pages connected', () => {
    void text(ann, 'server').then((s) => (annServer = s));
    void text(bob, 'server').then((s) => (bobServer = s));
    return annServer === 'chat-1' && bobServer === 'chat-2';
  }, 30_000, 100).catch(async (err: unknown) => {
    const state = await dt.eval(ann, 'JSON.stringify({ href: location.href, ready: document.readyState, body: document.body?.innerText?.slice(0, 300), io: typeof io })').catch((e: unknown) => String(e));
    throw new Error(`${String(err)}: ann's tab ${String(state)}`);
  });
  t.pass('ann\'s page is on chat-1, bob\'s on chat-2');

  await dt.eval(ann, `document.getElementById('text').value = 'hello from a browser'; document.getElementById('form').requestSubmit(); true`);
  let log = '';
  await waitFor('the message shows on bob\'s page', () => {
    void text(bob, 'log').then((s) => (log = s));
    return log.includes('hello from a browser');
  }, 30_000, 100);
  t.match(log, /ann via chat-1: hello from a browser/, 'typed on chat-1, shown on chat-2\'s page');
});

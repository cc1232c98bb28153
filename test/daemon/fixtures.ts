import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../lib/daemon/agent.js';
import { defaultConfig } from '../../lib/daemon/config.js';
import type { AgentConfig } from '../../lib/daemon/config.js';
import { createLogger } from '../../lib/daemon/logger.js';

/** A temporary directory removed by `cleanup`. */
export function tempDir(prefix = 'clusterd-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts an in-process agent on loopback with ephemeral ports and a silent logger. */
export async function startTestAgent(overrides: Partial<AgentConfig> = {}, dataDir?: string): Promise<{ agent: Agent; url: string; stop: () => Promise<void> }> {
  const tmp = dataDir === undefined ? tempDir() : undefined;
  const cfg: AgentConfig = { ...defaultConfig(), bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'local', logLevel: 'silent', dataDir: dataDir ?? tmp!.dir, ...overrides };
  const agent = await Agent.start(cfg, createLogger({ level: 'silent', format: 'json' }));
  return {
    agent,
    url: `http://${agent.httpAddress}`,
    stop: async () => {
      await agent.shutdown('test', false);
      tmp?.cleanup();
    },
  };
}

/** fetch + JSON body. */
export async function call(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body: parsed, text };
}

/** Polls until `cond` holds. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

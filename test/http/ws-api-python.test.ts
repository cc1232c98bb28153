import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestAgent } from '../daemon/fixtures.js';

/*
 * The Python example of docs/http-api.md (the block after `<!-- python-example -->`), run
 * as written against a real agent, so the documented protocol and the example cannot
 * drift from the agent. It needs python3 (standard library only): skipped otherwise.
 */

const run = promisify(execFile);
const doc = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
const block = /<!-- python-example -->\s*```python\n([\s\S]*?)```/.exec(doc);

const python = await run('python3', ['--version']).then((r) => r.stdout.trim(), () => undefined);

t.test('the Python example in docs/http-api.md talks to a real agent', { skip: python === undefined ? 'python3 not found: the docs/http-api.md Python example is not run' : false }, async (t) => {
  t.ok(block, 'docs/http-api.md has the example');
  const code = block![1]!;
  t.ok(code.split('\n').length <= 40, `${code.split('\n').length} lines`);
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-py-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'example.py'), code);
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const { stdout } = await run('python3', [join(dir, 'example.py'), url.replace('http://', '')], { timeout: 10_000 });
  const lines = stdout.trim().split('\n').sort();
  t.match(lines, [/^answer 1 ok$/, /^answer 2 ok$/, /^answer 3 ok$/, /^message \{"text": "hello from Python"\} cursor \S+$/], stdout);
  t.comment(`${python}: ${stdout.trim().replace(/\n/g, ' | ')}`);
});

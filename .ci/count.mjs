// Counts leaf assertions in a TAP 14 stream (nested subtests) and prints
// "N passed, N failed". A subtest that failed without any failing assertion inside
// (a crash, a timeout, a thrown error) counts as one failure; so does a non-zero tap
// exit status with no failure seen (e.g. the coverage gate).
import { readFileSync } from 'node:fs';

const [file, statusArg] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
const stack = []; // open subtests: { indent, failed }
let passed = 0, failed = 0, skipped = 0;
let yamlIndent = -1;

for (const line of lines) {
  const indent = line.length - line.trimStart().length;
  const text = line.trim();
  if (yamlIndent >= 0) {
    if (text === '...' && indent === yamlIndent) yamlIndent = -1;
    continue;
  }
  if (text === '---') { yamlIndent = indent; continue; }
  if (text.startsWith('# Subtest')) { stack.push({ indent, failed: 0 }); continue; }
  const m = /^(not )?ok\b(.*)$/.exec(text);
  if (!m) continue;
  const ok = !m[1];
  const top = stack.at(-1);
  if (top && top.indent === indent) {
    stack.pop();
    if (!ok && top.failed === 0) { failed++; top.failed = 1; }
    const parent = stack.at(-1);
    if (parent) parent.failed += top.failed;
    continue;
  }
  if (/#\s*(SKIP|TODO)\b/i.test(m[2])) { skipped++; continue; }
  if (ok) passed++;
  else { failed++; if (top) top.failed++; }
}

const status = Number(statusArg ?? 0);
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || status !== 0 ? 1 : 0);

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simCommand } from '../../simulations/cli.js';
import { COMPARE_CHART_IDS, parseVariants } from '../../simulations/compare.js';
import { validateScenario } from '../../simulations/scenario.js';

const tmp = mkdtempSync(join(tmpdir(), 'clusterd-compare-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const small = {
  name: 'small', description: 'five nodes, one crash, one stall', expected: 'the crash is detected', nodes: 5, duration: '20s', swim: { suspicionMult: 5 },
  timeline: [{ at: '3s', action: 'crash', nodes: 'n4' }, { at: '8s', action: 'stall', nodes: 'n1', duration: '2s' }],
};

t.test('variants: profiles, KEY=VALUE overrides on the scenario profile, both; precise errors', (t) => {
  const sc = validateScenario(small);
  const [lan, custom, wanPlus] = parseVariants('lan, probeIntervalMs=500+probeTimeoutMs=200 ,wan+suspicionMult=3', sc);
  t.same(lan, { label: 'lan', profile: 'lan', swim: {} }, 'a profile alone: its own timings');
  t.same(custom, { label: 'probeIntervalMs=500+probeTimeoutMs=200', profile: 'lan', swim: { suspicionMult: 5, probeIntervalMs: 500, probeTimeoutMs: 200 } }, 'overrides keep the scenario\'s own');
  t.same(wanPlus, { label: 'wan+suspicionMult=3', profile: 'wan', swim: { suspicionMult: 3 } });
  t.throws(() => parseVariants('lan,bogus', sc), /"bogus" is neither a profile \(lan, wan, local\) nor KEY=VALUE/);
  t.throws(() => parseVariants('probeIntervalMs=abc', sc), /probeIntervalMs expects a number, got "abc"/);
  t.throws(() => parseVariants('nope=1', sc), /unknown timing "nope"/);
  t.throws(() => parseVariants('probeTimeoutMs=5000', sc), /must be shorter than probeIntervalMs/);
  t.throws(() => parseVariants('lan+wan', sc), /names two profiles/);
  t.throws(() => parseVariants(',', sc), /at least one/);
  t.end();
});

t.test('clusterd sim FILE --compare prints the runs side by side and charts them', async (t) => {
  const file = join(tmp, 'small.json');
  writeFileSync(file, JSON.stringify(small));
  let out = '';
  let err = '';
  const html = join(tmp, 'c.html');
  const code = await simCommand([file, '--compare', 'lan,local', '--quiet', '--html', html, '--json', join(tmp, 'c.json')], { out: (s) => (out += s), err: (s) => (err += s) });
  t.equal(code, 0, err);
  t.match(out, /small: 5 nodes, 20 s, seed 1, under 2 timing\(s\)/);
  t.match(out, /\| {2}\| lan \| local \|/);
  t.match(out, /\| probe interval \/ timeout \| 1000 \/ 500 ms \| 1000 \/ 200 ms \|/);
  t.match(out, /\| suspicion multiplier \| 4 \| 3 \|/, 'a profile named alone drops the scenario\'s override');
  const json = JSON.parse(readFileSync(join(tmp, 'c.json'), 'utf8')) as { rows: { label: string; crashes: number; deadPerObserverMs: number; msgsPerNodePerSec: number }[] };
  t.equal(json.rows.length, 2);
  for (const r of json.rows) {
    t.equal(r.crashes, 1, `${r.label}: the crash`);
    t.ok(r.deadPerObserverMs > 0, `${r.label}: detected in ${r.deadPerObserverMs} ms`);
    t.ok(r.msgsPerNodePerSec > 0);
  }
  t.ok(json.rows[1]!.deadPerObserverMs < json.rows[0]!.deadPerObserverMs, 'local (shorter suspicion) detects sooner than lan');
  const page = readFileSync(html, 'utf8');
  for (const id of COMPARE_CHART_IDS) t.match(page, new RegExp(`<svg id="${id}"`), `chart ${id}`);
  t.match(page, /<rect [^>]*data-variant="local" data-value="\d+(\.\d+)?"/);
  t.notMatch(page, /<script src|<link |https?:\/\//, 'no external asset');

  out = '';
  err = '';
  t.equal(await simCommand([file, '--compare', 'lan,fast'], { out: (s) => (out += s), err: (s) => (err += s) }), 2);
  t.match(err, /--compare: "fast" is neither a profile/);
  t.equal(await simCommand([file, '--compare', 'lan', '--real'], { out: (s) => (out += s), err: (s) => (err += s) }), 2);
});

t.test('a malformed trace file gets a precise error', async (t) => {
  let err = '';
  const io = { out: () => {}, err: (s: string) => (err += s) };
  const cut = join(tmp, 'cut.json');
  writeFileSync(cut, JSON.stringify(small).slice(0, 60));
  t.equal(await simCommand([cut], io), 2);
  t.match(err, /cut\.json: \(scenario\): not valid JSON/);
  err = '';
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...small, timeline: [{ at: '3s', action: 'crash', nodes: 'delta' }] }));
  t.equal(await simCommand([bad, '--compare', 'lan'], io), 2);
  t.match(err, /bad\.json: timeline\[0\]\.nodes: unknown selector "delta"/);
});

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHART_IDS, renderHtml } from '../../simulations/html-report.js';
import { runScenario } from '../../simulations/runner.js';
import { validateScenario } from '../../simulations/scenario.js';

const CHROMIUM = '/usr/bin/chromium';

const sc = validateScenario({
  name: 'report', description: 'a crash, a partition, a heal', expected: 'converges', nodes: 12, duration: '2m',
  roles: { broker: '0..2' },
  timeline: [
    { at: '10s', action: 'crash', nodes: 'n5' },
    { at: '30s', action: 'partition', groups: ['0%..50%'] },
    { at: '60s', action: 'heal' },
  ],
});
const html = renderHtml(runScenario(sc, { seed: 2 }));

t.test('the report is self-contained', async (t) => {
  t.notMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'no external script, stylesheet or image');
  t.notMatch(html, /https?:\/\//, 'no URL at all');
  for (const id of CHART_IDS) t.match(html, new RegExp(`<svg id="${id}"`), id);
});

t.test('the report renders in headless Chromium with its charts', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterd-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  const r = spawnSync(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'clusterd-chromium-'))}`,
    '--dump-dom', pathToFileURL(file).href,
  ], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
  t.equal(r.status, 0, r.status === 0 ? 'chromium exited 0' : r.stderr.slice(-2000));
  const dom = r.stdout;
  t.match(dom, /<body data-rendered="5"/, 'the inline script ran and counted five charts');
  for (const id of CHART_IDS) t.match(dom, new RegExp(`<svg id="${id}"[^>]*>`), `${id} in the DOM`);
  t.match(dom, /<svg id="chart-views"[\s\S]*?<rect /, 'heatmap cells');
  t.match(dom, /<svg id="chart-alive"[\s\S]*?<polyline /, 'lines');
  t.match(dom, /<svg id="chart-dissemination"[\s\S]*?<polyline /, 'the crash spread curve');
});

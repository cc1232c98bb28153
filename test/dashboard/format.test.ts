import t from 'tap';
import { clean, escapeTags, fit, formatBytes, formatDuration, formatRate, formatRtt, preview, sparkline, SPARK_ASCII } from '../../lib/dashboard/format.js';

t.test('clean and escapeTags neutralise agent-supplied text', async (t) => {
  t.equal(clean('a\x1b[31mb\nc\td'), 'a [31mb c d');
  t.equal(escapeTags('{red-fg}x{/red-fg}'), '{open}red-fg{close}x{open}/red-fg{close}');
});

t.test('fit cuts with an ellipsis and pads to the width', async (t) => {
  t.equal(fit('abcdef', 4), 'abc…');
  t.equal(fit('ab', 4), 'ab  ');
  t.equal(fit('ab', 4, 'right'), '  ab');
  t.equal(fit('abc', 1), '…');
  t.equal(fit('abc', 0), '');
});

t.test('durations, bytes, rates and RTTs', async (t) => {
  t.equal(formatDuration(42_000), '42s');
  t.equal(formatDuration(185_000), '3m05s');
  t.equal(formatDuration(2 * 3600_000 + 10 * 60_000), '2h10m');
  t.equal(formatDuration(4 * 86400_000 + 3 * 3600_000), '4d3h');
  t.equal(formatDuration(-1), '-');
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(3.4 * 1024), '3.4 KiB');
  t.equal(formatBytes(12 * 1024 * 1024), '12 MiB');
  t.equal(formatRate(undefined), '-');
  t.equal(formatRate(0), '0');
  t.equal(formatRate(3.456), '3.5');
  t.equal(formatRate(3456), '3.5k');
  t.equal(formatRate(2_500_000), '2.5M');
  t.equal(formatRtt(null), '-');
  t.equal(formatRtt(0.42), '0.4ms');
  t.equal(formatRtt(12.6), '13ms');
});

t.test('sparkline scales to the maximum, shows gaps, right-aligns', async (t) => {
  t.equal(sparkline([0, 1, 2, 4, 8], 5), '▁▂▃▅█');
  t.equal(sparkline([0, 0], 2), '▁▁', 'all zero: a flat line');
  t.equal(sparkline([1, undefined, 1], 3), '█ █', 'missing samples are gaps');
  t.equal(sparkline([5], 4), '   █', 'short series are right-aligned');
  t.equal(sparkline([1, 2, 3, 4, 5, 6], 3), '▆▇█', 'only the last width samples');
  t.equal(sparkline([0, 8], 2, SPARK_ASCII), '_#');
});

t.test('preview is one safe line', async (t) => {
  t.equal(preview({ text: 'hi\nthere' }), '{"text":"hi\\nthere"}');
  t.equal(preview('a\nb'), 'a b');
  t.equal(preview('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
});

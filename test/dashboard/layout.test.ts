import t from 'tap';
import { computeLayout, inner } from '../../lib/dashboard/layout.js';
import type { Rect } from '../../lib/dashboard/layout.js';

const overlaps = (a: Rect, b: Rect): boolean =>
  a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;

for (const [cols, rows] of [[80, 24], [120, 40], [100, 30], [200, 60], [60, 15]] as const) {
  t.test(`${cols}x${rows}: panels tile the screen without overlapping`, async (t) => {
    const l = computeLayout(cols, rows);
    const panels = [l.header, l.members, l.brokers, l.channels, l.activity, l.log, l.footer];
    let area = 0;
    for (const p of panels) {
      t.ok(p.left >= 0 && p.top >= 0 && p.left + p.width <= cols && p.top + p.height <= rows, 'inside the screen');
      t.ok(p.width > 0 && p.height > 0, 'not empty');
      area += p.width * p.height;
    }
    for (let i = 0; i < panels.length; i++) for (let j = i + 1; j < panels.length; j++) t.notOk(overlaps(panels[i]!, panels[j]!), `panels ${i} and ${j} do not overlap`);
    t.equal(area, cols * rows, 'and cover it all');
    t.equal(l.footer.top, rows - 1, 'footer on the last line');
    const o = l.overlay;
    t.ok(o.left >= 0 && o.top >= 0 && o.left + o.width <= cols && o.top + o.height <= rows, 'the overlay fits');
  });
}

t.test('at 80x24 every panel still shows rows', async (t) => {
  const l = computeLayout(80, 24);
  t.ok(inner(l.members).height - 1 >= 8, 'at least 8 member rows');
  t.ok(inner(l.members).width >= 45);
  t.ok(inner(l.brokers).height >= 2);
  t.ok(inner(l.channels).height >= 3);
  t.ok(inner(l.activity).height >= 3, 'three sparklines');
  t.ok(inner(l.log).height >= 3);
});

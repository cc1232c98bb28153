import t from 'tap';
import { SseParser } from '../../lib/client/sse.js';

t.test('parses events split across chunks anywhere', async (t) => {
  const text = 'retry: 2000\n: connected, cursor abc-1\n\nid: abc-2\nevent: member-join\ndata: {"name":"a"}\n\nid: abc-3\nevent: message\ndata: line1\ndata: line2\n\n';
  for (const size of [1, 3, 7, text.length]) {
    const p = new SseParser();
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(...p.feed(text.slice(i, i + size)));
    t.same(out, [
      { id: 'abc-2', type: 'member-join', data: '{"name":"a"}' },
      { id: 'abc-3', type: 'message', data: 'line1\nline2' },
    ], `chunks of ${size}`);
  }
});

t.test('CRLF line ends, default type, heartbeats ignored', async (t) => {
  const p = new SseParser();
  t.same(p.feed(': heartbeat\r\n\r\ndata: x\r\n\r\n'), [{ id: undefined, type: 'message', data: 'x' }]);
});

t.test('an endless line is dropped, not buffered without bound', async (t) => {
  const p = new SseParser({ maxEventChars: 100 });
  t.same(p.feed(`data: ${'x'.repeat(500)}`), []);
  t.same(p.feed(`${'y'.repeat(50)}: not a field\n\ndata: ok\n\n`), [{ id: undefined, type: 'message', data: 'ok' }], 'the parser recovers at the next event; the dropped line\'s tail is not read as a line');
  t.equal(p.dropped, 1);
});

t.test('many data lines without a blank line are bounded too', async (t) => {
  const p = new SseParser({ maxEventChars: 100 });
  t.same(p.feed('data: 0123456789\n'.repeat(50)), []);
  t.same(p.feed('id: 7\n\ndata: next\n\n'), [{ id: undefined, type: 'message', data: 'next' }], 'the oversized event is skipped to its end');
  t.equal(p.dropped, 1);
});

t.test('comments reach onComment; an event under the bound is kept', async (t) => {
  const comments: string[] = [];
  const p = new SseParser({ maxEventChars: 100, onComment: (c) => comments.push(c) });
  t.same(p.feed(`: connected, cursor b-0\n\n: heartbeat\n\ndata: ${'z'.repeat(90)}\n\n`), [{ id: undefined, type: 'message', data: 'z'.repeat(90) }]);
  t.same(comments, ['connected, cursor b-0', 'heartbeat']);
  t.equal(p.dropped, 0);
});

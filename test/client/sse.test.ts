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
  const p = new SseParser(100);
  t.same(p.feed(`data: ${'x'.repeat(500)}`), []);
  t.same(p.feed('\n\ndata: ok\n\n'), [{ id: undefined, type: 'message', data: 'ok' }], 'the parser recovers at the next event');
});

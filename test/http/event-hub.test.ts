import t from 'tap';
import { EventHub, parseTypes } from '../../lib/http/event-hub.js';
import type { HubEvent } from '../../lib/http/event-hub.js';

t.test('filters by channel and type', async (t) => {
  const hub = new EventHub();
  const got: HubEvent[] = [];
  hub.subscribe({ channel: 'a', types: ['message'] }, (e) => got.push(e));
  hub.publish('message', 'message', 'a', { n: 1 });
  hub.publish('message', 'message', 'b', { n: 2 });
  hub.publish('presence', 'client-join', 'a', { n: 3 });
  hub.publish('member', 'member-join', undefined, { n: 4 });
  t.same(got.map((e) => JSON.parse(e.json)), [{ n: 1 }]);
  const all: HubEvent[] = [];
  hub.subscribe({ types: ['member-join', 'presence'] }, (e) => all.push(e));
  hub.publish('presence', 'client-join', 'z', {});
  hub.publish('member', 'member-join', undefined, {});
  hub.publish('member', 'member-dead', undefined, {});
  t.same(all.map((e) => e.type), ['client-join', 'member-join']);
  t.same(parseTypes('message,bogus'), { unknown: 'bogus' });
});

t.test('resume: exact replay, or an explicit reason', async (t) => {
  const hub = new EventHub({ capacity: 5 });
  for (let i = 1; i <= 3; i++) hub.publish('message', 'message', 'a', { i });
  const { resume } = hub.subscribe({}, () => {}, `${hub.boot}-1`);
  t.same(resume!.ok && resume!.replay.map((e) => e.seq), [2, 3]);
  for (let i = 4; i <= 10; i++) hub.publish('message', 'message', 'a', { i });
  t.match(hub.subscribe({}, () => {}, `${hub.boot}-2`).resume, { ok: false, reason: 'cursor-expired' });
  t.match(hub.subscribe({}, () => {}, `${hub.boot}-5`).resume, { ok: true, replay: [{ seq: 6 }, { seq: 7 }, { seq: 8 }, { seq: 9 }, { seq: 10 }] });
  t.match(hub.subscribe({}, () => {}, `${hub.boot}-10`).resume, { ok: true, replay: [] });
  t.match(hub.subscribe({}, () => {}, 'deadbeef-3').resume, { ok: false, reason: hub.boot === 'deadbeef' ? 'cursor-expired' : 'agent-restarted' });
  t.match(hub.subscribe({}, () => {}, 'garbage').resume, { ok: false, reason: 'bad-cursor' });
  t.match(hub.subscribe({}, () => {}, `${hub.boot}-99`).resume, { ok: false, reason: 'bad-cursor' });
  t.equal(hub.size, 5, 'bounded');
});

t.test('bounded by bytes', async (t) => {
  const hub = new EventHub({ capacity: 1000, maxBytes: 1000 });
  for (let i = 0; i < 100; i++) hub.publish('message', 'message', 'a', { pad: 'x'.repeat(90) });
  t.ok(hub.size <= 10);
});

import t from 'tap';
import { encodeMeta, emptyMeta } from '../../lib/swim/meta.js';
import { SwimCluster } from './harness.js';

const broker = (clients: number, ws = 'ws://127.0.0.9:8080'): Uint8Array =>
  encodeMeta({ ...emptyMeta(), roles: ['broker'], endpoints: { ws }, load: { clients } });

t.test('metadata updates spread with a higher incarnation and drive the broker list', async (t) => {
  const c = new SwimCluster(11);
  c.startMany(4);
  c.run(3000);
  const observer = c.nodes.get('n0')!.m;
  const changes: string[][] = [];
  const updates: string[] = [];
  observer.on('brokers-changed', (list) => changes.push(list.map((b) => b.name)));
  observer.on('member-update', (m) => updates.push(m.name));
  c.nodes.get('n2')!.m.updateMeta(broker(5));
  c.nodes.get('n3')!.m.updateMeta(broker(2));
  c.run(3000);
  t.same(observer.brokers().map((b) => [b.name, b.load.clients]), [['n3', 2], ['n2', 5]], 'least loaded first');
  t.same(changes.at(-1), ['n3', 'n2']);
  t.same(updates.sort(), ['n2', 'n3']);
  // a load change alone updates the list but is not a set change
  const before = changes.length;
  c.nodes.get('n3')!.m.updateMeta(broker(9));
  c.run(3000);
  t.same(observer.brokers().map((b) => b.name), ['n2', 'n3']);
  t.equal(changes.length, before, 'brokers-changed fires on set changes, not on load');
  t.same(observer.brokers({ tag: ['region', 'eu'] }), [], 'tag filter');
  c.crash('n2');
  c.run(40_000);
  t.same(observer.brokers().map((b) => b.name), ['n3'], 'a dead broker leaves the list');
});

t.test('two live nodes with one name: conflict reported, the known one kept', async (t) => {
  const c = new SwimCluster(12);
  c.startMany(3);
  c.run(3000);
  const n0 = c.nodes.get('n0')!.m;
  const conflicts: string[] = [];
  n0.on('name-conflict', (x) => conflicts.push(`${x.name}@${x.address}`));
  const known = n0.member('n1')!;
  n0.handle({ type: 'alive', node: 'n1', incarnation: known.incarnation + 5, addr: '127.0.0.77:7946', meta: new Uint8Array() }, '127.0.0.77:7946');
  t.same(conflicts, ['n1@127.0.0.77:7946']);
  t.equal(n0.member('n1')!.address, known.address);
  // and a node hearing of an impostor of itself asserts itself
  const n1 = c.nodes.get('n1')!.m;
  const selfConflicts: boolean[] = [];
  n1.on('name-conflict', (x) => selfConflicts.push(x.local));
  const inc = n1.incarnation;
  n1.handle({ type: 'alive', node: 'n1', incarnation: inc, addr: '127.0.0.77:7946', meta: new Uint8Array() }, '127.0.0.77:7946');
  t.same(selfConflicts, [true]);
  t.ok(n1.incarnation > inc, 'refuted with a higher incarnation');
});

t.test('stale and oversized messages are ignored', async (t) => {
  const c = new SwimCluster(13, { maxMetaSize: 64 });
  c.startMany(3);
  c.run(3000);
  const n0 = c.nodes.get('n0')!.m;
  const inc = n0.member('n1')!.incarnation;
  n0.handle({ type: 'dead', node: 'n1', incarnation: inc - 1, from: 'n2' }, '');
  t.equal(n0.member('n1')!.state, 'alive', 'dead with an older incarnation ignored');
  n0.handle({ type: 'suspect', node: 'nobody', incarnation: 1, from: 'n2' }, '');
  t.equal(n0.member('nobody'), undefined, 'suspicion of an unknown member ignored');
  n0.handle({ type: 'alive', node: 'big', incarnation: 1, addr: '127.0.0.50:7946', meta: new Uint8Array(100) }, '');
  t.equal(n0.member('big'), undefined, 'metadata over the cap refused');
  t.equal(n0.counters.rejectedMembers, 1);
  n0.handle({ type: 'ping', seq: 1, target: 'someone-else', source: 'x', sourceAddr: '127.0.0.50:7946' }, '');
  t.equal(n0.counters.misdirectedPings, 1);
});

t.test('dead and left members are reaped after their timeouts', async (t) => {
  const c = new SwimCluster(14, { deadReapMs: 60_000, leftReapMs: 20_000, reconnectIntervalMs: 1000 });
  c.startMany(4);
  c.run(3000);
  const reaped: string[] = [];
  c.nodes.get('n0')!.m.on('member-reaped', (m) => reaped.push(`${m.name}:${m.state}`));
  c.nodes.get('n3')!.m.leave(() => {});
  c.run(1000);
  c.crash('n3');
  c.crash('n2');
  c.run(30_000);
  t.same(reaped, ['n3:left']);
  c.run(60_000);
  t.same(reaped, ['n3:left', 'n2:dead']);
  t.equal(c.nodes.get('n0')!.m.member('n2'), undefined);
  t.same(c.nodes.get('n0')!.m.counts(), { alive: 2, suspect: 0, dead: 0, left: 0 });
});

t.test('Lifeguard: a node whose probes go unanswered raises its health score', async (t) => {
  const c = new SwimCluster(15);
  c.startMany(5);
  c.run(3000);
  const n0 = c.nodes.get('n0')!.m;
  const scores: number[] = [];
  n0.on('health-changed', (h) => scores.push(h.score));
  // n0 can send but hears nothing back: its pings and its helpers' nacks are lost
  c.blocked = (_from, to) => to === 'n0';
  c.run(5000);
  t.ok(n0.health > 0, `health score rose to ${n0.health}`);
  c.blocked = () => false;
  // one point per successful probe, probing slowed by the score: up to 8+7+…+2 s
  c.run(60_000);
  t.equal(n0.health, 0, 'and recovers once acks flow again');
  t.ok(scores.length >= 2);
});

import t from 'tap';
import { PresenceStore, type PresenceEntry } from '../../lib/replica/presence.js';
import { MerkleTree } from '../../lib/summary/merkle.js';

const entry = (clientId: string, user: string, node = 'n1', seq = 1, channel = 'room'): PresenceEntry =>
  ({ channel, clientId, user, info: { c: clientId }, node, epoch: 1, seq, since: 0 });

t.test('user join/leave only on first and last connection', async (t) => {
  const p = new PresenceStore();
  t.same(p.put(entry('c1', 'alice')).map((e) => e.type), ['client-join', 'user-join']);
  t.same(p.put(entry('c2', 'alice')).map((e) => e.type), ['client-join']);
  t.same(p.put(entry('c3', 'bob')).map((e) => e.type), ['client-join', 'user-join']);
  t.same(p.counts('room'), { clients: 3, users: 2 });
  t.same(p.put(entry('c2', 'alice', 'n1', 2)).map((e) => e.type), ['client-update']);
  t.same(p.remove('room', 'c1').map((e) => e.type), ['client-leave']);
  t.same(p.remove('room', 'c2').map((e) => e.type), ['client-leave', 'user-leave']);
  t.same(p.remove('room', 'c2'), []);
  t.same(p.channelList(), [{ channel: 'room', clients: 1, users: 1 }]);
  t.same(p.list('room').map((e) => e.clientId), ['c3']);
  t.same(p.remove('room', 'c3').map((e) => e.type), ['client-leave', 'user-leave']);
  t.equal(p.channelCount, 0);
  t.same(p.counts('room'), { clients: 0, users: 0 });
});

t.test('a client whose user changes moves between users', async (t) => {
  const p = new PresenceStore();
  p.put(entry('c1', 'alice'));
  t.same(p.put(entry('c1', 'bob', 'n1', 2)).map((e) => e.type), ['user-leave', 'user-join', 'client-update']);
});

t.test('removeNode drops only that node, with leave events, and keeps the tree in sync', async (t) => {
  const tree = new MerkleTree();
  const p = new PresenceStore(tree);
  p.put(entry('c1', 'alice', 'n1'));
  p.put(entry('c2', 'alice', 'n2'));
  p.put(entry('c3', 'bob', 'n2', 1, 'other'));
  const root = new MerkleTree();
  root.set('p\u0000room\u0000c1', 1, 1);
  const events = p.removeNode('n2');
  t.same(events.map((e) => e.type).sort(), ['client-leave', 'client-leave', 'user-leave'].sort());
  t.same(p.list('room').map((e) => e.clientId), ['c1']);
  t.same(tree.rootHash(), root.rootHash());
  t.same(p.removeNode('n2'), []);
  t.equal(p.size, 1);
  p.clear();
  t.equal(tree.size, 0);
});

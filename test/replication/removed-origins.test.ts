import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { decodeMessage } from '../../lib/codec/messages.js';
import '../../lib/codec/replication-messages.js';
import { decode } from '@msgpack/msgpack';
import { TypedEmitter } from '../../lib/events.js';
import { Random } from '../../lib/random.js';
import { Replica } from '../../lib/replica/replica.js';
import type { ChannelEvents } from '../../lib/replication/channels.js';
import { ReplicationContext } from '../../lib/replication/context.js';
import type { ResolvedReplicationOptions } from '../../lib/replication/context.js';
import type { ReplicatorHost } from '../../lib/replication/replicator.js';
import { RemovedOrigins } from '../../lib/replication/removed-origins.js';
import type { SyncSessions } from '../../lib/replication/sessions.js';
import type { Membership } from '../../lib/swim/membership.js';

// a RemovedOrigins over a real context and replica; the host records what is sent
function setup() {
  const clock = new ManualClock();
  const sent: { to: string; epoch: number; at: number }[] = [];
  const membership = { member: (name: string) => ({ name, state: 'alive', address: `${name}:7946` }) } as unknown as Membership;
  const host = {
    name: 'self', clock, random: new Random(1), membership,
    enqueue: (to: string, bytes: Uint8Array) => {
      const m = decodeMessage(decode(bytes));
      if (m.type === 'origin-removed') sent.push({ to, epoch: m.epoch, at: clock.now() });
    },
  } as unknown as ReplicatorHost;
  const replica = new Replica({ node: 'self', epoch: 1 });
  const ctx = new ReplicationContext(host, {} as ResolvedReplicationOptions, replica, new TypedEmitter<ChannelEvents>());
  const removed = new RemovedOrigins(ctx, {} as SyncSessions);
  return { clock, sent, replica, removed };
}

t.test('removal notices to a returned member back off until it re-announces', async (t) => {
  const { clock, sent, replica, removed } = setup();
  replica.apply([{ kind: 'leave', node: 'b', epoch: 3, seq: 1, channel: 'c', clientId: 'x' }], 0);
  removed.memberGone('b');
  removed.memberUp('b');
  t.same(sent, [{ to: 'b:7946', epoch: 3, at: 0 }], 'told at once when it comes back');
  // housekeeping every second (and digests in between) for a minute
  for (let s = 1; s <= 60; s++) {
    clock.advance(1000);
    removed.noticeAll();
    removed.notice('b');
  }
  t.same(sent.map((x) => x.at), [0, 1000, 3000, 7000, 15000, 31000], 'repeated after 1, 2, 4, 8, 16 s, then every 30 s at most');
  // it re-announces under a newer epoch: no more notices, and a later removal starts over
  replica.apply([{ kind: 'leave', node: 'b', epoch: 4, seq: 1, channel: 'c', clientId: 'x' }], 0);
  sent.length = 0;
  clock.advance(60_000);
  removed.noticeAll();
  t.same(sent, [], 'nothing once its newer epoch is known');
  removed.memberGone('b');
  removed.memberUp('b');
  clock.advance(1000);
  removed.noticeAll();
  t.same(sent.map((x) => x.epoch), [4, 4], 'a new removal: told at once, again after 1 s');
});

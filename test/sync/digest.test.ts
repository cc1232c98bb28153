import t from 'tap';
import { encode } from '@msgpack/msgpack';
import { Replica } from '../../lib/replica/replica.js';
import { hlcPack } from '../../lib/hlc.js';
import { answerVectorRequest, digestsDiffer, handleDeltaReply, vectorRequest } from '../../lib/sync/digest.js';

const NOW = hlcPack(1_700_000_000_000, 0);

t.test('converged replicas have equal 8-byte digests', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  t.ok(digestsDiffer(a.digest(), b.digest()));
  b.apply([a.publish('c', 1, NOW).delta!], NOW);
  a.apply([b.publish('c', 2, NOW).delta!], NOW);
  t.notOk(digestsDiffer(a.digest(), b.digest()));
  t.equal(a.digest().length, 8);
  t.ok(digestsDiffer(undefined, a.digest()));
  t.ok(digestsDiffer(new Uint8Array(3), a.digest()));
});

t.test('a lagging node gets exactly what it misses in one round trip, and pushes back what it has', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  const raw: number[] = [];
  for (let i = 0; i < 50; i++) raw.push(encode(a.publish('c', { i, text: 'hello world' }, NOW + i).delta!).byteLength);
  b.publish('c', 'only on b', NOW);
  const reply = answerVectorRequest(a, vectorRequest(b));
  t.equal(reply.deltas.length, 50);
  t.ok(reply.vector, 'b is ahead on its own origin: a attaches its vector');
  const rawBytes = raw.reduce((x, y) => x + y, 0);
  const replyBytes = encode({ deltas: reply.deltas }).byteLength;
  t.ok(replyBytes <= rawBytes * 1.2, `${replyBytes} ≤ 1.2 × ${rawBytes}`);
  const outcome = handleDeltaReply(b, reply, NOW);
  t.equal(outcome.push?.deltas.length, 1);
  t.notOk(outcome.needMerkle);
  t.notOk(outcome.again);
  a.apply(outcome.push!.deltas, NOW);
  t.notOk(digestsDiffer(a.digest(), b.digest()));
});

t.test('deltas no longer buffered: unexplained, fall back to Merkle', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1, ringSize: 4 });
  const b = new Replica({ node: 'b', epoch: 1 });
  for (let i = 0; i < 10; i++) a.publish('c', i, NOW + i);
  const reply = answerVectorRequest(a, vectorRequest(b));
  t.ok(reply.unexplained);
  t.ok(handleDeltaReply(b, reply, NOW).needMerkle);
});

t.test('a restart with no change yet still travels (epoch only)', async (t) => {
  const a1 = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  b.apply([a1.join('r', 'c', 'u', null, NOW).delta!], NOW);
  const a2 = new Replica({ node: 'a', epoch: 2 });
  const reply = answerVectorRequest(a2, vectorRequest(b));
  t.ok(reply.vector);
  const outcome = handleDeltaReply(b, reply, NOW);
  t.same(outcome.events.map((e) => e.type), ['client-leave', 'user-leave']);
  t.same(answerVectorRequest(a2, { vector: 'junk' } as never).deltas, []);
});

t.test('truncated answers ask again', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  for (let i = 0; i < 100; i++) a.publish('c', 'x'.repeat(50), NOW + i);
  let rounds = 0;
  for (;;) {
    rounds++;
    const reply = answerVectorRequest(a, vectorRequest(b), 2000);
    const o = handleDeltaReply(b, reply, NOW);
    if (!o.again) break;
  }
  t.ok(rounds > 3);
  t.equal(b.history.count('c'), 100);
});

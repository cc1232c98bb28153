import t from 'tap';
import { encode } from '@msgpack/msgpack';
import { isClusterError } from '../../lib/errors.js';
import { decodeMeta, emptyMeta, encodeMeta } from '../../lib/swim/meta.js';

t.test('round trip', async (t) => {
  const meta = { roles: ['broker'], tags: { region: 'eu-1' }, endpoints: { ws: 'ws://127.0.0.1:8080' }, load: { clients: 12 } };
  t.same(decodeMeta(encodeMeta(meta)), meta);
  t.same(decodeMeta(new Uint8Array()), emptyMeta());
});

t.test('size cap and validation', async (t) => {
  const big = { ...emptyMeta(), tags: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'x'.repeat(100)])) };
  t.throws(() => encodeMeta(big, 4096), /limit is 4096/);
  t.throws(() => encodeMeta({ ...emptyMeta(), roles: ['bad role'] }), /role/);
  t.throws(() => encodeMeta({ ...emptyMeta(), load: { clients: Infinity } }), /finite/);
  for (const junk of [new Uint8Array([0xc1]), encode('x'), encode([1, 2, 3, 4]), encode([[], {}, {}, { a: 'x' }])]) {
    try {
      decodeMeta(junk);
      t.fail('accepted junk');
    } catch (err) {
      t.ok(isClusterError(err, 'E_MESSAGE_INVALID'));
    }
  }
});

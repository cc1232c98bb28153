import t from 'tap';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';

const rnd = new Random('keyring-test');
const [k1, k2, k3] = [rnd.bytes(32), rnd.bytes(32), rnd.bytes(32)];
const msg = [encodeMessage({ type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: '10.0.0.1:7946' })];

t.test('install, use, remove', async (t) => {
  const ring = new Keyring(k1, { keys: [k2] });
  t.same(ring.keys(), [k1, k2]);
  ring.install(k2);
  t.equal(ring.keys().length, 2, 'installing twice is a no-op');
  t.throws(() => ring.use(k3), { code: 'E_KEYRING' }, 'use needs an installed key');
  ring.install(k3);
  ring.use(k3);
  t.same(ring.primary, k3);
  t.same(ring.keys(), [k3, k1, k2]);
  t.throws(() => ring.remove(k3), { code: 'E_KEYRING', message: /primary/ });
  ring.remove(k1);
  t.same(ring.keys(), [k3, k2]);
  t.throws(() => ring.remove(k1), { code: 'E_KEYRING' });
  t.throws(() => ring.install(new Uint8Array(16)), { code: 'E_KEYRING', message: /32 bytes/ });
  t.throws(() => new Keyring(new Uint8Array(31)), { code: 'E_KEYRING' });
  const copy = Uint8Array.from(k1);
  const r2 = new Keyring(copy);
  copy.fill(0);
  t.same(r2.primary, k1, 'keys are copied in');
  r2.primary.fill(0);
  t.same(r2.primary, k1, 'and copied out');
});

t.test('rotation: old key still accepted, new primary used', async (t) => {
  const senderRing = new Keyring(k1);
  const receiverRing = new Keyring(k1);
  const sender = new FrameEncoder({ keyring: senderRing, noncePrefix: rnd.bytes(6) });
  const receiver = new FrameDecoder({ keyring: receiverRing });
  t.ok(receiver.decode(sender.encode(msg)).ok);

  // step 1: every node installs k2; the sender already uses it, the receiver still has k1 primary
  receiverRing.install(k2);
  senderRing.install(k2);
  senderRing.use(k2);
  const withK2 = sender.encode(msg);
  t.ok(receiver.decode(withK2).ok, 'new primary accepted by a node that installed it');
  t.notOk(new FrameDecoder({ keyring: new Keyring(k1) }).decode(sender.encode(msg)).ok, 'but not by one that did not');

  // a frame sealed with the old key still decrypts during the rollout
  const old = new FrameEncoder({ keyring: new Keyring(k1), noncePrefix: rnd.bytes(6) });
  t.ok(receiver.decode(old.encode(msg)).ok, 'old key still accepted');

  // step 2: remove k1 everywhere; frames under k1 now fail
  receiverRing.use(k2);
  receiverRing.remove(k1);
  const r = receiver.decode(old.encode(msg));
  t.notOk(r.ok);
  t.equal(!r.ok && r.error.code, 'E_FRAME_DECRYPT');
});

t.test('label mismatch is rejected even with the same key, and the label is authenticated', async (t) => {
  const ring = new Keyring(k1);
  const a = new FrameEncoder({ label: 'cluster-a', keyring: ring, noncePrefix: rnd.bytes(6) });
  const decB = new FrameDecoder({ label: 'cluster-b', keyring: ring });
  const r = decB.decode(a.encode(msg));
  t.equal(!r.ok && r.error.code, 'E_FRAME_LABEL');

  // an attacker rewriting the label in a sealed frame (same length) breaks the tag
  const frame = a.encode(msg);
  const forged = frame.slice();
  forged.set(new TextEncoder().encode('cluster-b'), 3);
  const r2 = decB.decode(forged);
  t.equal(!r2.ok && r2.error.code, 'E_FRAME_DECRYPT');

  // flipping the deflate flag of a sealed frame breaks the tag too
  const dec = new FrameDecoder({ label: 'cluster-a', keyring: ring });
  const flipped = a.encode(msg);
  flipped[1]! ^= 0x01;
  const r3 = dec.decode(flipped);
  t.equal(!r3.ok && r3.error.code, 'E_FRAME_DECRYPT');
});

t.test('plaintext policy: rolling encryption out without downtime', async (t) => {
  const plain = new FrameEncoder();
  // phase 0: keys installed, nothing enforced
  const ring = new Keyring(k1, { encryptOutgoing: false, requireEncryptedIncoming: false });
  const enc = new FrameEncoder({ keyring: ring, noncePrefix: rnd.bytes(6) });
  const dec = new FrameDecoder({ keyring: ring });
  const f0 = enc.encode(msg);
  t.equal(f0[1]! & 0x02, 0, 'still sending plaintext');
  t.ok(dec.decode(plain.encode(msg)).ok, 'plaintext accepted');
  // phase 1: encrypt outgoing, still accept plaintext from nodes not switched yet
  ring.encryptOutgoing = true;
  t.equal(enc.encode(msg)[1]! & 0x02, 0x02);
  t.ok(dec.decode(enc.encode(msg)).ok);
  t.ok(dec.decode(plain.encode(msg)).ok);
  // phase 2: require encryption
  ring.requireEncryptedIncoming = true;
  const r = dec.decode(plain.encode(msg));
  t.equal(!r.ok && r.error.code, 'E_FRAME_PLAINTEXT');
  t.ok(dec.decode(enc.encode(msg)).ok);
  t.equal(dec.rejected.E_FRAME_PLAINTEXT, 1);
  // a node without a keyring cannot read sealed frames
  const none = new FrameDecoder();
  const r2 = none.decode(enc.encode(msg));
  t.equal(!r2.ok && r2.error.code, 'E_FRAME_DECRYPT');
  // defaults are strict
  const strict = new Keyring(k1);
  t.ok(strict.encryptOutgoing && strict.requireEncryptedIncoming);
});

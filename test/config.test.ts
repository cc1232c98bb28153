import t from 'tap';
import { PROFILES, swimOptions } from '../lib/config.js';
import { isClusterError } from '../lib/errors.js';

t.test('profiles and overrides', async (t) => {
  t.equal(swimOptions().probeIntervalMs, 1000);
  t.equal(swimOptions('lan').probeTimeoutMs, 500);
  t.equal(swimOptions('lan').gossipIntervalMs, 200);
  t.equal(swimOptions('wan').probeIntervalMs, 5000);
  t.equal(swimOptions('local', { gossipNodes: 5 }).gossipNodes, 5);
  t.ok(Object.isFrozen(PROFILES) || PROFILES.lan.probeIntervalMs === 1000);
});

t.test('invalid options are refused with E_CONFIG naming the option', async (t) => {
  const bad = (fn: () => unknown, re: RegExp): void => {
    try {
      fn();
      t.fail('should throw');
    } catch (err) {
      t.ok(isClusterError(err, 'E_CONFIG'));
      t.match((err as Error).message, re);
    }
  };
  bad(() => swimOptions('moon' as 'lan'), /unknown profile "moon"/);
  bad(() => swimOptions('lan', { probeIntervalMs: -1 }), /probeIntervalMs must be a non-negative number/);
  bad(() => swimOptions('lan', { probeTimeoutMs: 2000 }), /probeTimeoutMs \(2000\) must be shorter/);
  bad(() => swimOptions('lan', { bogus: 1 } as never), /unknown membership option "bogus"/);
  bad(() => swimOptions('lan', { streamFallbackPing: 'yes' as never }), /streamFallbackPing must be true or false/);
  bad(() => swimOptions('lan', { verifyBeforeDeath: 1 as never }), /verifyBeforeDeath must be true or false/);
});

import t from 'tap';
import { formatAddress, parseAddress } from '../../lib/transport/address.js';

t.test('parses IPv4, host names and bracketed IPv6', async (t) => {
  t.same(parseAddress('127.0.0.1:7946'), { host: '127.0.0.1', port: 7946, family: 4 });
  t.same(parseAddress('node-1.example:80'), { host: 'node-1.example', port: 80, family: 0 });
  t.same(parseAddress('[::1]:7946'), { host: '::1', port: 7946, family: 6 });
  t.same(parseAddress('[fe80::1%eth0]:1'), { host: 'fe80::1%eth0', port: 1, family: 6 });
  t.same(parseAddress('10.0.0.1:0'), { host: '10.0.0.1', port: 0, family: 4 });
  t.same(parseAddress('10.0.0.1:65535').port, 65535);
});

t.test('a default port fills in a missing one', async (t) => {
  t.same(parseAddress('127.0.0.1', 7946), { host: '127.0.0.1', port: 7946, family: 4 });
  t.same(parseAddress('[::1]', 7946), { host: '::1', port: 7946, family: 6 });
  t.same(parseAddress('::1', 7946), { host: '::1', port: 7946, family: 6 }, 'bare IPv6 only with a default port');
  t.same(parseAddress('host:12', 7946).port, 12, 'an explicit port wins');
});

t.test('malformed addresses throw E_ADDRESS with the reason', async (t) => {
  const bad: [unknown, RegExp][] = [
    ['', /invalid address/],
    ['127.0.0.1', /missing port/],
    ['127.0.0.1:', /port must be/],
    ['127.0.0.1:65536', /port must be/],
    ['127.0.0.1:-1', /port must be/],
    ['127.0.0.1:1e3', /port must be/],
    ['127.0.0.1:123456', /port must be/],
    ['::1:7946', /write IPv6 as \[addr\]:port/],
    ['[::1', /missing "]"/],
    ['[::1]7946', /expected ":port"/],
    ['[127.0.0.1]:1', /not an IPv6 literal/],
    ['[nothost]:1', /not an IPv6 literal/],
    [':7946', /bad host/],
    ['a b:1', /bad host/],
    ['host/x:1', /bad host/],
    ['x'.repeat(400) + ':1', /invalid address/],
    [42, /invalid address/],
  ];
  for (const [input, message] of bad) {
    t.throws(() => parseAddress(input as string), { code: 'E_ADDRESS', message }, JSON.stringify(input));
  }
});

t.test('formatAddress brackets IPv6 and round-trips with parseAddress', async (t) => {
  t.equal(formatAddress('127.0.0.1', 7946), '127.0.0.1:7946');
  t.equal(formatAddress('::1', 7946), '[::1]:7946');
  t.equal(formatAddress('example.org', 1), 'example.org:1');
  for (const [host, port] of [['10.1.2.3', 1], ['::ffff:127.0.0.1', 2], ['2001:db8::1', 65535], ['n.example', 0]] as const) {
    const parsed = parseAddress(formatAddress(host, port));
    t.same([parsed.host, parsed.port], [host, port]);
  }
});

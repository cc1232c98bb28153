import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, envName, loadAgentConfig } from '../../lib/daemon/config.js';
import { tempDir } from './fixtures.js';

t.test('defaults', async (t) => {
  const c = loadAgentConfig([], {});
  t.match(c, { bind: '127.0.0.1:7946', http: '127.0.0.1:7947', dataDir: './clusterd-data', profile: 'lan', logFormat: 'pretty', authReads: true, fsync: 'interval', enableFaults: false });
  t.equal(envName('dataDir'), 'CLUSTERD_DATA_DIR');
});

t.test('precedence: flags > env > file > defaults', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ name: 'from-file', profile: 'wan', label: 'file', join: ['10.0.0.1:7946'], tags: { zone: 'a' }, authReads: false, maxBodyBytes: 4096 }));
  const env = { CLUSTERD_CONFIG: file, CLUSTERD_PROFILE: 'local', CLUSTERD_LABEL: 'env', CLUSTERD_JOIN: '10.0.0.2:7946, 10.0.0.3:7946' };
  const c = loadAgentConfig(['--label', 'flag', '--role', 'broker', '--role', 'worker'], env);
  t.equal(c.name, 'from-file', 'file over defaults');
  t.equal(c.profile, 'local', 'env over file');
  t.equal(c.label, 'flag', 'flags over env');
  t.same(c.join, ['10.0.0.2:7946', '10.0.0.3:7946'], 'env list replaces the file list');
  t.same(c.roles, ['broker', 'worker']);
  t.same(c.tags, { zone: 'a' });
  t.equal(c.authReads, false);
  t.equal(c.maxBodyBytes, 4096);
  t.same(loadAgentConfig(['--config', file, '--join', '10.9.9.9:1'], {}).join, ['10.9.9.9:1'], '--config flag');
});

t.test('every bad option gets a precise error', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"nmae": "x"}');
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"name": ');
  const typed = join(dir, 'typed.json');
  writeFileSync(typed, '{"join": "10.0.0.1:1"}');
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--bogus'], {}, /--bogus/],
    [['--profile', 'moon'], {}, /--profile must be lan, wan or local/],
    [['--log-format', 'xml'], {}, /--log-format must be pretty or json/],
    [['--log-level', 'loud'], {}, /--log-level must be one of/],
    [['--fsync', 'sometimes'], {}, /--fsync must be always, interval or never/],
    [['--bind', 'not-an-address'], {}, /--bind "not-an-address"/],
    [['--bind', 'localhost:7946'], {}, /must be an IP address/],
    [['--http', '127.0.0.1:99999'], {}, /--http .*port must be 0-65535/],
    [['--join', 'a:b'], {}, /--join "a:b"/],
    [['--encrypt-key', 'abcd'], {}, /--encrypt-key must be 32 bytes/],
    [['--tag', 'novalue'], {}, /--tag expects KEY=VALUE/],
    [['--token', 'short'], {}, /--token must be at least 8/],
    [['--auth-reads', 'maybe'], {}, /--auth-reads must be true or false/],
    [['--max-body-bytes', '12'], {}, /--max-body-bytes must be between/],
    [['--name', 'has space'], {}, /--name must be/],
    [['--load-interval', '10'], {}, /--load-interval must be between 100 and 600000 ms, got 10/],
    [[], { CLUSTERD_LOAD_INTERVAL_MS: 'soon' }, /CLUSTERD_LOAD_INTERVAL_MS must be a non-negative integer/],
    [['--auto-load', 'perhaps'], {}, /--auto-load must be true or false/],
    [[], { CLUSTERD_BOGUS: '1' }, /unknown environment variable CLUSTERD_BOGUS/],
    [[], { CLUSTERD_PROFILE: 'moon' }, /--profile must be/],
    [['--config', join(dir, 'missing.json')], {}, /cannot read config file .*ENOENT/],
    [['--config', bad], {}, /unknown field "nmae"/],
    [['--config', broken], {}, /is not valid JSON/],
    [['--config', typed], {}, /field "join" must be an array of strings/],
  ];
  for (const [argv, env, re] of cases) {
    t.throws(() => loadAgentConfig(argv, env), ConfigError, argv.join(' ') || JSON.stringify(env));
    try {
      loadAgentConfig(argv, env);
    } catch (err) {
      t.match((err as Error).message, re);
    }
  }
});

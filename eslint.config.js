// @ts-check
import tseslint from 'typescript-eslint';

/**
 * The sans-IO core (codec, swim, replica, sync) must stay deterministic: time comes from
 * an injected Clock, randomness from a seeded Random, the network from a Transport.
 * These rules make a socket, a timer, Date.now() or Math.random() there a lint error.
 */
const pureCore = {
  files: ['lib/codec/**/*.ts', 'lib/swim/**/*.ts', 'lib/replica/**/*.ts', 'lib/sync/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      paths: ['node:dgram', 'dgram', 'node:net', 'net', 'node:http', 'http', 'node:timers', 'timers',
        'node:timers/promises', 'timers/promises', 'node:fs', 'fs', 'node:fs/promises', 'fs/promises',
        'node:child_process', 'child_process', 'node:worker_threads', 'worker_threads']
        .map((name) => ({ name, message: 'The sans-IO core must not do I/O: go through Transport/Clock.' })),
      patterns: [{ group: ['**/transport/udp*', '**/transport/tcp*', '**/node', '**/node.js'],
        message: 'The sans-IO core must not depend on real transports or the runtime.' }],
    }],
    'no-restricted-globals': ['error',
      ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
        'queueMicrotask', 'performance', 'process']
        .map((name) => ({ name, message: 'Use the injected Clock (lib/clock.ts) instead.' })),
    ],
    'no-restricted-properties': ['error',
      { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
      { object: 'Math', property: 'random', message: 'Use the injected seeded Random.' },
      { object: 'crypto', property: 'randomBytes', message: 'Use the injected seeded Random.' },
    ],
    'no-restricted-syntax': ['error',
      { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock.' },
    ],
  },
};

/**
 * The agent's rooms depend one way: cli and dashboard -> client; daemon -> http -> the
 * node runtime. The client is a package of its own (`clusterd/client`), so it imports
 * none of the server side; the HTTP server gets what it needs from the daemon by
 * interfaces (lib/http/http-api.ts) rather than importing it.
 */
const room = (folder, forbidden, why) => ({
  files: [`lib/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: forbidden.map((f) => `**/${f}/**`), message: `lib/${folder} ${why}` }],
    }],
  },
});
const rooms = [
  room('client', ['daemon', 'http', 'cli', 'dashboard'], 'is the client package: it must not import the server, the CLI or the dashboard.'),
  room('cli', ['daemon', 'http', 'dashboard'], 'talks to the agent through lib/client only.'),
  room('dashboard', ['daemon', 'http'], 'talks to the agent through lib/client only.'),
  room('http', ['daemon', 'cli', 'dashboard'], 'is the server under the daemon: it must not import the daemon (take an interface), the CLI or the dashboard.'),
  room('daemon', ['cli', 'dashboard'], 'is the agent process: it must not import the CLI or the dashboard.'),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'eqeqeq': ['error', 'always'],
      'prefer-const': 'error',
    },
  },
  pureCore,
  ...rooms,
);

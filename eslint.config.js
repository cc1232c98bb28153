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
);

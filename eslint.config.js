// @ts-check
import tseslint from 'typescript-eslint';

const timerGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
  'queueMicrotask', 'performance', 'process'];

/**
 * The sans-IO core (codec, summary, swim, replica, sync) must stay deterministic: time comes from
 * an injected Clock, randomness from a seeded Random, the network from a Transport.
 * These rules make a socket, a timer, Date.now() or Math.random() there a lint error.
 *
 * The runtime (lib/runtime/: NodeRuntime, its wires; lib/app-messages.ts) and the
 * replication runtime (lib/replication/) are held to the same rule: they run unchanged
 * in ClusterNode and in the simulator, so its timers come from the host's Clock, its
 * yields from ReplicatorHost.defer, its streams from host.dial. node:zlib (bulk-chunks.ts)
 * is not I/O and is allowed here as in codec/ (frame.ts, bounded-inflate.ts). The one
 * exception is below (replicationMicrotask).
 */
const pureCore = {
  files: ['lib/codec/**/*.ts', 'lib/summary/**/*.ts', 'lib/swim/**/*.ts', 'lib/replica/**/*.ts', 'lib/sync/**/*.ts', 'lib/replication/**/*.ts',
    'lib/runtime/**/*.ts', 'lib/app-messages.ts'],
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
      ...timerGlobals.map((name) => ({ name, message: 'Use the injected Clock (lib/clock.ts) instead.' })),
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
 * lib/replication/subscription.ts coalesces a burst of store events into one re-read with
 * queueMicrotask: the read still happens in the same turn, after the writer's synchronous
 * code, and does not depend on time, so it behaves the same in the daemon and in the
 * simulator. Every other timer stays banned there.
 */
const replicationMicrotask = {
  files: ['lib/replication/subscription.ts'],
  rules: {
    'no-restricted-globals': ['error',
      ...timerGlobals.filter((name) => name !== 'queueMicrotask')
        .map((name) => ({ name, message: 'Use the injected Clock (lib/clock.ts) instead.' })),
    ],
  },
};

/**
 * Dependencies point one way: codec/ (wire formats) and summary/ (hashes, version
 * vectors, Merkle trees) are below replica/ (the replicated state) and sync/ (the
 * anti-entropy over it); replica/ and sync/ may name each other's types (a session takes
 * a Replica) but never import each other's values, so neither needs the other to load.
 * The replication runtime (replication/) and the node runtime sit above all of them.
 */
const layer = (files, patterns) => ({ files, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } });
const layers = [
  layer(['lib/codec/**/*.ts'], [{ regex: '(^|/)(replica|sync|replication|swim)/',
    message: 'codec/ is below replica/, sync/, swim/ and the runtimes: move the shared type or constant down (codec/replication-types.ts) or into summary/.' }]),
  layer(['lib/summary/**/*.ts'], [{ regex: '(^|/)(codec|replica|sync|replication|swim)/',
    message: 'summary/ is a leaf: it imports nothing above it.' }]),
  layer(['lib/replica/**/*.ts'], [
    { regex: '(^|/)sync/', allowTypeImports: true, message: 'replica/ may name sync/ types only (import type); shared values live in summary/ or codec/.' },
    { regex: '(^|/)(replication|swim)/', message: 'replica/ is below the runtimes and membership.' }]),
  layer(['lib/sync/**/*.ts'], [
    { regex: '(^|/)replica/', allowTypeImports: true, message: 'sync/ may name replica/ types only (import type); shared values live in summary/ or codec/.' },
    { regex: '(^|/)(replication|swim)/', message: 'sync/ is below the runtimes and membership.' }]),
];

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

/**
 * The daemon, the HTTP server, the CLI, the dashboard and the simulator use the library
 * through its public surface (lib/index.ts) or the internal barrel (lib/internal.ts), so
 * what they depend on beyond the public API is one reviewed list, and the library's
 * files can move without touching them. The agent's rooms may import one another (as
 * `rooms` allows) and the simulator the one API client (lib/client/, for sim --real).
 */
const surfaceMessage = 'import the library through lib/index.ts or lib/internal.ts (add what is missing to lib/internal.ts)';
const surface = [
  { files: ['lib/daemon/**/*.ts', 'lib/http/**/*.ts', 'lib/cli/**/*.ts', 'lib/dashboard/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [
      { regex: '^\\.\\./(?!(daemon|http|cli|client|dashboard)/|index\\.js$|internal\\.js$)', message: `The agent's rooms ${surfaceMessage}.` }] }] } },
  // `clusterd record` writes the simulator's scenario format with the simulator's own
  // converter and validator (a recorded trace is a scenario by construction); the CLI
  // sits above both, and nothing under simulations/ imports the CLI
  { files: ['lib/cli/record.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [
      { regex: '^\\.\\./(?!(daemon|http|cli|client|dashboard)/|index\\.js$|internal\\.js$|\\.\\./simulations/(scenario|trace-scenario)\\.js$)', message: `The agent's rooms ${surfaceMessage}.` }] }] } },
  { files: ['simulations/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [
      { regex: '(^|/)lib/(?!index\\.js$|internal\\.js$|client/)', message: `The simulator must ${surfaceMessage}.` }] }] } },
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
  replicationMicrotask,
  ...layers,
  ...rooms,
  ...surface,
);

// A Socket.IO server with its clusterd node in a process of its own, for kill -9 tests:
// `node --import tsx test/socket.io/child-server.ts <index> <seed> [recovery JSON]` prints its URL when ready.
import { startServer } from './fixtures.js';
import type { RecoverySetup } from './fixtures.js';

const [index, seed, recovery] = process.argv.slice(2);
const s = await startServer(Number(index), seed, {}, recovery ? (JSON.parse(recovery) as RecoverySetup) : undefined);
process.stdout.write(`${JSON.stringify({ url: s.url, name: s.node.name })}\n`);

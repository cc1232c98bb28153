// A Socket.IO server with its clusterd node in a process of its own, for kill -9 tests:
// `node --import tsx test/socket.io/child-server.ts <index> <seed>` prints its URL when ready.
import { startServer } from './fixtures.js';

const [index, seed] = process.argv.slice(2);
const s = await startServer(Number(index), seed);
process.stdout.write(`${JSON.stringify({ url: s.url, name: s.node.name })}\n`);

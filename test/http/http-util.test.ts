import t from 'tap';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { lingerAfterResponse } from '../../lib/http/http-util.js';

/** A server that answers 413 at once and lingers with the given bounds. */
async function server(maxBytes: number, ms: number): Promise<{ port: number; closed: Promise<number>; stop: () => Promise<void> }> {
  let onClose!: (bytesRead: number) => void;
  const closed = new Promise<number>((r) => (onClose = r));
  const srv = createServer((req, res) => {
    req.socket.once('close', () => onClose(req.socket.bytesRead));
    res.on('finish', () => lingerAfterResponse(req, { maxBytes, ms }));
    res.writeHead(413, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"E_TOO_LARGE","message":"too large"}}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, closed, stop: () => new Promise((r) => {
    srv.close(() => r());
    srv.closeAllConnections();
  }) };
}

/**
 * Sends a request with a `total`-byte body over a raw socket in 64 KiB writes (Node's
 * http client stops writing once the answer has come, which would hide the server's
 * part), and resolves with the status line read and how the socket ended.
 */
function send(port: number, total: number, pauseMs = 0): Promise<{ status: string; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let error: string | undefined;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => resolve({ status: answer.split('\r\n')[0] ?? '', error }));
    socket.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024);
    let left = total;
    const pump = (): void => {
      while (left > 0 && !socket.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(chunk.subarray(0, n))) return void socket.once('drain', pump);
        if (pauseMs > 0) return void setTimeout(pump, pauseMs);
      }
      if (!socket.destroyed) socket.end();
    };
    pump();
  });
}

t.test('the rest of the body is discarded, and the connection stays open while it comes', async (t) => {
  const s = await server(64 * 1024 * 1024, 5_000);
  t.teardown(s.stop);
  const total = 32 * 1024 * 1024;
  const [r, bytesRead] = await Promise.all([send(s.port, total), s.closed]);
  t.same(r, { status: 'HTTP/1.1 413 Payload Too Large', error: undefined }, 'answered, then closed cleanly after the client ended');
  t.ok(bytesRead > total, `the server read all ${total} bytes (${bytesRead} with the headers)`);
});

t.test('a body past the byte bound gets the socket destroyed', async (t) => {
  const s = await server(256 * 1024, 5_000);
  t.teardown(s.stop);
  const total = 64 * 1024 * 1024;
  const [r, bytesRead] = await Promise.all([send(s.port, total), s.closed]);
  t.equal(r.status, 'HTTP/1.1 413 Payload Too Large', 'the answer was read before the close');
  t.ok(bytesRead < total / 2, `closed after ${bytesRead} of ${total} bytes`);
});

t.test('a body that trickles past the time bound gets the socket destroyed', async (t) => {
  const s = await server(64 * 1024 * 1024, 200);
  t.teardown(s.stop);
  // 64 KiB every 50 ms would take 6.4 s for 8 MiB
  const total = 8 * 1024 * 1024;
  const [r, bytesRead] = await Promise.all([send(s.port, total, 50), s.closed]);
  t.equal(r.status, 'HTTP/1.1 413 Payload Too Large');
  t.ok(bytesRead < total / 4, `closed after ${bytesRead} of ${total} bytes`);
});

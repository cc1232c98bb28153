import { closeSync, existsSync, fdatasync, fdatasyncSync, ftruncate, ftruncateSync, openSync, readFileSync, truncateSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { crc32 } from './crc32.js';

/** Bytes before each record: u32 length, u32 CRC-32 of the payload (big-endian). */
export const RECORD_HEADER_BYTES = 8;
/** Largest record accepted when reading; a longer length field means corruption. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** What {@link readRecordLog} found. */
export interface RecordLogContents {
  records: Uint8Array[];
  /** Bytes of valid records from the start of the file. */
  validBytes: number;
  /** Bytes after the last valid record (a torn write or corruption), 0 when clean. */
  discardedBytes: number;
  /** Why reading stopped early, when it did. */
  problem: string | undefined;
}

/**
 * Reads an append-only log of length-prefixed, checksummed records up to the first
 * record that is truncated or fails its checksum. Everything from there on is reported
 * as discarded: with appends only ever at the end, a bad record is a torn tail (crash
 * mid-write), and records after a corrupt one cannot be trusted to be framed right.
 */
export function readRecordLog(path: string): RecordLogContents {
  if (!existsSync(path)) return { records: [], validBytes: 0, discardedBytes: 0, problem: undefined };
  const buf = readFileSync(path);
  const records: Uint8Array[] = [];
  let off = 0;
  let problem: string | undefined;
  while (off < buf.length) {
    if (buf.length - off < RECORD_HEADER_BYTES) {
      problem = `truncated record header at byte ${off}`;
      break;
    }
    const len = buf.readUInt32BE(off);
    const sum = buf.readUInt32BE(off + 4);
    if (len > MAX_RECORD_BYTES) {
      problem = `record at byte ${off} claims ${len} bytes (corrupt length)`;
      break;
    }
    if (buf.length - off - RECORD_HEADER_BYTES < len) {
      problem = `truncated record at byte ${off} (${len} bytes announced, ${buf.length - off - RECORD_HEADER_BYTES} present)`;
      break;
    }
    const payload = buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
    if (crc32(payload) !== sum) {
      problem = `checksum mismatch in record at byte ${off}`;
      break;
    }
    records.push(payload);
    off += RECORD_HEADER_BYTES + len;
  }
  return { records, validBytes: off, discardedBytes: buf.length - off, problem };
}

/** Cuts a log back to its valid prefix. */
export function truncateRecordLog(path: string, validBytes: number): void {
  truncateSync(path, validBytes);
}

/** Frames one record: header plus payload. */
export function frameRecord(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

/** When appended records reach the disk. */
export type SyncPolicy = 'always' | 'interval' | 'never';

/**
 * An append-only record log with group commit. `always` writes and fdatasyncs each
 * record before `append` returns (durable, slow, blocks the event loop for the disk's
 * latency); `interval` buffers records and, on each `flush` (the owner calls it every
 * 100 ms), writes them on the thread pool, then fdatasyncs at most once per
 * `syncIntervalMs`; `never` writes on flush and leaves syncing to the OS. With
 * `interval` and `never` no disk wait ever runs on the event loop: a write stuck behind
 * an fsync would stall probes and acks and get the node suspected.
 */
export class RecordLogWriter {
  private fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lastSync = 0;
  private inFlight: Promise<void> | undefined;
  private truncateAfter = false;
  /** Records in the file (including pending ones). */
  count: number;
  /** Bytes in the file (including pending ones). */
  bytes: number;

  /**
   * @param path file to append to (created when missing)
   * @param policy see the class comment
   * @param existing records and bytes already in the file
   * @param syncIntervalMs @default 1000
   */
  constructor(
    private readonly path: string,
    private readonly policy: SyncPolicy,
    existing: { count: number; bytes: number },
    private readonly syncIntervalMs = 1000,
  ) {
    this.fd = openSync(path, 'a');
    this.count = existing.count;
    this.bytes = existing.bytes;
  }

  append(payload: Uint8Array): void {
    const rec = frameRecord(payload);
    this.count++;
    this.bytes += rec.length;
    if (this.policy === 'always') {
      writeAll(this.fd, rec);
      fdatasyncSync(this.fd);
      return;
    }
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    // bound what waits in memory: beyond 16 MiB behind a slow disk, write synchronously
    if (this.pendingBytes > 16 * 1024 * 1024) this.flushSync(false);
  }

  /** Starts writing pending records in the background (one batch at a time). */
  flush(): void {
    if (this.inFlight || this.fd < 0 || (this.pending.length === 0 && !this.truncateAfter)) return;
    const batch = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const now = Date.now();
    const sync = this.policy === 'interval' && now - this.lastSync >= this.syncIntervalMs;
    if (sync) this.lastSync = now;
    const fd = this.fd;
    this.inFlight = (async () => {
      try {
        if (this.truncateAfter) {
          this.truncateAfter = false;
          await promisify(ftruncate)(fd, 0);
        }
        let off = 0;
        while (off < batch.length) off += await writeAsync(fd, batch, off);
        if (sync) await promisify(fdatasync)(fd);
      } catch {
        // the fd was closed under us (shutdown) or the disk failed: the snapshot at exit covers it
      } finally {
        this.inFlight = undefined;
      }
    })();
  }

  private flushSync(sync: boolean): void {
    if (this.pending.length > 0) {
      writeAll(this.fd, Buffer.concat(this.pending));
      this.pending = [];
      this.pendingBytes = 0;
    }
    if (sync) fdatasyncSync(this.fd);
  }

  /** Empties the log (after its records were folded into a snapshot). */
  reset(): void {
    // every record appended so far is in the snapshot, pending ones included
    this.pending = [];
    this.pendingBytes = 0;
    if (this.inFlight) this.truncateAfter = true;
    else ftruncateSync(this.fd, 0);
    this.count = 0;
    this.bytes = 0;
  }

  /** Waits for the write in flight, writes the rest, syncs (unless `never`) and closes. */
  async close(): Promise<void> {
    if (this.fd < 0) return;
    await this.inFlight;
    if (this.truncateAfter) ftruncateSync(this.fd, 0);
    this.flushSync(this.policy !== 'never');
    closeSync(this.fd);
    this.fd = -1;
  }

  get file(): string {
    return this.path;
  }
}

function writeAsync(fd: number, buf: Buffer, off: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : resolve(n))));
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

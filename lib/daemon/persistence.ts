import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decode, Encoder } from '@msgpack/msgpack';
import { ownPayload } from '../internal.js';
import type { HistoryEntry } from '../internal.js';
import { writeFileAtomic } from './atomic-file.js';
import { crc32 } from './crc32.js';
import { readRecordLog, RecordLogWriter, truncateRecordLog } from './record-log.js';
import type { SyncPolicy } from './record-log.js';

const ENTRY_ENCODER = new Encoder();

/** The node's identity: its name and the highest incarnation it has used. */
export interface Identity {
  name: string;
  incarnation: number;
}

/** A member remembered so the node can rejoin when its seeds are gone. */
export interface StoredMember {
  name: string;
  address: string;
}

/** Everything read back from a data dir, with what had to be repaired. */
export interface LoadedState {
  identity: Identity | undefined;
  /** Gossip keys, primary first (undefined: no keyring stored). */
  keys: Uint8Array[] | undefined;
  members: StoredMember[];
  /** The replica snapshot as stored (msgpack bytes of `node.snapshot()`). */
  snapshot: Uint8Array | undefined;
  /** History entries appended since the snapshot, in log order. */
  entries: HistoryEntry[];
  /** Problems found and repaired (a file moved aside, a log tail cut), for the log. */
  problems: string[];
}

const SNAPSHOT_MAGIC = Buffer.from('CLDSNAP1');
const FILES = {
  identity: 'identity.json',
  keyring: 'keyring.json',
  members: 'members.json',
  snapshot: 'history.snapshot',
  log: 'history.log',
  lock: 'LOCK',
} as const;

/** Thrown when the data dir cannot be used at all (not writable, held by another agent). */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

/**
 * The agent's data directory. Small state (identity, keyring, members) lives in JSON
 * files replaced atomically; history is a checksummed snapshot plus an append-only log
 * of the entries stored since (see docs/operations.md for the layout and fsync policy).
 * Anything unreadable is moved aside as `<file>.corrupt-<time>` and reported, never
 * fatal: a node that lost its history catches up from its peers.
 */
export class DataDir {
  private log: RecordLogWriter | undefined;
  private locked = false;

  private constructor(readonly dir: string) {}

  /** Creates the directory when needed and takes its lock (one agent per data dir). */
  static open(dir: string): DataDir {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DataDirError(`cannot create data dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const d = new DataDir(dir);
    d.lock();
    return d;
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  private lock(): void {
    const file = this.path(FILES.lock);
    const key = resolve(this.dir);
    if (lockedHere.has(key)) throw new DataDirError(`data dir ${this.dir} is already in use by this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
        this.locked = true;
        lockedHere.add(key);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new DataDirError(`cannot write to data dir ${this.dir}: ${code ?? (err as Error).message}`);
      }
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DataDirError(`data dir ${this.dir} is in use by another agent (pid ${pid}); use another --data-dir`);
      }
      // a stale lock from a process that died (SIGKILL), or our own pid recorded by a
      // previous run (pid 1 in a container): take it over
      unlinkSync(file);
    }
    throw new DataDirError(`cannot lock data dir ${this.dir}`);
  }

  /** Reads everything back, repairing what is damaged. */
  load(): LoadedState {
    const problems: string[] = [];
    const identity = this.readJson(FILES.identity, problems, (v) => {
      const o = v as Partial<Identity>;
      if (typeof o.name !== 'string' || o.name === '' || !Number.isSafeInteger(o.incarnation) || o.incarnation! < 0) throw new Error('expected {name, incarnation}');
      return { name: o.name, incarnation: o.incarnation! };
    });
    const keys = this.readJson(FILES.keyring, problems, (v) => {
      const o = v as { keys?: unknown };
      if (!Array.isArray(o.keys) || o.keys.length === 0) throw new Error('expected {keys: [base64, ...]}');
      return o.keys.map((k) => {
        const b = typeof k === 'string' ? Buffer.from(k, 'base64') : Buffer.alloc(0);
        if (b.length !== 32) throw new Error('every key must be 32 bytes in base64');
        return new Uint8Array(b);
      });
    });
    const members = this.readJson(FILES.members, problems, (v) => {
      const o = v as { members?: unknown };
      if (!Array.isArray(o.members)) throw new Error('expected {members: [...]}');
      return o.members
        .filter((m): m is StoredMember => typeof m === 'object' && m !== null && typeof (m as StoredMember).name === 'string' && typeof (m as StoredMember).address === 'string')
        .slice(0, 16384);
    }) ?? [];

    let snapshot: Uint8Array | undefined;
    const snapPath = this.path(FILES.snapshot);
    if (existsSync(snapPath)) {
      const buf = readFileSync(snapPath);
      const ok = buf.length >= 12 && buf.subarray(0, 8).equals(SNAPSHOT_MAGIC) && crc32(buf.subarray(12)) === buf.readUInt32BE(8);
      if (ok) snapshot = new Uint8Array(buf.subarray(12));
      else problems.push(this.quarantine(FILES.snapshot, 'bad header or checksum'));
    }

    const entries: HistoryEntry[] = [];
    const logPath = this.path(FILES.log);
    const contents = readRecordLog(logPath);
    for (const rec of contents.records) {
      try {
        // a view would keep the whole log file's buffer alive as long as the entry lives
        const e = ownPayload(decode(rec)) as HistoryEntry;
        if (typeof e === 'object' && e !== null && typeof e.channel === 'string' && typeof e.node === 'string') entries.push(e);
      } catch {
        // a record that passed its checksum but does not decode: skip that one entry
        problems.push(`${FILES.log}: skipped an undecodable record`);
      }
    }
    if (contents.problem !== undefined) {
      truncateRecordLog(logPath, contents.validBytes);
      problems.push(`${FILES.log}: ${contents.problem}; cut ${contents.discardedBytes} bytes, kept ${contents.records.length} entries`);
    }
    this.logState = { count: contents.records.length, bytes: contents.validBytes };
    return { identity, keys, members, snapshot, entries, problems };
  }

  private logState = { count: 0, bytes: 0 };

  private readJson<T>(file: string, problems: string[], check: (v: unknown) => T): T | undefined {
    const p = this.path(file);
    if (!existsSync(p)) return undefined;
    try {
      const v: unknown = JSON.parse(readFileSync(p, 'utf8'));
      if (typeof v !== 'object' || v === null) throw new Error('not a JSON object');
      return check(v);
    } catch (err) {
      problems.push(this.quarantine(file, (err as Error).message));
      return undefined;
    }
  }

  /** Moves a damaged file aside (kept for inspection) and describes what happened. */
  private quarantine(file: string, why: string): string {
    const aside = `${file}.corrupt-${Date.now()}`;
    try {
      renameSync(this.path(file), this.path(aside));
    } catch {
      // if it cannot be moved it will be overwritten by the next save
    }
    return `${file} is corrupt (${why}); moved to ${aside} and started without it`;
  }

  saveIdentity(id: Identity): void {
    writeFileAtomic(this.path(FILES.identity), `${JSON.stringify(id)}\n`);
  }

  saveKeys(keys: Uint8Array[]): void {
    // the keyring is a secret: owner-only
    writeFileAtomic(this.path(FILES.keyring), `${JSON.stringify({ keys: keys.map((k) => Buffer.from(k).toString('base64')) })}\n`, 0o600);
  }

  saveMembers(members: StoredMember[]): void {
    writeFileAtomic(this.path(FILES.members), `${JSON.stringify({ members })}\n`);
  }

  /**
   * Stores a replica snapshot, then empties the log: the snapshot holds everything the
   * log did. A crash in between leaves a log whose entries the snapshot already has,
   * which restoring tolerates (entries are idempotent by id).
   */
  saveSnapshot(bytes: Uint8Array): void {
    const header = Buffer.alloc(12);
    SNAPSHOT_MAGIC.copy(header, 0);
    header.writeUInt32BE(crc32(bytes), 8);
    writeFileAtomic(this.path(FILES.snapshot), Buffer.concat([header, bytes]));
    this.log?.reset();
  }

  /** Opens the history log for appending (after {@link load}). */
  openLog(policy: SyncPolicy): RecordLogWriter {
    this.log ??= new RecordLogWriter(this.path(FILES.log), policy, this.logState);
    return this.log;
  }

  appendEntry(entry: HistoryEntry): void {
    // one encoder for every entry: msgpack's encode() builds a new Encoder (and its 2 KiB
    // buffer) per call, which was a tenth of a batch publish's CPU, mostly in GC. The
    // shared view is safe because append copies it into the framed record at once.
    this.log?.append(ENTRY_ENCODER.encodeSharedRef(entry));
  }

  /** Writes pending log records (the agent calls this every 100 ms). */
  flush(): void {
    this.log?.flush();
  }

  /** Entries in the log since the last snapshot. */
  get logEntries(): number {
    return this.log?.count ?? this.logState.count;
  }

  /** Flushes, syncs and releases the lock. */
  async close(): Promise<void> {
    await this.log?.close();
    this.log = undefined;
    if (this.locked) {
      try {
        unlinkSync(this.path(FILES.lock));
      } catch {
        // already gone
      }
      this.locked = false;
      lockedHere.delete(resolve(this.dir));
    }
  }
}

/** Data dirs locked by this process. */
const lockedHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import type { HistoryEntry } from '../codec/replication-types.js';
import type { DropsWire } from './drops.js';
import type { ReadCursor } from './cursor.js';
import type { Position } from './position.js';
export type { HistoryEntry } from '../codec/replication-types.js';

/** Retention of one channel. */
export interface ChannelSettings {
  /** Entries kept (the newest). @default HistoryOptions.defaultMaxEntries */
  maxEntries?: number;
  /** Entries older than this (by HLC wall time) are dropped; 0 keeps them forever. @default HistoryOptions.defaultTtlMs */
  ttlMs?: number;
}

/** Options of a {@link HistoryStore}; must be equal on every node. */
export interface HistoryOptions {
  /** Entries kept per channel unless `settingsFor` says otherwise. @default 100 */
  defaultMaxEntries?: number;
  /** Time to live of entries unless `settingsFor` says otherwise; 0 = forever. @default 0 */
  defaultTtlMs?: number;
  /** Per-channel retention (must be a pure function of the name). @default () => undefined */
  settingsFor?: (channel: string) => ChannelSettings | undefined;
  /** Idempotency keys remembered per channel. @default 1000 */
  dedupeWindow?: number;
  /** Ceiling applied to every cap. @default 100000 */
  maxEntriesCeiling?: number;
}

/**
 * Entries a reader will never get: they were dropped (cap, TTL, low-water mark) before
 * it read them. With `node` and `epoch`, they are that origin epoch's entries numbered
 * `from`..`to` ({@link HistoryEntry.c}); without them the origins are no longer known
 * (the reader was further behind than the channel remembers its drops).
 */
export interface HistoryGap {
  node?: string;
  epoch?: number;
  /** First lost number; absent when not known (the loss starts somewhere above the reader's floor). */
  from?: number;
  /** Last lost number. */
  to?: number;
  /** Entries lost: exact when `exact`, else a lower bound. */
  count: number;
  exact: boolean;
}

/** The answer to a history read. */
export interface HistoryPage {
  entries: HistoryEntry[];
  /**
   * False when entries the reader had not been given are no longer held (`gaps` says
   * which). Never false by accident, never true while something is missing.
   */
  complete: boolean;
  gaps: HistoryGap[];
  /** True when more held entries follow the last one returned. */
  more: boolean;
  /**
   * True when this replica has not received every entry the reader may be owed yet (an
   * entry numbered before one returned is still on its way): they come in a later read,
   * never lost.
   */
  pending: boolean;
  /** The reader's progress after this page: resume from it, on any node. */
  cursor: ReadCursor;
}

/** A channel's low-water mark and drop summary, as the Merkle exchange carries them. */
export interface LowWaterState {
  mark: Position;
  drops: DropsWire;
}

/** The persisted form of a replica's history (plain data; msgpack it to store). */
export interface HistorySnapshot {
  channels: { channel: string; lowWater?: Position; drops?: DropsWire; entries: HistoryEntry[] }[];
}

/** What happened to an inserted entry. */
export type InsertStatus = 'added' | 'duplicate' | 'below-low-water' | 'expired';

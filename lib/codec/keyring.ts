import { createSecretKey, type KeyObject } from 'node:crypto';
import { ClusterError } from '../errors.js';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;

/** Options of {@link Keyring}. */
export interface KeyringOptions {
  /** Extra keys accepted for decryption besides the primary. @default [] */
  keys?: readonly Uint8Array[];
  /**
   * Encrypt frames we send. Turn off (with `requireEncryptedIncoming` off) on every node
   * first when rolling encryption out, then turn this on everywhere, then require it.
   * @default true
   */
  encryptOutgoing?: boolean;
  /** Refuse plaintext frames with E_FRAME_PLAINTEXT. @default true */
  requireEncryptedIncoming?: boolean;
}

interface Entry {
  bytes: Uint8Array;
  object: KeyObject;
}

/**
 * The cluster's AES-256-GCM keys: one primary used to encrypt, every installed key
 * accepted to decrypt, so keys rotate without downtime (install the new key on every
 * node, `use` it everywhere, then `remove` the old one). The two flags play the role of
 * memberlist's GossipVerifyOutgoing/Incoming for rolling encryption out.
 */
export class Keyring {
  /** See {@link KeyringOptions.encryptOutgoing}. */
  encryptOutgoing: boolean;
  /** See {@link KeyringOptions.requireEncryptedIncoming}. */
  requireEncryptedIncoming: boolean;
  private entries: Entry[] = [];

  /** @param primary the 32-byte key used to encrypt. */
  constructor(primary: Uint8Array, options: KeyringOptions = {}) {
    this.entries.push(makeEntry(primary));
    for (const k of options.keys ?? []) this.install(k);
    this.encryptOutgoing = options.encryptOutgoing ?? true;
    this.requireEncryptedIncoming = options.requireEncryptedIncoming ?? true;
  }

  /** Adds a key accepted for decryption (installing an installed key is a no-op). */
  install(key: Uint8Array): void {
    const entry = makeEntry(key);
    if (this.indexOf(entry.bytes) < 0) this.entries.push(entry);
  }

  /** Makes an installed key the primary. Throws E_KEYRING when it is not installed. */
  use(key: Uint8Array): void {
    const i = this.indexOf(checkKey(key));
    if (i < 0) throw new ClusterError('E_KEYRING', 'cannot use a key that is not installed: install it first');
    const [entry] = this.entries.splice(i, 1);
    this.entries.unshift(entry!);
  }

  /** Removes a key. Throws E_KEYRING for the primary or a key that is not installed. */
  remove(key: Uint8Array): void {
    const i = this.indexOf(checkKey(key));
    if (i < 0) throw new ClusterError('E_KEYRING', 'cannot remove a key that is not installed');
    if (i === 0) throw new ClusterError('E_KEYRING', 'cannot remove the primary key: use another key first');
    this.entries.splice(i, 1);
  }

  /** A copy of the primary key. */
  get primary(): Uint8Array {
    return this.entries[0]!.bytes.slice();
  }

  /** Copies of every installed key, primary first. */
  keys(): Uint8Array[] {
    return this.entries.map((e) => e.bytes.slice());
  }

  /** The primary as a KeyObject (for the frame encoder). */
  primaryKeyObject(): KeyObject {
    return this.entries[0]!.object;
  }

  /** Every key as a KeyObject, primary first (for the frame decoder to try in turn). */
  keyObjects(): KeyObject[] {
    return this.entries.map((e) => e.object);
  }

  private indexOf(bytes: Uint8Array): number {
    return this.entries.findIndex((e) => equal(e.bytes, bytes));
  }
}

function checkKey(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new ClusterError('E_KEYRING', `a key must be ${KEY_BYTES} bytes (AES-256), got ${got}`);
  }
  return key;
}

function makeEntry(key: Uint8Array): Entry {
  // copy so a caller zeroing or reusing its buffer cannot change our keys
  const bytes = Uint8Array.from(checkKey(key));
  return { bytes, object: createSecretKey(bytes) };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

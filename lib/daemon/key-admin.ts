import { createHash } from 'node:crypto';
import { ClusterError } from '../internal.js';
import type { Keyring } from '../internal.js';

/** A key as listed by the API: a fingerprint, never the key itself. */
export interface KeyInfo {
  /** First 8 bytes of SHA-256 of the key, hex: enough to tell keys apart, useless to an attacker. */
  fingerprint: string;
  primary: boolean;
}

/**
 * Keyring administration for a running agent: changes apply to the live keyring (the
 * frame codec reads it on every frame) and are persisted to the data dir before the
 * call returns, so a restart comes back with the rotated keys.
 *
 * Rotation across a cluster is driven by the CLI (`clusterd keys install|use|remove`),
 * which applies each step to every member's API in turn: install the new key
 * everywhere, then use it everywhere, then remove the old one. Each step is idempotent,
 * so an interrupted rotation is finished by running the same command again.
 */
export class KeyAdmin {
  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly persist: (keys: Uint8Array[]) => void,
  ) {}

  get enabled(): boolean {
    return this.keyring !== undefined;
  }

  list(): KeyInfo[] {
    return this.ring().keys().map((k, i) => ({ fingerprint: fingerprint(k), primary: i === 0 }));
  }

  install(b64: string): KeyInfo[] {
    this.ring().install(parseKey(b64));
    return this.save();
  }

  use(b64: string): KeyInfo[] {
    this.ring().use(parseKey(b64));
    return this.save();
  }

  remove(b64: string): KeyInfo[] {
    const ring = this.ring();
    const key = parseKey(b64);
    // removing a key that is already gone is success: reruns of a rotation must pass
    if (!ring.keys().some((k) => Buffer.from(k).equals(key))) return this.list();
    ring.remove(key);
    return this.save();
  }

  private save(): KeyInfo[] {
    this.persist(this.ring().keys());
    return this.list();
  }

  private ring(): Keyring {
    if (!this.keyring) throw new ClusterError('E_KEYRING', 'gossip encryption is off on this agent: start it with --encrypt-key or --keyring-file to manage keys');
    return this.keyring;
  }
}

/** The fingerprint of a key. */
export function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('hex');
}

function parseKey(b64: unknown): Buffer {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new ClusterError('E_INVALID_ARGUMENT', 'key must be base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw new ClusterError('E_INVALID_ARGUMENT', `key must be 32 bytes (AES-256) in base64, got ${key.length} bytes`);
  return key;
}

/**
 * `clusterd/socket.io`: the Socket.IO adapter over clusterd (no Redis). See docs/socket.io.md.
 */
export { createAdapter, ClusterdAdapter } from './adapter.js';
export { recoveryHistory } from './recovery.js';
export type { RecoveryHistoryOptions } from './recovery.js';
export type { AdapterConstructor, AdapterOptions, AdapterStats } from './adapter.js';
export type { Handshake, PresenceOptions } from './presence.js';

import { ClusterError } from '../internal.js';

/** ClusterError codes that describe a bad request rather than a server fault (HTTP 4xx). */
export function isClientError(err: unknown): err is ClusterError {
  return err instanceof ClusterError && (err.code === 'E_INVALID_ARGUMENT' || err.code === 'E_LIMIT' || err.code === 'E_BAD_CURSOR');
}

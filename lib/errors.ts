/**
 * Stable error codes. Once shipped, a code keeps its meaning: scripts match on them.
 */
export type ErrorCode =
  | 'E_CONFIG'
  | 'E_CLOSED'
  | 'E_TIMEOUT'
  | 'E_UNREACHABLE'
  | 'E_ADDRESS'
  | 'E_FRAME_TRUNCATED'
  | 'E_FRAME_VERSION'
  | 'E_FRAME_FLAGS'
  | 'E_FRAME_TOO_LARGE'
  | 'E_FRAME_LABEL'
  | 'E_FRAME_DECRYPT'
  | 'E_FRAME_PLAINTEXT'
  | 'E_FRAME_REPLAY'
  | 'E_FRAME_INFLATE'
  | 'E_FRAME_DECODE'
  | 'E_MESSAGE_INVALID'
  | 'E_KEYRING'
  | 'E_NAME_CONFLICT'
  | 'E_LIMIT'
  | 'E_INVALID_ARGUMENT'
  | 'E_BAD_CURSOR';

/** The one error type clusterd throws; `code` is stable, `message` is for humans. */
export class ClusterError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}

/** True when `err` is a ClusterError, optionally with the given code. */
export function isClusterError(err: unknown, code?: ErrorCode): err is ClusterError {
  return err instanceof ClusterError && (code === undefined || err.code === code);
}

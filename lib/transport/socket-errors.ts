import { ClusterError } from '../errors.js';

/** The errno code of a Node system error, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns a failed bind into a ClusterError an operator can act on, instead of a raw
 * "listen EADDRINUSE" with a stack trace.
 */
export function bindError(err: unknown, proto: 'udp' | 'tcp', host: string, port: number): ClusterError {
  const code = errnoOf(err);
  const where = `port ${port} on ${host}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ClusterError('E_ADDRESS', `${where} is already in use (${proto})`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new ClusterError('E_ADDRESS', `address ${host} is not assigned to any interface of this host`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new ClusterError('E_ADDRESS', `permission denied binding ${where} (${proto}); ports below 1024 need privileges`, { cause: err });
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return new ClusterError('E_ADDRESS', `address family of ${host} is not supported on this host`, { cause: err });
    default:
      return new ClusterError('E_ADDRESS', `cannot bind ${where} (${proto}): ${code ?? String(err)}`, { cause: err });
  }
}

const unreachableReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENETDOWN: 'network down',
  EADDRNOTAVAIL: 'local address not available',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EPIPE: 'broken pipe',
};

/** Maps a connect or stream error to E_UNREACHABLE with a readable reason. */
export function unreachableError(err: unknown, to: string): ClusterError {
  const code = errnoOf(err);
  const reason = (code && unreachableReasons[code]) ?? (err instanceof Error ? err.message : String(err));
  return new ClusterError('E_UNREACHABLE', `cannot reach ${to}: ${reason}${code ? ` (${code})` : ''}`, { cause: err });
}

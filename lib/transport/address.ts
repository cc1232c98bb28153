import { isIP } from 'node:net';
import { ClusterError } from '../errors.js';
import type { Address } from './transport.js';

/** A parsed address. `family` is 4 or 6 for IP literals, 0 for host names. */
export interface HostPort {
  host: string;
  port: number;
  family: 0 | 4 | 6;
}

/** Parses `host:port` or `[v6]:port`. Throws ClusterError E_ADDRESS with the reason. */
export function parseAddress(address: Address, defaultPort?: number): HostPort {
  if (typeof address !== 'string' || address.length === 0 || address.length > 300) {
    throw new ClusterError('E_ADDRESS', `invalid address ${JSON.stringify(address)}`);
  }
  let host: string;
  let portText: string | undefined;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0) throw new ClusterError('E_ADDRESS', `invalid address "${address}": missing "]"`);
    host = address.slice(1, end);
    const rest = address.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      throw new ClusterError('E_ADDRESS', `invalid address "${address}": expected ":port" after "]"`);
    }
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) throw new ClusterError('E_ADDRESS', `invalid address "${address}": not an IPv6 literal`);
  } else {
    const colons = address.split(':').length - 1;
    if (colons > 1) {
      if (isIP(address) === 6 && defaultPort !== undefined) return { host: address, port: defaultPort, family: 6 };
      throw new ClusterError('E_ADDRESS', `invalid address "${address}": write IPv6 as [addr]:port`);
    }
    const i = address.lastIndexOf(':');
    host = i < 0 ? address : address.slice(0, i);
    portText = i < 0 ? undefined : address.slice(i + 1);
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new ClusterError('E_ADDRESS', `invalid address "${address}": missing port`);
    port = defaultPort;
  } else {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      throw new ClusterError('E_ADDRESS', `invalid address "${address}": port must be 0-65535`);
    }
  }
  if (host.length === 0 || !/^[A-Za-z0-9.\-_:%]+$/.test(host)) {
    throw new ClusterError('E_ADDRESS', `invalid address "${address}": bad host`);
  }
  const family = isIP(host);
  return { host, port, family: family === 4 ? 4 : family === 6 ? 6 : 0 };
}

/** Formats a host and port as an Address, bracketing IPv6. */
export function formatAddress(host: string, port: number): Address {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The part of autocannon's API (it ships no types) that bench/autocannon-load.ts uses. */
declare module 'autocannon' {
  interface Histogram { average: number; total: number; p50: number; p99: number; max: number }
  interface Options { url: string; method: 'POST' | 'GET'; headers: Record<string, string>; body: string; connections: number; pipelining: number; duration: number }
  interface Result { requests: Histogram; latency: Histogram; non2xx: number; errors: number; timeouts: number }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}

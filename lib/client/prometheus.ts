/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text format (what the agent's `/metrics` serves) into samples.
 * Only what the dashboard needs: comments are skipped, label values unescaped, and a
 * malformed line is ignored rather than failing the whole scrape.
 */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : m[4]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    if (m[3] !== undefined) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l: RegExpExecArray | null;
      while ((l = re.exec(m[3])) !== null) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `where`. Undefined when there is none. */
export function sumOf(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}

/** The counters of `/metrics` the dashboard turns into rates. */
export interface AgentCounters {
  /** Frames in + out. */
  frames: number;
  /** Frame bytes in + out. */
  bytes: number;
  /** Protocol messages received. */
  protocolMessages: number;
  /** Anti-entropy sessions of every kind (undefined when the runtime has no replication). */
  syncSessions: number | undefined;
}

/**
 * Reads the dashboard's counters from a scrape. The agent only exposes a mirrored
 * counter once it is non-zero, so an absent series means zero, not "unknown".
 */
export function agentCounters(samples: readonly Sample[]): AgentCounters {
  return {
    frames: sumOf(samples, 'clusterd_frames_total') ?? 0,
    bytes: sumOf(samples, 'clusterd_frame_bytes_total') ?? 0,
    protocolMessages: sumOf(samples, 'clusterd_messages_in_total') ?? 0,
    syncSessions: sumOf(samples, 'clusterd_sync_sessions_total'),
  };
}

// Reads what `wrk --latency` prints: requests, req/s, latency percentiles and maximum, errors.
// Pure, so that a change of wrk's output is caught by its unit test, not in a report.

export interface RunFigures {
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number; max: number };
  /** Non-2xx/3xx answers plus socket errors (connect, read, write, timeout). */
  errors: number;
}

/** wrk's durations: 850.00us, 3.14ms, 1.02s, 2.00m. */
function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: unreadable duration ${JSON.stringify(text)}`);
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Math.round(Number(m[1]) * factor * 1000) / 1000;
}

export function parseWrk(output: string): RunFigures {
  const need = (pattern: RegExp, what: string): RegExpExecArray => {
    const m = pattern.exec(output);
    if (!m) throw new Error(`wrk: no ${what} in its output:\n${output.slice(0, 400)}`);
    return m;
  };
  const pct = (p: number) => ms(need(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm'), `${p}% latency`)[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(need(/^\s*(\d+) requests in/m, 'request count')[1]),
    requestsPerSecond: Number(need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    latencyMs: { p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99), max: ms(need(/^\s*Latency\s+\S+\s+\S+\s+(\S+)/m, 'latency maximum')[1]) },
    errors: (non2xx ? Number(non2xx[1]) : 0) + (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0),
  };
}

// The benchmark's pure halves: what wrk prints, read into figures; the runs, into the report's
// medians, spreads and ratios taken within each round.
import { Report, Run, median, renderReport } from '../../bench/report';
import { parseWrk } from '../../bench/wrk';

// In the format wrk 4.1 (Debian) prints with --latency; the figures are made up to test every field.
const WRK = `Running 6s test @ http://bench-proxy:80/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.35ms    1.20ms  25.58ms   80.00%
    Req/Sec     4.80k   312.44     5.41k    70.00%
  Latency Distribution
     50%    3.14ms
     75%    3.80ms
     90%    4.60ms
     99%  850.00us
  57342 requests in 6.00s, 10.50MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:   9555.38
Transfer/sec:      1.75MB
`;

describe("wrk's output", () => {
  test('gives requests, req/s, the percentiles and the maximum in ms, and every error', () => {
    expect(parseWrk(WRK)).toEqual({
      requests: 57342,
      requestsPerSecond: 9555.38,
      latencyMs: { p50: 3.14, p75: 3.8, p90: 4.6, p99: 0.85, max: 25.58 },
      errors: 15,
    });
  });

  test('output without figures is an error that shows it, not zeros', () => {
    expect(() => parseWrk('unable to connect to bench-proxy:80 Connection refused\n')).toThrow(/wrk: no request count in its output:\nunable to connect/);
  });
});

describe('the report', () => {
  const run = (round: number, target: Run['target'], requestsPerSecond: number): Run => ({
    round,
    target,
    requests: requestsPerSecond * 6,
    requestsPerSecond,
    latencyMs: { p50: 1, p75: 2, p90: 3, p99: 4, max: 5 },
    errors: 0,
    targetCpuSeconds: 1,
    cpuSecondsPer10k: 0.5,
    replicaCpuSeconds: 2,
    wrkCpuSeconds: 1,
    peakMemoryBytes: 8 * 2 ** 20,
  });
  const report: Report = {
    date: '2026-12-02T15:00:00.000Z',
    machine: '2 cores',
    versions: 'haproxy 3.2.26',
    options: { smoke: false, replicas: 3, rounds: 3, seconds: 6, connections: 32 },
    // Round 2 is slower for everyone (a noisy neighbour): the ratios within it still hold.
    runs: [1, 2, 3].flatMap((round) => {
      const k = round === 2 ? 0.5 : 1;
      return [run(round, 'direct', 10_000 * k), run(round, 'nginx', 6_000 * k), run(round, 'haproxy', 5_000 * k), run(round, 'caddy', 4_000 * k)];
    }),
  };

  test('shows the median of the rounds with their spread, and ratios taken within each round', () => {
    const md = renderReport(report);
    expect(md).toContain('| our nginx, as synthesized | 6000 (3000–6000) | 0.60x | 1.20x | 1 / 3 / 4 / 5 | 0 | 0.50 | 8.0 | 1.0 |');
    expect(md).toContain('| Caddy | 4000 (2000–4000) | 0.40x | 0.80x |');
  });

  test('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

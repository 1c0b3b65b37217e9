// The benchmark's pure halves: what wrk prints, read into figures; the runs, into the report's
// medians, spreads, ratios taken within each round, goals and chart specs; the paced load's
// percentiles and steadiness.
import { chartSpecs } from '../../bench/charts';
import { percentile, steadyAfterMs } from '../../bench/paced-load';
import { busyBetween, machineTicks } from '../../bench/cgroup';
import { RateRun, Report, SaturationRun, goals, median, renderReport } from '../../bench/report';
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
  const run = (c: string, round: number, target: string, requestsPerSecond: number, cpuSecondsPer10k = 0.5): SaturationRun => ({
    case: c,
    round,
    target,
    replicas: 3,
    requests: requestsPerSecond * 6,
    requestsPerSecond,
    latencyMs: { p50: 1, p75: 2, p90: 3, p99: 4, max: 5 },
    errors: 0,
    targetCpuSeconds: 1,
    cpuSecondsPer10k,
    replicaCpuSeconds: 2,
    wrkCpuSeconds: 1,
    logPipelineCpuSeconds: 0.3,
    replicaConnectionsOpened: 18,
    peakMemoryBytes: 8 * 2 ** 20,
  });
  const rate = (c: string, round: number, target: string, p99: number, machineBusy?: number): RateRun => ({
    case: c,
    round,
    target,
    rate: 2000,
    sent: 12000,
    ok: 12000,
    failed: 0,
    achievedRate: 2000,
    latencyMs: { p50: 1, p90: 2, p99, p999: p99 + 1, max: p99 + 2 },
    loadCpuSeconds: 1,
    ...(machineBusy === undefined ? {} : { machineBusy }),
  });
  const report: Report = {
    date: '2026-12-02T15:00:00.000Z',
    machine: '2 cores',
    versions: 'haproxy 3.2.26',
    options: { smoke: false, replicas: 3, rounds: 3, nodeRounds: 9, seconds: 6, connections: 32, rates: [1000, 2000], replicaCounts: [1, 2] },
    variants: [{ name: 'log-unbuffered', what: 'access log written line by line' }],
    // Round 2 is slower for everyone (a noisy neighbour): the ratios within it still hold.
    saturation: [1, 2, 3].flatMap((round) => {
      const k = round === 2 ? 0.5 : 1;
      return [
        run('static 1 KB', round, 'direct', 10_000 * k, 0.3),
        run('static 1 KB', round, 'nginx', 6_000 * k, 0.4),
        run('static 1 KB', round, 'haproxy', 5_000 * k, 0.6),
        run('static 1 KB', round, 'caddy', 4_000 * k, 1.5),
        // With no access log: HAProxy gains more than we do.
        run('static 1 KB', round, 'nginx:no-log', 7_000 * k, 0.35),
        // With the access log in Docker's (WAYSHUB_ACCESS_LOG=docker): compared with HAProxy's ring.
        run('static 1 KB', round, 'nginx:log-docker', 5_500 * k, 0.38),
        run('static 1 KB', round, 'haproxy:no-log', 8_000 * k, 0.3),
        run('static 1 KB, 1 connections', round, 'nginx', 900 * k),
        run('static 1 KB, 1 connections', round, 'haproxy', 1_000 * k),
        run('static 1 KB, 256 connections', round, 'nginx', 7_000 * k),
        run('static 1 KB, 256 connections', round, 'haproxy', 5_000 * k),
        run('tuning 1 KB', round, 'nginx', 6_000 * k),
        run('tuning 1 KB', round, 'nginx:log-unbuffered', 4_000 * k),
      ];
    }),
    rates: [1, 2, 3].flatMap((round) => [
      // The static replicas leave the cores mostly free; the Node replicas fill them.
      rate('static 1 KB 2000 req/s', round, 'direct', 1 + round / 10, 0.3),
      rate('static 1 KB 2000 req/s', round, 'nginx', 1.6 + round / 10, 0.4),
      rate('static 1 KB 2000 req/s', round, 'nginx:log-docker', 1.4 + round / 10, 0.38),
      rate('node 2000 req/s', round, 'direct', 2 + round, 0.6),
      rate('node 2000 req/s', round, 'nginx', 2.5 + round, 0.8 + round / 100),
    ]),
    events: {
      kills: [
        {
          target: 'nginx',
          rate: 1000,
          killedAtMs: 300,
          steadyAfterMs: 0,
          load: { rate: 1000, sent: 1000, ok: 1000, failed: 0, achievedRate: 1000, latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5 }, loadCpuSeconds: 1 },
          timeline: { okPerBucket: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100], failedPerBucket: [], bucketMs: 100 },
        },
      ],
    },
  };

  test('shows the median of the rounds with their spread, and ratios taken within each round', () => {
    const md = renderReport(report);
    expect(md).toContain('| our nginx, as synthesized | 6000 (3000–6000) | 0.60x | 1.20x | 1 / 3 / 4 / 5 | 0 | 0.40 | 0.08 | 18000 | 8.0 | 1.0 |');
    expect(md).toContain('| Caddy, JSON log to a file | 4000 (2000–4000) | 0.40x | 0.80x |');
  });

  test('where the CPU went, per 10k requests, with the new connections the replicas accepted', () => {
    const md = renderReport(report);
    expect(md).toContain('| case | target | target | replicas | log pipeline | wrk | new connections to the replicas |');
    // 18 connections in a round of 36,000 requests (18,000 in the slow round 2): 5 per 10k.
    expect(md).toContain('| static 1 KB | our nginx, as synthesized | 0.40 | 0.56 | 0.08 | 0.28 | 5 |');
  });

  test('compares like with like: a proxy with no log against HAProxy with no log', () => {
    const md = renderReport(report);
    expect(md).toContain('| our nginx, no access log | 7000 (3500–7000) | 0.70x | 0.88x |');
    expect(md).toContain('| HAProxy, no log | 8000 (4000–8000) | 0.80x | 1.00x |');
    // The log in a file is a production log: it faces HAProxy's ring.
    expect(md).toContain('| our nginx, WAYSHUB_ACCESS_LOG=docker | 5500 (2750–5500) | 0.55x | 1.10x |');
  });

  test('the concurrency curve is its own table, out of the saturation cases', () => {
    const md = renderReport(report);
    expect(md).toContain('## Concurrency: static 1 KB, 1 to 256 connections (1 round each)');
    expect(md).toContain('| connections | our nginx, as synthesized | HAProxy, log to a ring |');
    expect(md).toContain('| 256 | 7000 / 4 | 5000 / 4 |');
    expect(md).not.toContain('### static 1 KB, 256 connections');
  });

  test('a fixed-rate table shows how busy the cores were, for each target', () => {
    const md = renderReport(report);
    expect(md).toContain('### static 1 KB 2000 req/s');
    expect(md).toContain('| our nginx, as synthesized | 36000 | 0 | 2000 | 1 / 2 / 1.8 / 2.8 / 3.8 | 0.600 | 1.0 | 40 % |');
    expect(md).toContain('| one replica, directly | 36000 | 0 | 2000 | 1 / 2 / 4 / 5 / 6 |  | 1.0 | 60 % |');
  });

  test('a tuning row is compared with the config as synthesized, in the same rounds', () => {
    expect(renderReport(report)).toContain('| nginx, log-unbuffered | 4000 (2000–4000) | 0.67x |');
  });

  test('checks each goal of the issue with the figure that decides it', () => {
    expect(goals(report)).toEqual([
      { goal: 'static 1 KB: saturation ≥ 1.0x HAProxy, each with its production log', measured: '1.20x', met: true },
      { goal: 'static 1 KB: saturation ≥ 1.0x HAProxy, each with its production log, ours WAYSHUB_ACCESS_LOG=docker', measured: '1.10x', met: true },
      { goal: 'static 1 KB: saturation ≥ 1.0x HAProxy, neither logging', measured: '0.88x', met: false },
      { goal: 'static 1 KB: saturation ≥ 1.2x Caddy, each with its production log', measured: '1.50x', met: true },
      { goal: 'static 1 KB: proxy CPU per request ≤ HAProxy', measured: '0.40 vs 0.60 CPU-s per 10k requests', met: true },
      { goal: 'static 1 KB: ≥ 0.6x one replica directly', measured: '0.60x', met: true },
      { goal: 'static 1 KB: ≥ 0.6x one replica directly, ours WAYSHUB_ACCESS_LOG=docker', measured: '0.55x', met: false },
      // p99 added per round: 0.6 and 0.4 ms, and 0.5 ms; with how busy the cores were.
      { goal: 'static 1 KB: ≤ 1 ms added to p99 at 2000 req/s', measured: '0.60 ms; the cores 40 % busy (directly 30 %)', met: true },
      {
        goal: 'static 1 KB: ≤ 1 ms added to p99 at 2000 req/s, ours WAYSHUB_ACCESS_LOG=docker',
        measured: '0.40 ms; the cores 38 % busy (directly 30 %)',
        met: true,
      },
      { goal: 'node GET /: ≤ 1 ms added to p99 at 2000 req/s', measured: '0.50 ms; the cores 82 % busy (directly 60 %)', met: true },
    ]);
  });

  test('an event that failed is a row of the report, with its error, and the other figures stay', () => {
    const failed = ['rollout at 1000 req/s: local-apply: docker_container.app[3]: bench-app-4 is not healthy after 60 s (running/unhealthy)'];
    const md = renderReport({ ...report, events: { ...report.events, failed } });
    expect(md).toContain(
      '| rollout at 1000 req/s | **failed**: local-apply: docker_container.app[3]: bench-app-4 is not healthy after 60 s (running/unhealthy) |',
    );
    expect(md).toContain('| our nginx, as synthesized | 6000 (3000–6000) |');
  });

  test('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('charts: one vega-lite spec per section, with the medians as data', () => {
    const specs = chartSpecs(report, '2026-12-02');
    expect(specs.map((c) => c.file)).toEqual([
      '2026-12-02-saturation.svg',
      '2026-12-02-latency.svg',
      '2026-12-02-concurrency.svg',
      '2026-12-02-kill.svg',
      '2026-12-02-tuning.svg',
    ]);
    const data = (specs[0].spec.data as { values: { case: string; target: string; value: number }[] }).values;
    expect(data).toContainEqual({ case: 'static 1 KB', target: 'our nginx, as synthesized', order: 1, value: 6000 });
  });
});

describe('the fixed-rate load', () => {
  test('percentiles are read from the sorted latencies, rounded to µs', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
    expect(percentile(sorted, 50)).toBe(0.5);
    expect(percentile(sorted, 99)).toBe(0.99);
    expect(percentile(sorted, 100)).toBe(1);
  });

  test('throughput is steady again after the last short 100 ms bucket that follows the event', () => {
    const timeline = { okPerBucket: [100, 100, 100, 40, 0, 95, 100, 100], failedPerBucket: [0, 0, 0, 2], bucketMs: 100 };
    expect(steadyAfterMs({ rate: 1000, timeline }, 300, 800)).toBe(200);
    expect(steadyAfterMs({ rate: 1000, timeline: { ...timeline, okPerBucket: [100, 100, 100, 100, 100, 100, 100, 100], failedPerBucket: [] } }, 300, 800)).toBe(
      0,
    );
  });
});

describe('how busy the cores were', () => {
  test('is the busy share of all ticks between two readings of /proc/stat', () => {
    expect(busyBetween({ busy: 100, total: 1000 }, { busy: 400, total: 2000 })).toBe(0.3);
    expect(busyBetween({ busy: 5, total: 10 }, { busy: 5, total: 10 })).toBe(0);
    const now = machineTicks();
    expect(now.busy).toBeGreaterThan(0);
    expect(now.total).toBeGreaterThan(now.busy);
  });
});

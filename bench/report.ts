// The benchmark's Markdown report from its raw runs: per target the median of the rounds with
// the spread (min to max), and the ratios against direct access and against HAProxy, each taken
// within a round (the targets of a round ran back to back) and then the median of those.
import type { RunFigures } from './wrk';

export type TargetKey = 'direct' | 'nginx' | 'haproxy' | 'caddy';
const TARGETS: readonly TargetKey[] = ['direct', 'nginx', 'haproxy', 'caddy'];
const LABELS: Record<TargetKey, string> = { direct: 'one replica, directly', nginx: 'our nginx, as synthesized', haproxy: 'HAProxy', caddy: 'Caddy' };

export interface Run extends RunFigures {
  round: number;
  target: TargetKey;
  targetCpuSeconds: number;
  cpuSecondsPer10k: number;
  replicaCpuSeconds: number;
  wrkCpuSeconds: number;
  peakMemoryBytes: number;
}

export interface Report {
  date: string;
  machine: string;
  versions: string;
  options: { smoke: boolean; replicas: number; rounds: number; seconds: number; connections: number };
  runs: Run[];
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const spread = (values: readonly number[], digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** Per round, a/b of req/s; then the median over rounds. */
function ratio(report: Report, a: TargetKey, b: TargetKey): { median: number; values: number[] } {
  const values: number[] = [];
  for (let round = 1; round <= report.options.rounds; round++) {
    const x = report.runs.find((r) => r.round === round && r.target === a);
    const y = report.runs.find((r) => r.round === round && r.target === b);
    if (x && y && y.requestsPerSecond > 0) values.push(x.requestsPerSecond / y.requestsPerSecond);
  }
  return { median: median(values), values };
}

export function renderReport(report: Report): string {
  const o = report.options;
  const rows = TARGETS.map((t) => {
    const runs = report.runs.filter((r) => r.target === t);
    const m = (f: (r: Run) => number) => median(runs.map(f));
    const rps = runs.map((r) => r.requestsPerSecond);
    const vsDirect = ratio(report, t, 'direct');
    const vsHaproxy = ratio(report, t, 'haproxy');
    return `| ${LABELS[t]} | ${Math.round(m((r) => r.requestsPerSecond))} (${spread(rps)}) | ${vsDirect.median.toFixed(2)}x | ${vsHaproxy.median.toFixed(2)}x | ${m((r) => r.latencyMs.p50)} / ${m((r) => r.latencyMs.p90)} / ${m((r) => r.latencyMs.p99)} / ${m((r) => r.latencyMs.max)} | ${runs.reduce((n, r) => n + r.errors, 0)} | ${m((r) => r.cpuSecondsPer10k).toFixed(2)} | ${(Math.max(...runs.map((r) => r.peakMemoryBytes)) / 2 ** 20).toFixed(1)} | ${m((r) => r.wrkCpuSeconds).toFixed(1)} |`;
  });
  return `# Benchmark: ${report.date.slice(0, 10)}${o.smoke ? ' (smoke run: figures only prove the harness works)' : ''}

- **Machine:** ${report.machine}
- **Software:** ${report.versions}
- **Load:** wrk, 2 threads, ${o.connections} connections, ${o.seconds} s per run, ${o.rounds} rounds with the four targets interleaved; wrk in its own container on the same Docker network, with no CPU limit (its CPU-seconds are in the last column: on this machine it shares the cores with the target and the replicas).
- **Targets:** ${o.replicas} replicas of the test app (Node, \`GET /\` answers the replica's name) found through Docker's DNS; each target in its own container limited to 1 CPU and 512 MiB, the replicas too. Our nginx is the stack's, exactly as synthesized; HAProxy and Caddy are configured to match (bench/targets.ts): the same replicas through Docker's DNS, kept-alive upstream connections, round robin, one access-log line per request on stdout.

| target | req/s, median (min–max) | vs direct | vs HAProxy | latency ms p50 / p90 / p99 / max | errors | target CPU-s per 10k requests | peak memory MiB | wrk CPU-s per run |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Ratios are taken within each round (targets back to back), then the median over the rounds. Raw runs: the JSON file of the same name.
`;
}

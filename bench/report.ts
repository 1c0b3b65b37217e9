// The benchmark's Markdown report from its raw runs. Per case and target: the median of the
// rounds with the spread (min to max); ratios are taken within a round (the targets of a round
// ran back to back) and then the median of those. The goals of issue 13 are checked at the top.
import type { KillEvent, RolloutEvent, ScaleUpEvent } from './events';
import type { Measured, TargetKey } from './lab';
import type { PacedLoadResult } from './paced-load';

export interface Options {
  smoke: boolean;
  replicas: number;
  rounds: number;
  /** Rounds of the Node saturation cases (GET / and the 1 MB upload). */
  nodeRounds: number;
  seconds: number;
  connections: number;
  rates: number[];
  replicaCounts: number[];
}

export interface SaturationRun extends Measured {
  case: string;
  round: number;
  target: TargetKey;
  replicas: number;
}

export interface RateRun extends Omit<PacedLoadResult, 'timeline'> {
  case: string;
  round: number;
  target: TargetKey;
  /** How busy all the machine's cores were during the run, from 0 to 1 (/proc/stat). */
  machineBusy?: number;
}

export interface Report {
  date: string;
  machine: string;
  versions: string;
  options: Options;
  variants: { name: string; what: string }[];
  saturation: SaturationRun[];
  rates: RateRun[];
  events: {
    kills: (Omit<KillEvent, 'load'> & { load: Omit<PacedLoadResult, 'timeline'>; timeline: PacedLoadResult['timeline'] })[];
    /** Not in smoke runs. */
    scaleUp?: ScaleUpEvent;
    rollout?: Omit<RolloutEvent, 'load'> & { load: Omit<PacedLoadResult, 'timeline'> };
    /** Events that failed, each with its error's first line. */
    failed?: string[];
  };
}

export interface Chart {
  file: string;
  title: string;
  svg: string;
}

export const LABELS: Record<string, string> = {
  direct: 'one replica, directly',
  nginx: 'our nginx, as synthesized',
  'nginx:log-docker': 'our nginx, WAYSHUB_ACCESS_LOG=docker',
  'nginx:no-log': 'our nginx, no access log',
  haproxy: 'HAProxy, log to a ring',
  'haproxy:no-log': 'HAProxy, no log',
  caddy: 'Caddy, JSON log to a file',
  'caddy:no-log': 'Caddy, no log',
};
/** The peer a target is compared with, like with like: HAProxy logging the same way (or not at all). */
const haproxyLike = (t: TargetKey) => (t.endsWith(':no-log') ? 'haproxy:no-log' : 'haproxy');
export const label = (t: TargetKey) => LABELS[t] ?? `nginx, ${t.replace(/^nginx:/, '')}`;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const spread = (values: readonly number[], digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const perReplicaCpu = (r: SaturationRun) => (r.replicaCpuSeconds > 0 ? r.requests / r.replicaCpuSeconds : NaN);

type RoundRun = { case: string; round: number; target: TargetKey };

/** Per round of one case, `combine(x, y)` of target a's and target b's run; then the median over the rounds. */
function perRound<T extends RoundRun>(runs: readonly T[], caseName: string, a: TargetKey, b: TargetKey, combine: (x: T, y: T) => number | undefined): number {
  const values: number[] = [];
  for (const round of new Set(runs.filter((r) => r.case === caseName).map((r) => r.round))) {
    const x = runs.find((r) => r.case === caseName && r.round === round && r.target === a);
    const y = runs.find((r) => r.case === caseName && r.round === round && r.target === b);
    const value = x && y ? combine(x, y) : undefined;
    if (value !== undefined) values.push(value);
  }
  return median(values);
}

/** Per round, f(a)/f(b) within one case; then the median over the rounds. */
export const ratio = <T extends RoundRun>(runs: readonly T[], caseName: string, a: TargetKey, b: TargetKey, f: (r: T) => number) =>
  perRound(runs, caseName, a, b, (x, y) => (f(y) !== 0 ? f(x) / f(y) : undefined));

/** Per round, f(a) - f(b) within one case; then the median over the rounds. */
const difference = <T extends RoundRun>(runs: readonly T[], caseName: string, a: TargetKey, b: TargetKey, f: (r: T) => number) =>
  perRound(runs, caseName, a, b, (x, y) => f(x) - f(y));

const rps = (r: { requestsPerSecond: number }) => r.requestsPerSecond;
const casesOf = <T extends { case: string }>(runs: readonly T[]) => [...new Set(runs.map((r) => r.case))];
const targetsOf = <T extends { case: string; target: TargetKey }>(runs: readonly T[], c: string) => [
  ...new Set(runs.filter((r) => r.case === c).map((r) => r.target)),
];
const m = <T>(runs: readonly T[], f: (r: T) => number) => median(runs.map(f));
/** The median of the runs' cores busy, in whole percent; undefined when they were not measured. */
const busyPercent = (runs: readonly RateRun[]) => {
  const measured = runs.flatMap((r) => (r.machineBusy === undefined ? [] : [r.machineBusy]));
  return measured.length ? Math.round(median(measured) * 100) : undefined;
};

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

/** Ours with its production log: as synthesized (a file), and with the log in Docker's. */
const OURS_LOGGED = [
  ['nginx', ''],
  ['nginx:log-docker', ', ours WAYSHUB_ACCESS_LOG=docker'],
] as const;

export function goals(report: Report): Goal[] {
  const s = report.saturation;
  const out: Goal[] = [];
  const at = (c: string, t: TargetKey) => s.filter((r) => r.case === c && r.target === t);
  for (const c of ['static 1 KB', 'node GET /', 'node upload 1 MB']) {
    if (!at(c, 'nginx').length) continue;
    // Like with like: each with its production access log, then each with none.
    for (const [ours, theirs, how] of [
      ['nginx', 'haproxy', 'each with its production log'],
      ['nginx:log-docker', 'haproxy', 'each with its production log, ours WAYSHUB_ACCESS_LOG=docker'],
      ['nginx:no-log', 'haproxy:no-log', 'neither logging'],
    ] as const) {
      if (!at(c, ours).length || !at(c, theirs).length) continue;
      const h = ratio(s, c, ours, theirs, rps);
      out.push({ goal: `${c}: saturation ≥ 1.0x HAProxy, ${how}`, measured: `${fmt(h)}x`, met: h >= 1 });
    }
    if (c !== 'node upload 1 MB' && at(c, 'caddy').length) {
      const k = ratio(s, c, 'nginx', 'caddy', rps);
      out.push({ goal: `${c}: saturation ≥ 1.2x Caddy, each with its production log`, measured: `${fmt(k)}x`, met: k >= 1.2 });
    }
  }
  if (at('static 1 KB', 'nginx').length) {
    const ours = m(at('static 1 KB', 'nginx'), (r) => r.cpuSecondsPer10k);
    const theirs = m(at('static 1 KB', 'haproxy'), (r) => r.cpuSecondsPer10k);
    out.push({ goal: 'static 1 KB: proxy CPU per request ≤ HAProxy', measured: `${fmt(ours)} vs ${fmt(theirs)} CPU-s per 10k requests`, met: ours <= theirs });
    for (const [ours, how] of OURS_LOGGED) {
      if (!at('static 1 KB', ours).length) continue;
      const d = ratio(s, 'static 1 KB', ours, 'direct', rps);
      out.push({ goal: `static 1 KB: ≥ 0.6x one replica directly${how}`, measured: `${fmt(d)}x`, met: d >= 0.6 });
    }
  }
  const limited = casesOf(s).find((c) => /^node GET \/, 1 replica of [\d.]+ CPU$/.test(c));
  for (const [ours, how] of limited ? OURS_LOGGED : []) {
    if (!at(limited!, ours).length) continue;
    const n = ratio(s, limited!, ours, 'direct', rps);
    out.push({
      goal: `Node replicas: ≥ 0.9x direct at the same replica CPU (${limited!.replace('node GET /, ', '')})${how}`,
      measured: `${fmt(n)}x`,
      met: n >= 0.9,
    });
  }
  const top = report.options.rates.at(-1);
  for (const kind of ['static 1 KB', 'node']) {
    const c = `${kind} ${top} req/s`;
    const busy = (t: TargetKey) => busyPercent(report.rates.filter((r) => r.case === c && r.target === t));
    for (const [ours, how] of OURS_LOGGED) {
      if (!report.rates.some((r) => r.case === c && r.target === ours)) continue;
      const added = difference(report.rates, c, ours, 'direct', (r) => r.latencyMs.p99);
      const busyOurs = busy(ours);
      const load = busyOurs === undefined ? '' : `; the cores ${busyOurs} % busy (directly ${busy('direct')} %)`;
      out.push({
        goal: `${kind === 'node' ? 'node GET /' : kind}: ≤ 1 ms added to p99 at ${top} req/s${how}`,
        measured: `${fmt(added)} ms${load}`,
        met: added <= 1,
      });
    }
  }
  return out;
}

function saturationTable(report: Report, c: string): string {
  const s = report.saturation;
  const tuning = c.startsWith('tuning');
  const base: TargetKey = tuning ? 'nginx' : 'direct';
  const head = tuning
    ? '| variant | req/s, median (min–max) | vs as synthesized | latency ms p50 / p90 / p99 / max | errors | proxy CPU-s per 10k | log pipeline CPU-s per 10k | peak MiB |\n| --- | --- | --- | --- | --- | --- | --- | --- |'
    : '| target | req/s, median (min–max) | vs direct | vs HAProxy, same logging | latency ms p50 / p90 / p99 / max | errors | target CPU-s per 10k | log pipeline CPU-s per 10k | requests per replica CPU-s | peak MiB | wrk CPU-s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const rows = targetsOf(s, c).map((t) => {
    const runs = s.filter((r) => r.case === c && r.target === t);
    const lat = `${m(runs, (r) => r.latencyMs.p50)} / ${m(runs, (r) => r.latencyMs.p90)} / ${m(runs, (r) => r.latencyMs.p99)} / ${m(runs, (r) => r.latencyMs.max)}`;
    const errors = runs.reduce((n, r) => n + r.errors, 0);
    const logs = m(runs, (r) => (r.requests ? (r.logPipelineCpuSeconds / r.requests) * 10_000 : 0));
    const peak = (Math.max(...runs.map((r) => r.peakMemoryBytes)) / 2 ** 20).toFixed(1);
    const head2 = `| ${label(t)} | ${Math.round(m(runs, rps))} (${spread(runs.map(rps))}) |`;
    if (tuning)
      return `${head2} ${fmt(ratio(s, c, t, base, rps))}x | ${lat} | ${errors} | ${fmt(m(runs, (r) => r.cpuSecondsPer10k))} | ${fmt(logs)} | ${peak} |`;
    const vsHaproxy = targetsOf(s, c).includes(haproxyLike(t)) ? `${fmt(ratio(s, c, t, haproxyLike(t), rps))}x` : '';
    const vsDirect = targetsOf(s, c).includes('direct') ? `${fmt(ratio(s, c, t, 'direct', rps))}x` : '';
    return `${head2} ${vsDirect} | ${vsHaproxy} | ${lat} | ${errors} | ${fmt(m(runs, (r) => r.cpuSecondsPer10k))} | ${fmt(logs)} | ${Math.round(m(runs, perReplicaCpu))} | ${peak} | ${fmt(
      m(runs, (r) => r.wrkCpuSeconds),
      1,
    )} |`;
  });
  return `${head}\n${rows.join('\n')}`;
}

function rateTable(report: Report, c: string): string {
  const runs = report.rates.filter((r) => r.case === c);
  const rows = targetsOf(runs, c).map((t) => {
    const mine = runs.filter((r) => r.target === t);
    const added =
      t === 'direct'
        ? ''
        : `${fmt(
            difference(report.rates, c, t, 'direct', (r) => r.latencyMs.p99),
            3,
          )}`;
    const busy = busyPercent(mine);
    return `| ${label(t)} | ${mine.reduce((n, r) => n + r.sent, 0)} | ${mine.reduce((n, r) => n + r.failed, 0)} | ${Math.round(m(mine, (r) => r.achievedRate))} | ${m(mine, (r) => r.latencyMs.p50)} / ${m(mine, (r) => r.latencyMs.p90)} / ${m(mine, (r) => r.latencyMs.p99)} / ${m(mine, (r) => r.latencyMs.p999)} / ${m(mine, (r) => r.latencyMs.max)} | ${added} | ${fmt(
      m(mine, (r) => r.loadCpuSeconds),
      1,
    )} | ${busy === undefined ? '' : `${busy} %`} |`;
  });
  return `| target | sent | failed | answers/s | latency ms p50 / p90 / p99 / p99.9 / max | p99 added vs direct, ms | load generator CPU-s | cores busy |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}`;
}

/** req/s and p99 per connection count (rows) and target (columns). */
function concurrencyTable(report: Report, cases: readonly string[]): string {
  const targets = targetsOf(report.saturation, cases[0]);
  const rows = cases.map((c) => {
    const cells = targets.map((t) => {
      const runs = report.saturation.filter((r) => r.case === c && r.target === t);
      return runs.length ? `${Math.round(m(runs, rps))} / ${m(runs, (r) => r.latencyMs.p99)}` : '';
    });
    return `| ${/(\d+) connections$/.exec(c)?.[1]} | ${cells.join(' | ')} |`;
  });
  return `req/s / p99 ms:\n\n| connections | ${targets.map(label).join(' | ')} |\n| --- | ${targets.map(() => '---').join(' | ')} |\n${rows.join('\n')}`;
}

function profileTable(report: Report, cases: readonly string[]): string {
  const per10k = (seconds: number, r: SaturationRun) => (r.requests ? (seconds / r.requests) * 10_000 : 0);
  const rows = cases.flatMap((c) =>
    targetsOf(report.saturation, c).map((t) => {
      const runs = report.saturation.filter((r) => r.case === c && r.target === t);
      const cell = (f: (r: SaturationRun) => number) => fmt(m(runs, f));
      const opened = Math.round(m(runs, (r) => per10k(r.replicaConnectionsOpened, r)));
      return `| ${c} | ${label(t)} | ${cell((r) => r.cpuSecondsPer10k)} | ${cell((r) => per10k(r.replicaCpuSeconds, r))} | ${cell((r) => per10k(r.logPipelineCpuSeconds, r))} | ${cell((r) => per10k(r.wrkCpuSeconds, r))} | ${opened} |`;
    }),
  );
  return `| case | target | target | replicas | log pipeline | wrk | new connections to the replicas |\n| --- | --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}`;
}

export function renderReport(report: Report, charts: readonly Chart[] = []): string {
  const o = report.options;
  const s = report.saturation;
  const cases = casesOf(s);
  const main = cases.filter((c) => !c.startsWith('tuning') && !/replicas$/.test(c) && !/connections$/.test(c));
  const concurrency = cases.filter((c) => /, \d+ connections$/.test(c));
  // Curve points are "node GET /, N replicas" (1 round each).
  const tuning = cases.filter((c) => c.startsWith('tuning'));
  const curve = cases.filter((c) => /replicas$/.test(c));
  const chart = (file: string) => {
    const c = charts.find((x) => x.file.endsWith(file));
    return c ? `\n![${c.title}](${c.file})\n` : '';
  };
  const ev = report.events;
  const goalRows = goals(report).map((g) => `| ${g.goal} | ${g.measured} | ${g.met ? 'met' : '**not met**'} |`);
  const curveRows = curve.map((c) => {
    const n = /(\d+) replicas$/.exec(c)?.[1];
    return `| ${n} | ${['nginx', 'haproxy', 'caddy']
      .map((t) =>
        Math.round(
          m(
            s.filter((r) => r.case === c && r.target === t),
            rps,
          ),
        ),
      )
      .join(' | ')} |`;
  });
  const variantRows = report.variants.map((v) => `| \`${v.name}\` | ${v.what} |`);
  return `# Benchmark: ${report.date.slice(0, 10)}${o.smoke ? ' (smoke run: figures only prove the harness works)' : ''}

- **Machine:** ${report.machine}
- **Software:** ${report.versions}
- **Saturation load:** wrk, 2 threads, ${o.connections} connections (8 for uploads), ${o.seconds} s per run, ${o.rounds} rounds with the targets interleaved (${o.nodeRounds} for node GET / and the upload, where the proxy is a smaller part of the machine's work); wrk runs in its own container on the same Docker network, with no CPU limit. It shares the machine's cores with the target and the replicas: its CPU-seconds are in the last column.
- **Fixed-rate load:** ${o.rates.join(' and ')} req/s, paced by bench/paced-load.ts on the host (an open loop: latency counts from when a request was due), ${Math.max(o.seconds, 2)} s per run, ${o.rounds} rounds, on the static replicas (1 KB) and on the Node replicas. *Cores busy* is how much of all the machine's cores were in use during the run (/proc/stat): a tail grows as they fill, whatever the proxy does.
- **Targets:** ${o.replicas} replicas found through Docker's DNS; each target in its own container limited to 1 CPU and 512 MiB, the replicas too. Our nginx is the stack's, exactly as synthesized; HAProxy and Caddy are configured to match (bench/targets.ts): the same replicas through Docker's DNS, kept-alive upstream connections, round robin, and the same four headers to the app (X-Real-IP, X-Forwarded-For, -Proto, -Host). Like with like, each proxy runs twice: with its production access log (ours, as synthesized: a file on a Docker volume, in 64 KB batches; HAProxy: a line per request into an in-memory ring, where a syslog server would read it; Caddy: JSON lines to a file on disk) and with no access log. Ours runs a third time with WAYSHUB_ACCESS_LOG=docker: the same line to stdout in 4 KB batches, through Docker's log pipeline into its json-file log.
- **Replicas:** *static* is nginx serving a 1 KB file at \`/\` and 100 KB of JSON (bench/images.ts), so that the proxy is the cost; *node* is the test app, a Node server whose \`GET /\` answers its replica's name, like wayshub's backend.
- **Log pipeline:** the CPU of the Docker daemon and the containers' shims during the run: they carry every line a container writes to stdout into Docker's json-file log.

## Goals

| goal | measured | |
| --- | --- | --- |
${goalRows.join('\n')}

Where the CPU went, per 10k requests (median of the rounds): the target, all replicas, the log
pipeline and wrk. On ${report.machine.split(',')[0]} they all share the same cores. The last column is the TCP
connections the replicas accepted per 10k requests: a proxy that reuses its connections makes few.

${profileTable(report, main)}

## Saturation
${chart('saturation.svg')}
${main.map((c) => `### ${c}\n\n${saturationTable(report, c)}\n`).join('\n')}
${concurrency.length ? `## Concurrency: ${concurrency[0].replace(/, \d+ connections$/, '')}, 1 to ${/(\d+) connections$/.exec(concurrency.at(-1)!)?.[1]} connections (1 round each)\n${chart('concurrency.svg')}\n${concurrencyTable(report, concurrency)}\n` : ''}
## Fixed-rate latency
${chart('latency.svg')}
${casesOf(report.rates)
  .map((c) => `### ${c}\n\n${rateTable(report, c)}\n`)
  .join('\n')}
## Throughput against the replica count (node GET /, 1 round each)
${chart('replicas.svg')}
| replicas | our nginx | HAProxy | Caddy |
| --- | --- | --- | --- |
${curveRows.join('\n')}

On ${report.machine.split(',')[0]}, the replicas, the proxy and wrk share the same cores: more replicas add no CPU, so the curve shows what spreading over more replicas costs each proxy.

## Events
${chart('kill.svg')}
| event | figures |
| --- | --- |
${ev.kills.map((k) => `| a replica killed (SIGKILL) ${k.killedAtMs / 1000} s into ${k.rate} req/s through ${label(k.target)} | ${k.load.sent} sent, ${k.load.failed} failed${k.load.firstFailure ? ` (${k.load.firstFailure})` : ''}, max ${k.load.latencyMs.max} ms; throughput steady again ${k.steadyAfterMs} ms after the kill |`).join('\n')}
${ev.scaleUp ? `| a replica added, ${ev.scaleUp.from} → ${ev.scaleUp.to} | its first answer through our nginx ${ev.scaleUp.firstTrafficMs} ms after the apply started; the apply returned after ${ev.scaleUp.applyMs} ms (it waits for the replica's healthcheck) |\n` : ''}${ev.rollout ? `| a rollout of ${ev.rollout.replicas} replicas (a new app env) at ${ev.rollout.rate} req/s through our nginx | the apply took ${ev.rollout.applyMs} ms; ${ev.rollout.load.sent} sent, ${ev.rollout.load.failed} failed, p99 ${ev.rollout.load.latencyMs.p99} ms, max ${ev.rollout.load.latencyMs.max} ms |\n` : ''}${(ev.failed ?? []).map((f) => `| ${f.slice(0, f.indexOf(': '))} | **failed**: ${f.slice(f.indexOf(': ') + 2)} |\n`).join('')}

## Tuning: our nginx with one change each, in the same rounds
${chart('tuning.svg')}
| variant | the change |
| --- | --- |
${variantRows.join('\n')}

${tuning.map((c) => `### ${c}\n\n${saturationTable(report, c)}\n`).join('\n')}
Ratios are taken within each round (targets back to back), then the median over the rounds. Raw runs: the JSON file of the same name.
`;
}

// The report's charts: vega-lite specs built from the raw runs (pure, unit-tested), rendered to
// SVG offline by vega in this process (no browser, no network).
import type { Chart, Report } from './report';
import { label, median } from './report';

export interface ChartSpec {
  file: string;
  title: string;
  spec: Record<string, unknown>;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const ORDER = ['direct', 'nginx', 'nginx:log-docker', 'nginx:no-log', 'haproxy', 'haproxy:no-log', 'caddy', 'caddy:no-log'];

/** Median of a figure per (case, target), as chart rows. */
function medians<T extends { case: string; target: string }>(runs: readonly T[], f: (r: T) => number) {
  const keys = [...new Set(runs.map((r) => `${r.case}\u0000${r.target}`))];
  return keys.map((k) => {
    const [c, target] = k.split('\u0000');
    return { case: c, target: label(target), order: ORDER.indexOf(target), value: median(runs.filter((r) => r.case === c && r.target === target).map(f)) };
  });
}

export function chartSpecs(report: Report, stem: string): ChartSpec[] {
  const s = report.saturation;
  const main = s.filter((r) => !r.case.startsWith('tuning') && !/replicas$/.test(r.case) && !/connections$/.test(r.case));
  const bars = (title: string, values: unknown[], y: string) => ({
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { column: { field: 'case', type: 'nominal', title: null } },
    spec: {
      width: 150,
      height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'target', type: 'nominal', sort: { field: 'order' }, title: null, axis: { labelAngle: -40 } },
        y: { field: 'value', type: 'quantitative', title: y },
        color: { field: 'target', type: 'nominal', legend: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  });
  const specs: ChartSpec[] = [
    {
      file: `${stem}-saturation.svg`,
      title: 'Requests per second at saturation (median of the rounds)',
      spec: bars(
        'Requests per second at saturation',
        medians(main, (r) => r.requestsPerSecond),
        'req/s',
      ),
    },
    {
      file: `${stem}-latency.svg`,
      title: 'p99 latency at a fixed rate (median of the rounds)',
      spec: bars(
        'p99 latency at a fixed rate',
        medians(report.rates, (r) => r.latencyMs.p99),
        'p99, ms',
      ),
    },
  ];
  const curve = s.filter((r) => /replicas$/.test(r.case));
  if (curve.length) {
    specs.push({
      file: `${stem}-replicas.svg`,
      title: 'Throughput against the replica count',
      spec: {
        $schema: SCHEMA,
        title: 'Throughput against the replica count (node GET /)',
        width: 360,
        height: 220,
        data: { values: curve.map((r) => ({ replicas: r.replicas, target: label(r.target), value: r.requestsPerSecond })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'replicas', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: report.options.replicaCounts } },
          y: { field: 'value', type: 'quantitative', title: 'req/s' },
          color: { field: 'target', type: 'nominal', title: null, legend: { labelLimit: 300 } },
        },
      },
    });
  }
  const concurrency = s.filter((r) => /, \d+ connections$/.test(r.case));
  if (concurrency.length) {
    const connections = (c: string) => Number(/(\d+) connections$/.exec(c)?.[1]);
    specs.push({
      file: `${stem}-concurrency.svg`,
      title: 'Throughput against the number of connections',
      spec: {
        $schema: SCHEMA,
        title: `Throughput against connections (${concurrency[0].case.replace(/, \d+ connections$/, '')})`,
        width: 420,
        height: 240,
        data: { values: concurrency.map((r) => ({ connections: connections(r.case), target: label(r.target), value: r.requestsPerSecond })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'connections', type: 'quantitative', scale: { type: 'log', base: 2 } },
          y: { field: 'value', type: 'quantitative', title: 'req/s' },
          color: { field: 'target', type: 'nominal', title: null, legend: { labelLimit: 300 } },
        },
      },
    });
  }
  const kills = report.events.kills;
  if (kills.length) {
    // The last bucket is cut short by the end of the load: left out.
    const values = kills.flatMap((k) =>
      k.timeline.okPerBucket
        .slice(0, -1)
        .map((ok, i) => ({ target: label(k.target), t: ((i + 1) * k.timeline.bucketMs) / 1000, value: (ok * 1000) / k.timeline.bucketMs })),
    );
    specs.push({
      file: `${stem}-kill.svg`,
      title: 'Answers per second around a replica killed',
      spec: {
        $schema: SCHEMA,
        title: `Answers per second (100 ms buckets), a replica killed at ${kills[0].killedAtMs / 1000} s`,
        width: 420,
        height: 200,
        data: { values },
        layer: [
          {
            mark: 'line',
            encoding: {
              x: { field: 't', type: 'quantitative', title: 's' },
              y: { field: 'value', type: 'quantitative', title: 'answers/s' },
              color: { field: 'target', type: 'nominal', title: null, legend: { labelLimit: 300 } },
            },
          },
          {
            data: { values: [{ t: kills[0].killedAtMs / 1000 }] },
            mark: { type: 'rule', strokeDash: [4, 4] },
            encoding: { x: { field: 't', type: 'quantitative' } },
          },
        ],
      },
    });
  }
  const tuning = s.filter((r) => r.case.startsWith('tuning'));
  if (tuning.length) {
    specs.push({
      file: `${stem}-tuning.svg`,
      title: 'Tuning rows: requests per second',
      spec: bars(
        'Tuning rows: requests per second',
        medians(tuning, (r) => r.requestsPerSecond),
        'req/s',
      ),
    });
  }
  return specs;
}

// Named through a variable: vega-lite's types need moduleResolution node16; its one function is typed below.
const VEGA_LITE: string = 'vega-lite';

/** A vega-lite spec drawn as SVG, offline (also the docs' dashboard picture, scripts/dashboard-picture). */
export async function vegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const vegaLite = (await import(VEGA_LITE)) as { compile(spec: unknown): { spec: import('vega').Spec } };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderCharts(report: Report, stem: string): Promise<Chart[]> {
  const out: Chart[] = [];
  for (const c of chartSpecs(report, stem)) out.push({ file: c.file, title: c.title, svg: await vegaLiteToSvg(c.spec) });
  return out;
}

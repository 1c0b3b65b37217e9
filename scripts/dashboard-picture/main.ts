// `npm run dashboard-picture -- --prometheus URL [--minutes N] [--out FILE] [--save DATA.json]`:
// draws monitoring/grafana-dashboard.json as an SVG from what a Prometheus scraping a stack has,
// for the docs (monitoring/dashboard.svg). Every panel's own query runs over the last N minutes
// (15). `--save` keeps what Prometheus answered; `--from DATA.json` draws it again without one.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { vegaLiteToSvg } from '../../bench/charts';
import { Dashboard, PictureData, Series, dashboardPictureSpec, legend, promql } from './spec';

const ROOT = path.join(__dirname, '../..');
const USAGE =
  'usage: npm run dashboard-picture -- (--prometheus http://127.0.0.1:9090 [--minutes 15] [--save data.json] | --from data.json) [--out monitoring/dashboard.svg]';

function fail(message: string): never {
  console.error(`wayshub: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]) {
  const options = { prometheus: '', minutes: 15, out: path.join(ROOT, 'monitoring/dashboard.svg'), save: '', from: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--prometheus' && /^https?:\/\/[\w.:-]+\/?$/.test(value)) options.prometheus = value.replace(/\/$/, '');
    else if (flag === '--minutes' && /^\d{1,4}$/.test(value) && Number(value) > 0) options.minutes = Number(value);
    else if (flag === '--out' && value.endsWith('.svg')) options.out = path.resolve(value);
    else if ((flag === '--save' || flag === '--from') && value.endsWith('.json')) options[flag === '--save' ? 'save' : 'from'] = path.resolve(value);
    else fail(`${flag} ${JSON.stringify(value)}: not an option, or not a value it allows`);
  }
  if (!options.prometheus === !options.from) fail('one of --prometheus (the one scraping the stack, e.g. http://127.0.0.1:9090) or --from');
  return options;
}

type Result = Array<{ metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] }>;

async function query(base: string, params: Record<string, string>): Promise<Result> {
  const kind = params.start ? 'query_range' : 'query';
  const response = await fetch(`${base}/api/v1/${kind}?${new URLSearchParams(params).toString()}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: Result } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${params.query}: ${body.error ?? response.status}`);
  return body.data?.result ?? [];
}

/** Each panel's series, the deploys, and the range's end, as Prometheus answers the dashboard's queries. */
async function fetchData(dashboard: Dashboard, prometheus: string, minutes: number): Promise<SavedData> {
  const end = Math.floor(Date.now() / 1000);
  const range = { start: String(end - minutes * 60), end: String(end), step: String(Math.max(5, minutes * 2)) };
  const points = (r: Result[number]) => (r.values ?? (r.value ? [r.value] : [])).map(([t, v]) => [t, Number(v)] as const);

  const panels: Series[][] = [];
  for (const panel of dashboard.panels) {
    const series: Series[] = [];
    for (const target of panel.targets) {
      const params: Record<string, string> =
        panel.type === 'stat' ? { query: promql(target.expr), time: String(end) } : { query: promql(target.expr), ...range };
      for (const r of await query(prometheus, params)) series.push({ name: legend(target.legendFormat, r.metric), points: points(r) });
    }
    console.log(`${panel.title}: ${series.length} series`);
    panels.push(series);
  }
  const deploys = new Set<number>();
  for (const annotation of dashboard.annotations?.list ?? [])
    for (const r of await query(prometheus, { query: promql(annotation.expr), ...range })) for (const [, v] of points(r)) deploys.add(v / 1000);
  return { minutes, panels, deploys: [...deploys], now: end };
}

type SavedData = PictureData & { minutes: number };

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'monitoring/grafana-dashboard.json'), 'utf8')) as Dashboard;
  const data = options.from
    ? (JSON.parse(fs.readFileSync(options.from, 'utf8')) as SavedData)
    : await fetchData(dashboard, options.prometheus, options.minutes);
  if (options.save) fs.writeFileSync(options.save, JSON.stringify(data));
  const subtitle = `${data.minutes} minutes to ${new Date(data.now * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC; dashed lines: deploys`;
  const svg = await vegaLiteToSvg(dashboardPictureSpec(dashboard, data, subtitle));
  fs.writeFileSync(options.out, svg);
  console.log(`wrote ${path.relative(process.cwd(), options.out)} (${svg.length} bytes)`);
}

main().catch((e: unknown) => {
  console.error(`wayshub: ${e instanceof Error ? e.message : String(e)}; is Prometheus at --prometheus running and scraping the stack?`);
  process.exit(1);
});

// The docs' picture of the Grafana dashboard: the repository's panels where its grid puts them,
// values shown as the panels show them, drawn offline.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { dashboardPictureSpec, formatStat, legend, promql } from '../../scripts/dashboard-picture/spec';
import { repositoryDashboard } from '../support/prometheus';

const ROOT = path.join(__dirname, '../..');
const dashboard = repositoryDashboard();
const NOW = 1_796_000_000;

describe("a panel's query and legend as Grafana would run them", () => {
  test('every site, and a one-minute rate window', () => {
    expect(promql('sum(rate(wayshub_requests_total{site=~"$site"}[$__rate_interval]))')).toBe('sum(rate(wayshub_requests_total{site=~".*"}[1m]))');
  });

  test('{{label}} replaced by the series label', () => {
    expect(legend('{{site}} failed try on {{replica}}', { site: 'alvin.xyz', replica: '172.20.0.5:3000' })).toBe('alvin.xyz failed try on 172.20.0.5:3000');
    expect(legend(undefined, { state: 'active' })).toBe('active');
  });
});

describe("a stat's value as the panel shows it", () => {
  test.each<[string, number, object, string]>([
    ['a share', 0.0123, { unit: 'percentunit' }, '1.23 %'],
    ['a time, as ISO', NOW * 1000, { unit: 'dateTimeAsIso' }, '2026-11-30 00:53:20'],
    ['a time, as an age', (NOW - 300) * 1000, { unit: 'dateTimeFromNow' }, '5 min ago'],
    ['a count', 3, { unit: 'none', decimals: 0 }, '3'],
    ['a mapped value', 0, { mappings: [{ type: 'value', options: { '0': { text: 'FAILED', color: 'red' } } }] }, 'FAILED'],
  ])('%s', (_what, value, defaults, text) => {
    expect(formatStat(value, defaults, NOW).text).toBe(text);
  });

  test('its colour from the thresholds', () => {
    const thresholds = {
      steps: [
        { color: 'green', value: null },
        { color: 'red', value: 0.01 },
      ],
    };
    expect(formatStat(0, { unit: 'percentunit', thresholds }).color).toBe('green');
    expect(formatStat(0.2, { unit: 'percentunit', thresholds }).color).toBe('red');
  });
});

describe('the whole dashboard', () => {
  const series = (name: string, values: number[]) => ({ name, points: values.map((v, i) => [NOW - 600 + i * 60, v] as const) });
  const data = {
    panels: dashboard.panels.map((panel) => (panel.type === 'stat' ? [series('wayshub', [1])] : [series('a', [1, 2, 3]), series('b', [3, 2, 1])])),
    deploys: [NOW - 300],
    now: NOW,
  };
  const spec = dashboardPictureSpec(dashboard, data, '10 minutes') as { vconcat: Array<{ hconcat: Array<{ title: string }> }> };

  test("one row per grid row, the panels in the grid's order, each with its title", () => {
    const rows = [...new Set(dashboard.panels.map((p) => p.gridPos.y))].sort((a, b) => a - b);
    expect(spec.vconcat).toHaveLength(rows.length);
    expect(spec.vconcat.flatMap((row) => row.hconcat.map((panel) => panel.title)).sort()).toEqual(dashboard.panels.map((p) => p.title).sort());
    expect(spec.vconcat[0].hconcat.map((p) => p.title)).toEqual(['Requests per second, by site and status class', 'Answers per second, by replica']);
  });

  test('draws as SVG, with every title, the deploy line and the stats as shown', () => {
    // vega is an ES module, which Jest does not load: drawn by node, as npm run dashboard-picture does.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-picture-')), 'spec.json');
    fs.writeFileSync(file, JSON.stringify(spec));
    const draw = `import { vegaLiteToSvg } from './bench/charts.ts'; import fs from 'node:fs';
      process.stdout.write(await vegaLiteToSvg(JSON.parse(fs.readFileSync(process.argv[1], 'utf8'))));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', draw, file], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const svg = run.stdout;
    expect(svg.startsWith('<svg')).toBe(true);
    for (const panel of dashboard.panels) expect(svg).toContain(panel.title.replace(/&/g, '&amp;'));
    expect(svg).toContain('OK');
    expect(svg).toContain('stroke-dasharray');
  });
});

// The Grafana dashboard (monitoring/grafana-dashboard.json) as one picture, for the docs: its
// panels where its grid puts them, each drawn from what Prometheus answered to the panel's own
// queries. Pure: the data comes in (main.ts fetches it), a vega-lite spec goes out, and the
// benchmark's renderer (bench/charts.ts) turns it into SVG without a browser.

export interface Panel {
  readonly title: string;
  readonly type: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets: ReadonlyArray<{ expr: string; legendFormat?: string }>;
  readonly fieldConfig?: { defaults?: FieldDefaults };
}

export interface FieldDefaults {
  readonly unit?: string;
  readonly decimals?: number;
  readonly mappings?: ReadonlyArray<{ type: string; options: Record<string, { text: string; color?: string }> }>;
  readonly thresholds?: { steps: ReadonlyArray<{ color: string; value: number | null }> };
}

export interface Dashboard {
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly annotations?: { list: ReadonlyArray<{ expr: string }> };
}

/** One series of a panel: its legend, and [unix seconds, value] points (a stat has one). */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface PictureData {
  /** Per panel, in the dashboard's order. */
  readonly panels: ReadonlyArray<readonly Series[]>;
  /** The deploys' times (unix seconds), drawn as lines on the time series. */
  readonly deploys: readonly number[];
  /** The end of the range: a stat's "ago" is from here. */
  readonly now: number;
}

/** The picture's width; the dashboard's grid has 24 columns. */
const WIDTH = 1200;
const ROW_HEIGHT = 26;
const COLORS = { background: '#181b1f', panel: '#22252b', text: '#ccccdc', grid: '#2f3238', deploy: '#5794f2' };
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d', '#fade2a'];
const AXIS_UNITS: Record<string, string> = { reqps: 'req/s', s: 'seconds', short: '', none: '' };

/** The dashboard's variables as an operator leaves them: every site, Grafana's rate window. */
export function promql(expr: string, rateInterval = '1m'): string {
  return expr.replace(/\$__rate_interval/g, rateInterval).replace(/\$site/g, '.*');
}

/** A legend as Grafana writes it: `{{label}}` replaced by the series' label. */
export function legend(format: string | undefined, labels: Record<string, string>): string {
  if (!format) return Object.values(labels).join(' ') || 'value';
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
}

/** A stat's value as the panel shows it, and its colour. */
export function formatStat(value: number, defaults: FieldDefaults = {}, now = Date.now() / 1000): { text: string; color: string } {
  const mapped = defaults.mappings?.find((m) => m.type === 'value')?.options[String(value)];
  const steps = defaults.thresholds?.steps ?? [];
  const color = mapped?.color ?? [...steps].reverse().find((s) => s.value === null || value >= s.value)?.color ?? COLORS.text;
  if (mapped) return { text: mapped.text, color };
  switch (defaults.unit) {
    case 'percentunit':
      return { text: `${(value * 100).toFixed(2)} %`, color };
    case 'dateTimeAsIso':
      return { text: new Date(value).toISOString().replace('T', ' ').slice(0, 19), color };
    case 'dateTimeFromNow': {
      const seconds = Math.max(0, Math.round(now - value / 1000));
      const ago = seconds < 90 ? `${seconds} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
      return { text: `${ago} ago`, color };
    }
    default:
      return { text: value.toFixed(defaults.decimals ?? (Number.isInteger(value) ? 0 : 2)), color };
  }
}

function timeSeries(panel: Panel, series: readonly Series[], deploys: readonly number[], width: number, height: number) {
  const values = series.flatMap((s) => s.points.map(([t, v]) => ({ time: t * 1000, value: v, series: s.name })));
  const unit = panel.fieldConfig?.defaults?.unit ?? '';
  const layers: unknown[] = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 1.5, interpolate: 'monotone' },
      encoding: {
        x: { field: 'time', type: 'temporal', title: null, axis: { format: '%H:%M', tickCount: 6 } },
        y: { field: 'value', type: 'quantitative', title: AXIS_UNITS[unit] ?? unit, axis: { tickCount: 4 } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { range: PALETTE },
          legend: { orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 320, symbolType: 'stroke' },
        },
      },
    },
  ];
  if (deploys.length)
    layers.push({
      data: { values: deploys.map((t) => ({ time: t * 1000 })) },
      mark: { type: 'rule', color: COLORS.deploy, strokeDash: [4, 3] },
      encoding: { x: { field: 'time', type: 'temporal' } },
    });
  return { title: panel.title, width, height, layer: layers };
}

function stat(panel: Panel, series: readonly Series[], now: number, width: number, height: number) {
  const defaults = panel.fieldConfig?.defaults;
  const big = Math.min(30, Math.max(14, (height - 10) / Math.max(1, series.length) - 14));
  const values = series.map((s, i) => {
    const shown = formatStat(s.points[s.points.length - 1]?.[1] ?? NaN, defaults, now);
    // Smaller for a long text, so it stays inside its panel.
    return { row: i, name: s.name, ...shown, fontSize: Math.min(big, (width - 20) / (0.62 * shown.text.length)) };
  });
  return {
    title: panel.title,
    width,
    height,
    data: { values: values.length ? values : [{ row: 0, name: '', text: 'No data', color: COLORS.text, fontSize: big }] },
    encoding: { y: { field: 'row', type: 'ordinal', axis: null }, x: { value: width / 2 } },
    layer: [
      {
        mark: { type: 'text', fontWeight: 'bold', dy: -6 },
        encoding: {
          text: { field: 'text' },
          color: { field: 'color', type: 'nominal', scale: null },
          size: { field: 'fontSize', type: 'quantitative', scale: null },
        },
      },
      { mark: { type: 'text', fontSize: 11, dy: big / 2 + 4, color: COLORS.text }, encoding: { text: { field: 'name' } } },
    ],
  };
}

/** The vega-lite spec of the whole dashboard: rows by the grid's y, panels by its x and width. */
export function dashboardPictureSpec(dashboard: Dashboard, data: PictureData, subtitle: string): Record<string, unknown> {
  const rows = new Map<number, Array<{ panel: Panel; series: readonly Series[] }>>();
  dashboard.panels.forEach((panel, i) => {
    const row = rows.get(panel.gridPos.y) ?? [];
    row.push({ panel, series: data.panels[i] ?? [] });
    rows.set(panel.gridPos.y, row);
  });
  const vconcat = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, panels]) => ({
      // Each panel its own colours and legend.
      resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
      hconcat: panels
        .sort((a, b) => a.panel.gridPos.x - b.panel.gridPos.x)
        .map(({ panel, series }) => {
          // Each panel's plot area: its share of the width, less the room its axes and title take.
          const width = Math.round((panel.gridPos.w / 24) * WIDTH) - (panel.type === 'stat' ? 30 : 90);
          const height = panel.gridPos.h * ROW_HEIGHT - (panel.type === 'stat' ? 50 : 110);
          return panel.type === 'stat' ? stat(panel, series, data.now, width, height) : timeSeries(panel, series, data.deploys, width, height);
        }),
    }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: dashboard.title, subtitle, anchor: 'start', color: COLORS.text, subtitleColor: COLORS.text, fontSize: 16 },
    background: COLORS.background,
    padding: 12,
    vconcat,
    resolve: { scale: { color: 'independent' } },
    config: {
      view: { fill: COLORS.panel, stroke: null },
      title: { color: COLORS.text, anchor: 'start', fontSize: 13 },
      axis: { labelColor: COLORS.text, titleColor: COLORS.text, gridColor: COLORS.grid, domainColor: COLORS.grid, tickColor: COLORS.grid },
      legend: { labelColor: COLORS.text, titleColor: COLORS.text },
      concat: { spacing: 14 },
    },
  };
}

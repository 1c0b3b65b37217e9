// A real Prometheus for the metrics test, without any registry: Debian's prometheus and mtail in
// one image built like the other test images. The stack's exporter runs it as its metrics image
// (mtail, as docker/metrics/Dockerfile installs it), and the test's Prometheus runs from it too.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as fsSync from 'node:fs';

import yaml from 'js-yaml';

import { Dashboard } from '../../../scripts/dashboard-picture/spec';
import { waitFor } from '../http';
import { docker, Log, run } from '../test-images';
import { ensureDebianToolImage } from '../test-images/debian-tool-image';

/** Debian bookworm's mtail and prometheus, tagged `wayshub-e2e/metrics:bookworm-<hash>`. */
export const ensureMetricsImage = (log?: Log): Promise<string> =>
  ensureDebianToolImage(
    {
      name: 'metrics',
      packages: ['mtail', 'prometheus'],
      probes: [
        ['mtail', '--version'],
        ['prometheus', '--version'],
      ],
      changes: ['CMD ["/bin/sh"]'],
    },
    log,
  );

export interface Prometheus {
  /** An instant query; the result's vector as label sets and numbers. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** The first value of an instant query; undefined when it has none. */
  value(promql: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

const MONITORING = path.join(__dirname, '../../../monitoring');

/** The repository's Grafana dashboard, as a user imports it. */
export const repositoryDashboard = (): Dashboard => JSON.parse(fsSync.readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as Dashboard;

/**
 * The repository's monitoring/ files as a user copies them, aimed at the exporter's port and
 * scraping and evaluating the alerts every second.
 */
export async function repositoryConfig(exporterPort: number): Promise<Record<string, string>> {
  const config = yaml.load(await fs.readFile(path.join(MONITORING, 'prometheus.yml'), 'utf8')) as {
    global: { scrape_interval: string; evaluation_interval: string };
    rule_files: string[];
    scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
  };
  const targets = config.scrape_configs[0].static_configs[0].targets;
  if (targets.join() !== '127.0.0.1:9145') throw new Error(`monitoring/prometheus.yml scrapes ${targets.join()}, not the default 127.0.0.1:9145`);
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  config.scrape_configs[0].static_configs[0].targets = [`127.0.0.1:${exporterPort}`];
  const files: Record<string, string> = { 'prometheus.yml': yaml.dump(config) };
  for (const rules of config.rule_files) files[rules] = await fs.readFile(path.join(MONITORING, rules), 'utf8');
  return files;
}

/**
 * Prometheus on this host's network (it scrapes what the stack publishes on the loopback, as a
 * user's Prometheus on the Docker host would), with `files` (prometheus.yml and the rules it
 * names) as its whole configuration.
 */
export async function startPrometheus(image: string, files: Record<string, string>, port: number): Promise<Prometheus> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wayshub-prometheus-'));
  for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content);
  const name = `wayshub-e2e-prometheus-${process.pid}`;
  await run('docker', ['rm', '-f', name]);
  await docker([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'host',
    '-v',
    `${dir}:/etc/wayshub-prometheus:ro`,
    '--entrypoint',
    'prometheus',
    image,
    '--config.file=/etc/wayshub-prometheus/prometheus.yml',
    '--storage.tsdb.path=/tmp/prometheus',
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const query = async (promql: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error ?? response.status}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  await waitFor('Prometheus ready', 30_000, () =>
    fetch(`http://127.0.0.1:${port}/-/ready`).then(
      (r) => r.ok,
      () => false,
    ),
  ).catch(async (e: unknown) => {
    throw new Error(`${String(e)} on port ${port}: ${(await run('docker', ['logs', name])).stderr.slice(-800)}`);
  });
  return {
    query,
    value: async (promql) => (await query(promql))[0]?.value,
    stop: async () => {
      await run('docker', ['rm', '-f', name]);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

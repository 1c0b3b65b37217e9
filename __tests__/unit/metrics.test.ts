// The proxy's metrics as synthesized: off unless asked, on the loopback unless told, nginx's
// line to the exporter's socket, the dashboard asking only for what the exporter makes.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { withEnvironment } from '../../constructs/settings';
import { refusalOf, settingsFromEnv } from '../support/settings-from-env';
import { synthStack, uploadedFiles } from '../support/synth';

const ROOT = path.join(__dirname, '../..');
describe('settings', () => {
  test('off unless asked; on, published on 127.0.0.1:9145 and built from docker/metrics', () => {
    expect(settingsFromEnv({}).metrics).toBeUndefined();
    expect(settingsFromEnv({ WAYSHUB_METRICS: 'on' }).metrics).toEqual({ port: 9145, address: '127.0.0.1', image: undefined });
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'the HTTP port',
      { WAYSHUB_METRICS: 'on', WAYSHUB_METRICS_PORT: '80' },
      'invalid metrics.port (WAYSHUB_METRICS_PORT): 80; allowed: a port the proxy does not publish already (80)',
    ],
    [
      'a host name as the address',
      { WAYSHUB_METRICS: 'on', WAYSHUB_METRICS_ADDRESS: 'localhost' },
      'invalid metrics.address (WAYSHUB_METRICS_ADDRESS): "localhost"; allowed: an IPv4 address',
    ],
    ['an address with a port', { WAYSHUB_METRICS: 'on', WAYSHUB_METRICS_ADDRESS: '127.0.0.1:9145' }, 'invalid metrics.address'],
    ['an image with a space', { WAYSHUB_METRICS: 'on', WAYSHUB_METRICS_IMAGE: 'mtail latest' }, 'invalid metrics.image (WAYSHUB_METRICS_IMAGE)'],
    ['a port while metrics are off', { WAYSHUB_METRICS_PORT: '9146' }, 'it has no effect unless WAYSHUB_METRICS=on'],
    [
      'metrics with Swarm',
      { WAYSHUB_ENGINE: 'swarm', WAYSHUB_METRICS: 'on' },
      'invalid metrics.enabled (WAYSHUB_METRICS): true; allowed with WAYSHUB_ENGINE=swarm: off',
    ],
  ])('%s is refused with one line', (_what, env, expected) => {
    expect(refusalOf(env)).toContain(expected);
  });
});

describe('as synthesized', () => {
  const { json } = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { WAYSHUB_METRICS: 'on' }));
  const containers = json.resource.docker_container;

  test('nginx writes a line per request into the file the exporter reads, in batches', () => {
    const main = uploadedFiles(json)['/etc/nginx/wayshub/nginx.conf'];
    expect(main).toContain('access_log /wayshub-metrics/access.log wayshub_metrics buffer=32k flush=1s;');
    expect(main).toContain("'writing=$connections_writing waiting=$connections_waiting';");
    // The access log stays where it was, beside it.
    expect(main).toContain('access_log /var/log/wayshub/access.log wayshub buffer=64k flush=1s;');
  });

  test('the exporter is published on the loopback only; the proxy mounts the volume of its lines', () => {
    expect(containers.metrics).toMatchObject({
      name: 'wayshub-metrics',
      entrypoint: ['/bin/sh', '/wayshub/metrics.sh'],
      ports: [{ internal: 3903, external: 9145, ip: '127.0.0.1' }],
      volumes: [{ volume_name: '${docker_volume.metrics_log.name}', container_path: '/wayshub-metrics' }],
      capabilities: { drop: ['ALL'] },
    });
    expect(containers.proxy.volumes).toContainEqual({ volume_name: '${docker_volume.metrics_log.name}', container_path: '/wayshub-metrics' });
    expect(json.resource.docker_image.metrics_image).toMatchObject({ name: 'wayshub-metrics:mtail', build: { context: path.join(ROOT, 'docker/metrics') } });
  });

  test("a marker per deploy writes the plan's revision and the config's fingerprint after the proxy", () => {
    expect((containers.metrics_deployed.command as string[])[2]).toMatch(
      /^echo "deploy revision=\$\{formatdate\("YYMMDDhhmmss", plantimestamp\(\)\)\} config=[0-9a-f]{16} at=\$\(date \+%s\)" >> \/wayshub-metrics\/deploys.log$/,
    );
    expect(containers.metrics_deployed.depends_on).toEqual(expect.arrayContaining(['docker_container.proxy']));
    expect(containers.metrics_deployed.network_mode).toBe('none');
  });

  test("with the database's backups, their container writes each run into the exporter's volume", () => {
    const env = { WAYSHUB_METRICS: 'on', WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1' };
    const backups = synthStack(withEnvironment({ domain: 'alvin.xyz' }, env)).json.resource.docker_container;
    expect(backups.backup.volumes).toEqual([
      { volume_name: 'wayshub-db-backups', container_path: '/backups' },
      { volume_name: '${docker_volume.metrics_log.name}', container_path: '/wayshub-metrics' },
    ]);
    const without = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1' })).json;
    expect(without.resource.docker_container.backup.volumes).toEqual([{ volume_name: 'wayshub-db-backups', container_path: '/backups' }]);
  });

  test('without metrics nothing of it is there', () => {
    const plain = synthStack(withEnvironment({ domain: 'alvin.xyz' }, {})).json;
    expect(Object.keys(plain.resource.docker_container)).not.toContain('metrics');
    expect(JSON.stringify(plain.resource.docker_container.proxy.volumes)).not.toContain('metrics');
    expect(uploadedFiles(plain)['/etc/nginx/wayshub/nginx.conf']).not.toContain('wayshub_metrics');
  });
});

describe('the monitoring files', () => {
  const program = fs.readFileSync(path.join(ROOT, 'constructs/engines/containers/metrics/wayshub.mtail'), 'utf8');
  const declared = [...program.matchAll(/^(?:counter|gauge|histogram) (\w+)/gm)].map((m) => m[1]);

  test('the dashboard asks only for metrics the exporter declares', () => {
    const dashboard = fs.readFileSync(path.join(ROOT, 'monitoring/grafana-dashboard.json'), 'utf8');
    const used = [...new Set([...dashboard.matchAll(/\b(wayshub_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')))];
    expect(used.length).toBeGreaterThan(5);
    for (const name of used) expect([name, declared.includes(name)]).toEqual([name, true]);
  });

  test('the alert rules ask only for metrics the exporter declares, and Prometheus loads them beside the scrape config', () => {
    const alerts = fs.readFileSync(path.join(ROOT, 'monitoring/alerts.yml'), 'utf8');
    const used = [...new Set([...alerts.matchAll(/\b(wayshub_[a-z_]+)/g)].map((m) => m[1]))];
    expect(used).toContain('wayshub_backup_last_run_ok');
    for (const name of used) expect([name, declared.includes(name)]).toEqual([name, true]);
    expect(fs.readFileSync(path.join(ROOT, 'monitoring/prometheus.yml'), 'utf8')).toMatch(/^rule_files:\n {2}- alerts\.yml$/m);
  });

  test('the scrape config aims at the default port on the loopback', () => {
    expect(fs.readFileSync(path.join(ROOT, 'monitoring/prometheus.yml'), 'utf8')).toContain("targets: ['127.0.0.1:9145']");
  });
});

// The proxy's metrics as an operator meets them: WAYSHUB_METRICS=on, a real Prometheus on the
// Docker host scraping what the stack publishes on the loopback with the repository's scrape
// config, a known number of requests over 3 replicas, then one replica killed. Prometheus must
// see each replica's share, as the client saw it, and the kill.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';
import { Prometheus, ensureMetricsImage, repositoryConfig, repositoryDashboard, startPrometheus } from '../support/prometheus';
import { promql } from '../../scripts/dashboard-picture/spec';
import { replicaNames } from '../support/replicas';

const NAME = 'e2emx';
const DOMAIN = 'wayshub.localhost';
const SENT = 300;
const AFTER_KILL = 90;
const log = (line: string) => process.stderr.write(`  [metrics] ${line}\n`);
const docker = (...args: string[]) => {
  const run = spawnSync('docker', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout.trim();
};

describeE2E('metrics that show the load balancer working', () => {
  let port: number;
  let deployment: Deployment;
  let prometheus: Prometheus;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-metrics-work-'));
  /** A replica's address on the stack's network, as nginx (and so the metrics) name it. */
  const addressOf = (replica: string) => `${docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NAME}-net").IPAddress}}`, replica)}:3000`;
  const site = `site="${DOMAIN}"`;
  const perReplica = async () =>
    Object.fromEntries((await prometheus.query(`sum by (replica) (wayshub_upstream_responses_total{${site}})`)).map((r) => [r.metric.replica, r.value]));
  const total = async () => (await prometheus.value(`sum(wayshub_requests_total{${site}})`)) ?? 0;

  /** GETs one after the other; which replica answered each, as the client saw it. */
  async function send(n: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const answer = await request(port, { host: DOMAIN, path: '/' });
      expect(answer.status).toBe(200);
      seen[answer.body] = (seen[answer.body] ?? 0) + 1;
    }
    return seen;
  }

  beforeAll(async () => {
    const [images, metricsImage] = await Promise.all([ensureTestImages(log), ensureMetricsImage(log)]);
    port = await freePort();
    const metricsPort = await freePort();
    const settings: WayshubSettingsInput = {
      name: NAME,
      domain: DOMAIN,
      app: { image: images.app },
      proxy: { image: images.nginx, httpPort: port },
      metrics: { enabled: true, port: metricsPort, image: metricsImage },
    };
    deployment = await deployStack(synthToDir(settings), { workDir, log });
    await deployment.apply({ replicas: 3 });
    await replicasAnswering(port, DOMAIN, replicaNames(NAME).slice(0, 3), 20_000);

    prometheus = await startPrometheus(metricsImage, await repositoryConfig(metricsPort), await freePort());
    await waitFor('Prometheus scrapes the exporter', 30_000, async () => (await prometheus.value('up{job="wayshub"}')) === 1);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await deployment?.destroy({ volumes: true });
  });

  test(`${SENT} requests over 3 replicas: Prometheus counts each replica's share as the client saw it`, async () => {
    // What the deploy's own checks sent first is counted too: the test compares what it adds.
    const before = await total();
    const replicasBefore = await perReplica();
    const seen = await send(SENT);
    await waitFor(`Prometheus sees ${SENT} more requests`, 20_000, async () => (await total()) - before === SENT);
    const counted = Object.fromEntries(Object.entries(await perReplica()).map(([replica, n]) => [replica, n - (replicasBefore[replica] ?? 0)]));
    const expected = Object.fromEntries(Object.entries(seen).map(([replica, n]) => [addressOf(replica), n]));
    log(`sent ${SENT}; the client saw ${JSON.stringify(seen)}; Prometheus counted ${JSON.stringify(counted)}`);
    expect(Object.keys(counted)).toHaveLength(3);
    // Round robin: each replica a third, within one turn of the rotation per nginx worker.
    for (const n of Object.values(seen)) expect(Math.abs(n - SENT / 3)).toBeLessThanOrEqual(4);
    // The replicas' own health checks don't go through the proxy: every count is the client's.
    expect(counted).toEqual(expected);
    expect((await prometheus.value(`sum(wayshub_requests_total{${site}, status_class!="2xx"})`)) ?? 0).toBe(0);
  });

  test('a killed replica: its count stops, the requests go on to the others, 0 failed', async () => {
    const victim = replicaNames(NAME)[0];
    const address = addressOf(victim);
    const before = await perReplica();
    // A crash that does not come back: no restart policy left to bring it up again.
    docker('update', '--restart', 'no', victim);
    docker('kill', victim);
    const seen = await send(AFTER_KILL);
    expect(seen[victim]).toBeUndefined();
    await waitFor(`Prometheus sees ${AFTER_KILL} more answers`, 20_000, async () => {
      const now = await perReplica();
      return Object.values(now).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0) === AFTER_KILL;
    });
    const after = await perReplica();
    const failedTries = (await prometheus.query(`sum by (replica) (wayshub_upstream_failed_tries_total{${site}})`)).map(
      (r) => `${r.metric.replica}=${r.value}`,
    );
    log(`after the kill of ${victim} (${address}): answers ${JSON.stringify(after)}; failed tries ${failedTries.join(' ') || 'none'}`);
    expect(after[address]).toBe(before[address]);
    expect((await prometheus.value(`sum(wayshub_requests_total{${site}, status_class="5xx"})`)) ?? 0).toBe(0);
    const retried = (await prometheus.value(`sum(wayshub_retried_requests_total{${site}})`)) ?? 0;
    const failed = (await prometheus.value(`sum(wayshub_upstream_failed_tries_total{${site}})`)) ?? 0;
    expect(retried).toBe(failed);
  });

  test("the proxy's connections, the last deploy, and every query of the repository's dashboard", async () => {
    const states = (await prometheus.query('wayshub_proxy_connections')).map((r) => r.metric.state).sort();
    expect(states).toEqual(['active', 'reading', 'waiting', 'writing']);
    const deploys = await prometheus.query('wayshub_deploy_timestamp_seconds');
    expect(deploys).toHaveLength(1);
    expect(deploys[0].metric.revision).toMatch(/^\d{12}$/);
    expect(Math.abs(deploys[0].value - Date.now() / 1000)).toBeLessThan(600);

    const dashboard = repositoryDashboard();
    const queries = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => [p.title, t.expr])),
      ...(dashboard.annotations?.list ?? []).map((a) => ['annotation', a.expr]),
    ];
    for (const [title, expr] of queries) {
      // Each runs (Prometheus refuses a bad one); all but the retries have data by now. This
      // stack has no database: backups.test.ts runs the backups' panels with data.
      const result = await prometheus.query(promql(expr));
      if (!/Retried|Backups/.test(title)) expect({ title, hasData: result.length > 0 }).toEqual({ title, hasData: true });
    }
  });
});

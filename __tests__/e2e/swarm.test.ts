// WAYSHUB_ENGINE=swarm on a real single-node swarm (initialized here, left afterwards when this
// test initialized it): the same stack as Swarm services, deployed with the real
// `docker service create/update/rm`. Under GET, POST and slow-request load, each case counts
// what failed: the switch of a running one-host deployment to Swarm, routing and balance, scaling 3 → 5 → 2, a rolling update v1 → v2, an image that
// never gets healthy (Swarm rolls it back by itself and the deploy fails), a config change
// that rolls the proxy.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PROXY_NODE_LABEL, WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { LoadReport, expectNoFailures, freePort, request, sleep, startLoads, stopLoads, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ROLLOUT_VARIANTS, buildAppVariants, ensureTestImages } from '../support/test-images';

const NAME = 'e2eswarm';
const DOMAIN = 'wayshub.localhost';
const REPO = 'wayshub-e2e/swarm';
const DRAIN_SECONDS = 10;
const log = (line: string) => process.stderr.write(`  [swarm] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const serviceLogs = (service: string) => (seconds: number) => {
  // `docker service logs` can wait for ever on the log stream of a task that is gone.
  const r = spawnSync('docker', ['service', 'logs', '--raw', '--since', `${seconds}s`, service], { encoding: 'utf8', timeout: 15_000 });
  return `${r.stdout}\n${r.stderr}`;
};

/** The running tasks of a service, by the name their answers carry (`<service>.<slot>.<task id>`). */
function runningTasks(service: string): string[] {
  return docker('service', 'ps', '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.Name}}.{{.ID}} {{.CurrentState}}', service)
    .split('\n')
    .filter((line) => line.includes(' Running'))
    .map((line) => line.split(' ')[0])
    .sort();
}

function imagesOf(service: string): string[] {
  return [...new Set(docker('ps', '--filter', `label=com.docker.swarm.service.name=${service}`, '--format', '{{.Image}}').split('\n').filter(Boolean))];
}

/** Sends n GETs and counts the answers per task. */
async function spread(port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request(port, { host: DOMAIN });
    if (r.status === 200) counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1;
  }
  return counts;
}

describeE2E('Swarm mode (WAYSHUB_ENGINE=swarm) on a single-node swarm', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-swarm-'));
  const app = `${NAME}-app`;
  const proxy = `${NAME}-proxy`;
  let initialized = false;
  let port: number;
  let base: WayshubSettingsInput;
  let deployment: Deployment;

  async function deploy(settings: Partial<WayshubSettingsInput>, replicas = 3) {
    deployment = await deployStack(synthToDir({ ...base, ...settings }), { workDir, log });
    return deployment.apply({ replicas });
  }

  /** Runs a change under load and returns the reports and how long the change took. */
  async function underLoad(change: () => Promise<unknown>): Promise<{ reports: Record<string, LoadReport>; seconds: number; error?: Error }> {
    const loads = startLoads(port, DOMAIN);
    let seconds = 0;
    let error: Error | undefined;
    let reports: Record<string, LoadReport>;
    try {
      await sleep(2000);
      const t0 = Date.now();
      await change().catch((e: Error) => (error = e));
      seconds = (Date.now() - t0) / 1000;
      await sleep(3000);
    } finally {
      reports = await stopLoads(loads, log, serviceLogs(proxy));
    }
    return { reports, seconds, error };
  }

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    if (docker('info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      initialized = true;
    }
    docker('node', 'update', '--label-add', `${PROXY_NODE_LABEL}=true`, docker('info', '--format', '{{.Swarm.NodeID}}'));
    await buildAppVariants(images.app, REPO, ROLLOUT_VARIANTS);
    port = await freePort();
    base = {
      name: NAME,
      domain: DOMAIN,
      engine: 'swarm',
      app: { image: `${REPO}:v1`, port: 3000, drainSeconds: DRAIN_SECONDS },
      proxy: { image: images.nginx, httpPort: port },
    };
    // A running one-host deployment first: the first test switches it to Swarm.
    await deploy({ engine: 'containers' });
    await waitFor('the site to answer', 30_000, async () => (await request(port, { host: DOMAIN }).catch(() => ({ status: 0 }))).status === 200);
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    if (initialized) spawnSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' });
    fs.rmSync(workDir, { recursive: true, force: true });
    spawnSync('docker', ['rmi', `${REPO}:v1`, `${REPO}:v2`, `${REPO}:bad`], { stdio: 'ignore' });
  }, 180_000);

  test('a running one-host deployment switches to Swarm: destroy, then deploy with WAYSHUB_ENGINE=swarm; the gap is counted', async () => {
    // In one deploy Terraform refuses the switch: the network is replaced (bridge → overlay, same
    // name) under replicas that are create_before_destroy, and the plan has a cycle (measured).
    const refused = await deploy({}).then(
      () => 'applied',
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/Error: Cycle: .*docker_network(__|\.)network/);
    const { reports, seconds, error } = await underLoad(async () => {
      await deployment.destroy();
      await deploy({});
    });
    if (error) throw error;
    const failed = Object.values(reports).reduce((sum, r) => sum + r.failed, 0);
    const sent = Object.values(reports).reduce((sum, r) => sum + r.sent, 0);
    log(`switch to Swarm (destroy, deploy): ${seconds.toFixed(1)} s, ${sent} sent, ${failed} failed`);
    expect(docker('ps', '-a', '--filter', `name=^${NAME}-app-`, '--format', '{{.Names}}')).toBe('');
    expect(docker('network', 'inspect', '-f', '{{.Driver}}', `${NAME}-net`)).toBe('overlay');
    expect(runningTasks(app)).toHaveLength(3);
    await waitFor('the site to answer again', 30_000, async () => (await request(port, { host: DOMAIN }).catch(() => ({ status: 0 }))).status === 200);
  });

  test('the domain routes to the app tasks through tasks.<service>, balanced; an unknown name gets no answer', async () => {
    const tasks = runningTasks(app);
    expect(tasks).toHaveLength(3);
    const counts = await spread(port, 300);
    log(`300 GETs: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).sort()).toEqual(tasks);
    for (const n of Object.values(counts)) expect(Math.abs(n - 100)).toBeLessThanOrEqual(10);
    await expect(request(port, { host: 'unknown.example' })).rejects.toThrow();
    // The proxy runs on the labelled node and publishes its port there (host mode).
    expect(docker('service', 'inspect', '-f', '{{json .Spec.EndpointSpec.Ports}}', proxy)).toContain('"PublishMode":"host"');
  });

  test('scaling 3 → 5 → 2 under load fails no request', async () => {
    const up = await underLoad(() => deploy({}, 5));
    log(`scale-up 3 -> 5: ${up.seconds.toFixed(1)} s`);
    if (up.error) throw up.error;
    expect(runningTasks(app)).toHaveLength(5);
    expectNoFailures(up.reports);
    const down = await underLoad(() => deploy({}, 2));
    log(`scale-down 5 -> 2: ${down.seconds.toFixed(1)} s`);
    if (down.error) throw down.error;
    expectNoFailures(down.reports);
    await waitFor('2 tasks', 30_000, () => runningTasks(app).length === 2);
    await deploy({}, 3);
  });

  test('a rolling update v1 → v2 under load: start-first, health-gated, 0 failed; afterwards only v2 answers', async () => {
    const v1 = runningTasks(app);
    const { reports, seconds, error } = await underLoad(() => deploy({ app: { ...base.app, image: `${REPO}:v2` } }));
    log(`rolling update of 3 tasks: ${seconds.toFixed(1)} s`);
    if (error) throw error;
    expectNoFailures(reports);
    const v2 = runningTasks(app);
    expect(v2).toHaveLength(3);
    expect(v2.filter((t) => v1.includes(t))).toEqual([]);
    await waitFor('only v2 containers', 30_000, () => imagesOf(app).join() === `${REPO}:v2`);
    const seen = Object.keys(await spread(port, 30));
    expect(seen.every((t) => v2.includes(t))).toBe(true);
  });

  test('an image that never gets healthy: Swarm rolls back by itself, the deploy fails with one clear line, and no request fails', async () => {
    const { reports, seconds, error } = await underLoad(() => deploy({ app: { ...base.app, image: `${REPO}:bad` } }));
    log(`failed update and rollback: ${seconds.toFixed(1)} s`);
    expect(error).toBeDefined();
    const line = (error?.message ?? '').split('\n')[0];
    log(`the deploy said: ${line}`);
    expect(line).toMatch(new RegExp(`docker_service\\.app: Swarm rolled the update of ${app} back \\(rollback_completed: `));
    expectNoFailures(reports);
    expect(docker('service', 'inspect', '-f', '{{.UpdateStatus.State}}', app)).toBe('rollback_completed');
    expect(docker('service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', app)).toBe(`${REPO}:v2`);
    expect(runningTasks(app)).toHaveLength(3);
    // The next deploy of a good image converges again.
    await deploy({ app: { ...base.app, image: `${REPO}:v2` } });
  });

  test('a config change rolls the proxy to a new Docker config; the failures of its stop-first gap are counted', async () => {
    const before = runningTasks(proxy);
    const configs = docker('service', 'inspect', '-f', '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}', proxy);
    // The provider can't wait for a global service (converge_config conflicts with mode.global),
    // so the deploy returns while the proxy's new task may still be starting: the load runs until
    // the new task does.
    const { reports, seconds, error } = await underLoad(async () => {
      await deploy({ app: { ...base.app, image: `${REPO}:v2` }, proxy: { ...base.proxy, maxBodySize: '1m' } });
      await waitFor('the new proxy task', 60_000, () => {
        const now = runningTasks(proxy);
        return now.length === 1 && now.join() !== before.join();
      });
    });
    log(`proxy rolled in ${seconds.toFixed(1)} s (the deploy, then the new task running)`);
    if (error) throw error;
    const after = runningTasks(proxy);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    const now = docker('service', 'inspect', '-f', '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}', proxy);
    expect(now).not.toBe(configs);
    // The old configs are gone once no service uses them.
    for (const old of configs.split(' ').filter(Boolean)) expect(spawnSync('docker', ['config', 'inspect', old]).status).not.toBe(0);
    const big = await request(port, { host: DOMAIN, method: 'POST', path: '/upload', body: Buffer.alloc(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    const failed = Object.values(reports).reduce((sum, r) => sum + r.failed, 0);
    const sent = Object.values(reports).reduce((sum, r) => sum + r.sent, 0);
    log(`config change: ${sent} sent, ${failed} failed (one proxy node: its old task stops before the new one binds the port)`);
  });
});

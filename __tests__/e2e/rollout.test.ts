// A new app image on a running deployment: the new replicas start, become healthy, and only
// then are the old ones removed (and drained), under GET, POST and slow-request load with a
// WebSocket open. An image that never becomes healthy fails the deploy and the old replicas
// keep serving. A scale-down drains the replicas it removes the same way.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ACCESS_LOG_FILE } from '../../constructs/engines/nginx-proxy';
import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import {
  LoadReport,
  WebSocketReport,
  WebSocketSession,
  expectNoFailures,
  freePort,
  replicasAnswering,
  request,
  startLoads,
  stopLoads,
  waitFor,
} from '../support/http';
import { Deployment, deployStack, onRealProvider } from '../support/deploy';
import { replicaNames } from '../support/replicas';
import { synthToDir } from '../support/synth';
import { ROLLOUT_VARIANTS, buildAppVariants, ensureTestImages } from '../support/test-images';

const NAME = 'e2eroll';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const VARS = { replicas: 3, backend_replicas: 2, jwt_private_key: 'e2e-jwt-private-key-0123456789' };
const REPO = 'wayshub-e2e/rollout';
// Short, so that a WebSocket held to the drain limit does not make the test slow.
const DRAIN_SECONDS = 10;
const log = (line: string) => process.stderr.write(`  [rollout] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const proxyId = () => docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`);
// The image id a container runs: the provider creates containers from docker_image's id, the
// local apply from its name, so the id is what both have in common.
const runs = (container: string, image: string) => docker('inspect', '-f', '{{.Image}}', container) === docker('image', 'inspect', '-f', '{{.Id}}', image);
/** nginx's errors from Docker's log, and the access log's last lines from its file (the default). */
const proxyLogs = (seconds: number) => {
  const logs = spawnSync('docker', ['logs', '--since', `${seconds}s`, `${NAME}-proxy`], { encoding: 'utf8' });
  const access = spawnSync('docker', ['exec', `${NAME}-proxy`, 'tail', '-n', '20000', ACCESS_LOG_FILE], { encoding: 'utf8' });
  return `${logs.stdout}\n${logs.stderr}\n${access.stdout ?? ''}`;
};

function describeWebSocket(r: WebSocketReport): string {
  const end =
    r.closedAfterMs === undefined
      ? 'still open'
      : `${r.closeCode === undefined ? 'cut without a close frame' : `closed ${r.closeCode}`} after ${(r.closedAfterMs / 1000).toFixed(1)} s`;
  return `WebSocket on ${r.replica}: ${r.sent} sent, ${r.echoed} echoed, max echo ${r.maxEchoMs} ms, ${end}`;
}

describeE2E('a new app image rolls out on a running deployment', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-rollout-'));
  let port: number;
  let base: WayshubSettingsInput;
  let deployment: Deployment;

  /** Deploys these images of the frontend and the backend (the backend's stays as it was unless given). */
  let backendImage = `${REPO}:v1`;
  async function deploy(image: string, backend = backendImage) {
    backendImage = backend;
    const settings = { ...base, app: { ...base.app, image }, backend: { ...base.backend, image: backend } };
    deployment = await deployStack(synthToDir(settings), { workDir, log });
    return deployment.apply(VARS);
  }

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    // v1, v2 and "bad", whose port is not the app's: never healthy, connections refused.
    await buildAppVariants(images.app, REPO, ROLLOUT_VARIANTS);
    port = await freePort();
    base = {
      name: NAME,
      domain: DOMAIN,
      app: { image: `${REPO}:v1`, port: 3000, healthTimeoutSeconds: 20, drainSeconds: DRAIN_SECONDS },
      // The test app answers as the backend too, on 5000.
      backend: { image: `${REPO}:v1`, port: 5000, env: { PORT: '5000' }, healthTimeoutSeconds: 20, drainSeconds: DRAIN_SECONDS },
      database: { enabled: false },
      proxy: { image: images.nginx, httpPort: port },
    };
    await deploy(`${REPO}:v1`);
    await waitFor('v1 to answer', 20_000, async () => (await request(port, { host: DOMAIN })).status === 200);
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
    spawnSync('docker', ['rmi', `${REPO}:v1`, `${REPO}:v2`, `${REPO}:bad`], { stdio: 'ignore' });
  });

  test('v1 → v2: new replicas first, healthy, then the old ones drain; no request fails, and afterwards only v2 answers', async () => {
    const v1 = replicaNames(NAME);
    expect(v1).toHaveLength(3);
    const proxy = proxyId();
    const loads = startLoads(port, DOMAIN);
    const ws = await WebSocketSession.open(port, DOMAIN, '/ws');
    let reports: Record<string, LoadReport>;
    let seconds = 0;
    let webSocket: WebSocketReport;
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const t0 = Date.now();
      const result = await deploy(`${REPO}:v2`);
      seconds = (Date.now() - t0) / 1000;
      expect(result.outputs.replica_names).toEqual(replicaNames(NAME));
      await new Promise((r) => setTimeout(r, 6000));
    } finally {
      reports = await stopLoads(loads, log, (seconds) => proxyLogs(seconds));
      webSocket = ws.report.closedAfterMs === undefined ? await ws.close() : await ws.ended;
    }
    log(`rollout of 3 replicas: ${seconds.toFixed(1)} s`);
    log(describeWebSocket(webSocket));
    expectNoFailures(reports);
    // The WebSocket stays open on its v1 replica while that drains, and gets a close frame
    // ("going away", so the client reconnects) 1 s before the drain limit: not a reset.
    expect(v1).toContain(webSocket.replica);
    expect(webSocket.closeCode).toBe(1001);
    expect(webSocket.echoed).toBeGreaterThanOrEqual(webSocket.sent - 1);
    const again = await WebSocketSession.open(port, DOMAIN, '/ws');
    const reconnected = await again.close();
    expect(replicaNames(NAME)).toContain(reconnected.replica);
    const v2 = replicaNames(NAME);
    expect(v2).toHaveLength(3);
    expect(v2.filter((name) => v1.includes(name))).toEqual([]);
    for (const name of v2) expect(runs(name, `${REPO}:v2`)).toBe(true);
    expect(proxyId()).toBe(proxy);
    // Once nginx has asked DNS again (every second), only v2 answers.
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await request(port, { host: DOMAIN })).body.trim());
    expect([...seen].every((name) => v2.includes(name))).toBe(true);
  });

  // How each engine says that a new replica never became healthy: the provider in its own words
  // (resource_docker_container_funcs.go:573), the local apply naming the replica and what to run.
  const notHealthy = onRealProvider()
    ? /container failed to be in healthy state[\s\S]*docker_container\.app\[\d\]/
    : new RegExp(`${NAME}-app-\\d{12}-1 is not healthy after 20 s .*its healthcheck last said: .*; see: docker logs ${NAME}-app-\\d{12}-1`);

  test('an image that never becomes healthy: the deploy fails naming the replica, v2 keeps serving, a retry fails the same way, and a good image converges', async () => {
    const v2 = replicaNames(NAME);
    const loads = startLoads(port, DOMAIN);
    const ws = await WebSocketSession.open(port, DOMAIN, '/ws');
    let reports: Record<string, LoadReport>;
    let failed = '';
    try {
      await new Promise((r) => setTimeout(r, 1000));
      failed = await deploy(`${REPO}:bad`).then(
        () => 'applied',
        (e: Error) => e.message,
      );
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      reports = await stopLoads(loads, log, (seconds) => proxyLogs(seconds));
    }
    const webSocket = { ...ws.report };
    await ws.close();
    log(describeWebSocket(webSocket));
    // Nothing was removed: the WebSocket on its v2 replica never noticed.
    expect(webSocket.closedAfterMs).toBeUndefined();
    expect(webSocket.echoed).toBeGreaterThanOrEqual(webSocket.sent - 1);
    log(`the failed deploy said: ${failed.split('\n')[0]}`);
    expect(failed).toMatch(notHealthy);
    expectNoFailures(reports);
    for (const name of v2) expect(docker('inspect', '-f', '{{.State.Running}}', name)).toBe('true');

    // The same deploy again fails the same way: the replica left tainted does not block its
    // replacement on its name (before, every retry stopped at "Conflict. The container name ...
    // is already in use"), and v2 still serves.
    const retried = await deploy(`${REPO}:bad`).then(
      () => 'applied',
      (e: Error) => e.message,
    );
    log(`the same deploy again said: ${retried.split('\n')[0]}`);
    expect(retried).not.toMatch(/already in use/);
    expect(retried).toMatch(notHealthy);
    for (const name of v2) expect(docker('inspect', '-f', '{{.State.Running}}', name)).toBe('true');

    // The next deploy of a good image converges with no manual step: the bad replicas and the
    // old v2 ones go.
    await deploy(`${REPO}:v2`);
    const now = replicaNames(NAME);
    expect(now).toHaveLength(3);
    for (const name of now) expect([runs(name, `${REPO}:v2`), docker('inspect', '-f', '{{.State.Health.Status}}', name)]).toEqual([true, 'healthy']);
  });

  test('the backend rolls out the same way at api.<domain>, and the frontend replicas are not touched', async () => {
    const frontend = replicaNames(NAME).map((name) => docker('inspect', '-f', '{{.Id}}', name));
    const v1 = replicaNames(NAME, 'backend');
    expect(v1).toHaveLength(2);
    const loads = startLoads(port, API);
    const ws = await WebSocketSession.open(port, API, '/ws');
    let reports: Record<string, LoadReport>;
    let webSocket: WebSocketReport;
    try {
      await new Promise((r) => setTimeout(r, 2500));
      await deploy(`${REPO}:v2`, `${REPO}:v2`);
      await new Promise((r) => setTimeout(r, 6000));
    } finally {
      reports = await stopLoads(loads, log, (seconds) => proxyLogs(seconds));
      webSocket = ws.report.closedAfterMs === undefined ? await ws.close() : await ws.ended;
    }
    log(describeWebSocket(webSocket));
    expectNoFailures(reports);
    expect(v1).toContain(webSocket.replica);
    expect(webSocket.closeCode).toBe(1001);
    expect(webSocket.echoed).toBeGreaterThanOrEqual(webSocket.sent - 1);
    const v2 = replicaNames(NAME, 'backend');
    expect(v2).toHaveLength(2);
    expect(v2.filter((name) => v1.includes(name))).toEqual([]);
    for (const name of v2) expect(runs(name, `${REPO}:v2`)).toBe(true);
    expect(replicaNames(NAME).map((name) => docker('inspect', '-f', '{{.Id}}', name))).toEqual(frontend);
  });

  test('scale-down 5 → 2 with 2 s requests and WebSockets open: every request completes, and each WebSocket on a removed replica closes with 1001 at the drain limit', async () => {
    await deployment.apply({ ...VARS, replicas: 5 });
    const five = replicaNames(NAME);
    expect(five).toHaveLength(5);
    await replicasAnswering(port, DOMAIN, five, 20_000);
    const removed = five.filter((name) => !/-[12]$/.test(name));
    const sessions = await Promise.all(Array.from({ length: 10 }, () => WebSocketSession.open(port, DOMAIN, '/ws')));
    const loads = startLoads(port, DOMAIN);
    let reports: Record<string, LoadReport>;
    let seconds = 0;
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const t0 = Date.now();
      await deployment.apply({ ...VARS, replicas: 2 });
      seconds = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      reports = await stopLoads(loads, log, (seconds) => proxyLogs(seconds));
    }
    log(`scale-down 5 -> 2: ${seconds.toFixed(1)} s (drain limit ${DRAIN_SECONDS} s)`);
    const webSockets = sessions.map((ws) => ({ ...ws.report }));
    for (const r of webSockets) log(describeWebSocket(r));
    await Promise.all(sessions.map((ws) => ws.close()));
    expectNoFailures(reports);
    expect(replicaNames(NAME)).toEqual(five.filter((name) => !removed.includes(name)));
    // Round robin spreads them: some WebSockets were on the replicas that went.
    expect(webSockets.filter((r) => removed.includes(r.replica)).length).toBeGreaterThan(0);
    for (const r of webSockets) {
      if (removed.includes(r.replica)) {
        expect(r.closeCode).toBe(1001);
        expect(r.echoed).toBeGreaterThanOrEqual(r.sent - 1);
      } else {
        expect(r.closedAfterMs).toBeUndefined();
      }
    }
  });
});

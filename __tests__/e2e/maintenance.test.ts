// The maintenance switch: one setting makes the proxy answer every request itself (503 with
// Retry-After, its own page, JSON on the API) while its health location keeps answering, and
// it is switched on and off by a reload of the running nginx, under load, with no connection
// error and no container replaced.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { MAINTENANCE_RETRY_AFTER_SECONDS, PROXY_HEALTH_PATH } from '../../nginx/render';
import { testAppWithApi } from '../support/backend-deployment';
import { describeE2E } from '../support/e2e-gate';
import { Load, LoadReport, freePort, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2emaint';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const log = (line: string) => process.stderr.write(`  [maintenance] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const proxyId = () => docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`);
const describeLoad = (what: string, r: LoadReport) =>
  `${what}: ${r.sent} sent, ${r.failed} failed, by status ${JSON.stringify(r.byStatus)}, ${r.resent} resent, max ${r.maxLatencyMs} ms`;

describeE2E('the maintenance switch', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-maintenance-'));
  let port: number;
  let base: WayshubSettingsInput;
  let deployment: Deployment;

  async function deploy(maintenance: boolean) {
    deployment = await deployStack(synthToDir({ ...base, proxy: { ...base.proxy, maintenance } }), { workDir, log });
    await deployment.apply({ jwt_private_key: 'e2e-maintenance-jwt', replicas: 2, backend_replicas: 1 });
  }

  /**
   * Loads on both sites while `change` runs: GETs, POSTs and 2 s requests, each answer 200 (a
   * replica) or 503 (the proxy, in maintenance); anything else, or a connection error, fails.
   */
  async function underLoad(change: () => Promise<void>): Promise<LoadReport[]> {
    const either = { okStatus: [200, 503] } as const;
    const body = Buffer.from('{"video":"cat.mp4"}');
    const loads = [
      new Load(port, DOMAIN, 40, either),
      new Load(port, DOMAIN, 10, { ...either, post: body }),
      new Load(port, API, 20, either),
      new Load(port, DOMAIN, 5, { ...either, path: '/slow?ms=2000' }),
    ];
    let reports: LoadReport[] = [];
    try {
      await new Promise((r) => setTimeout(r, 2000));
      await change();
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      reports = await Promise.all(loads.map((l) => l.stop()));
    }
    ['GET', 'POST', 'API GET', 'slow GET'].forEach((what, i) => log(describeLoad(what, reports[i])));
    return reports;
  }

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    base = testAppWithApi(NAME, DOMAIN, images, port);
    await deploy(false);
    await waitFor(
      'both sites to answer',
      30_000,
      async () => (await request(port, { host: DOMAIN })).status === 200 && (await request(port, { host: API })).status === 200,
    );
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('on: every request gets 503 with Retry-After and the proxy’s own page (JSON on the API), the health location answers, by a reload under load', async () => {
    const before = proxyId();
    const reports = await underLoad(async () => {
      await deploy(true);
      await waitFor('maintenance to be in effect', 10_000, async () => (await request(port, { host: DOMAIN })).status === 503);
    });
    for (const r of reports) {
      expect(r.failures).toEqual([]);
      expect(r.byStatus[503]).toBeGreaterThan(0);
    }
    expect(proxyId()).toBe(before);

    const page = await request(port, { host: DOMAIN, path: '/videos/42' });
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe(String(MAINTENANCE_RETRY_AFTER_SECONDS));
    expect(page.headers['content-type']).toBe('text/html');
    expect(page.body).toContain('Back soon');
    // Answered by the proxy: the test app marks each of its answers with X-Replica.
    expect(page.headers['x-replica']).toBeUndefined();
    expect(page.headers['x-content-type-options']).toBe('nosniff');

    const api = await request(port, { host: API, method: 'POST', path: '/api/v1/videos', body: Buffer.from('{"a":1}') });
    expect(api.status).toBe(503);
    expect(api.headers['content-type']).toBe('application/json');
    expect(JSON.parse(api.body)).toMatchObject({ error: 'maintenance', retryAfterSeconds: MAINTENANCE_RETRY_AFTER_SECONDS });

    const health = await request(port, { host: DOMAIN, path: PROXY_HEALTH_PATH });
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok\n');
  }, 300_000);

  test('off: the replicas answer again, by a reload under load, with no connection error', async () => {
    const before = proxyId();
    const reports = await underLoad(async () => {
      await deploy(false);
      await waitFor('the replicas to answer again', 10_000, async () => (await request(port, { host: DOMAIN })).status === 200);
    });
    for (const r of reports) {
      expect(r.failures).toEqual([]);
      expect(r.byStatus[200]).toBeGreaterThan(0);
    }
    expect(proxyId()).toBe(before);
    const answer = await request(port, { host: DOMAIN });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-replica']).toBeDefined();
    expect((await request(port, { host: API })).status).toBe(200);
  }, 300_000);
});

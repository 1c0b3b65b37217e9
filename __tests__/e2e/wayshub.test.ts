// The synthesized stack applied to a real Docker Engine with real Terraform and real nginx,
// and every promise of the product measured: routing, balance, scaling, failover, WebSocket,
// body limits, every load-balancing method, variable validation and destroy.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { STACK_LABEL } from '../../constructs/docker/labels';
import { NGINX_CONF_PATH, UpstreamMethod, renderNginxConfig } from '../../nginx/render';
import { describeE2E } from '../support/e2e-gate';
import { Load, LoadReport, freePort, replicasAnswering, request, sleep, waitFor, webSocketEcho } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';
import { replica, replicaNames as replicasOf } from '../support/replicas';

const NAME = 'e2e';
const DOMAIN = 'wayshub.localhost';
const log = (line: string) => process.stderr.write(`  [e2e] ${line}\n`);

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
const containerId = (name: string) => docker('inspect', '-f', '{{.Id}}', name);
const labelled = (kind: 'ps' | 'network' | 'volume') =>
  docker(...(kind === 'ps' ? ['ps', '-a'] : [kind, 'ls']), '-q', '--filter', `label=${STACK_LABEL}=${NAME}`)
    .split('\n')
    .filter(Boolean);
// The first n replicas of the current revision (`e2e-app-<revision>-<n>`).
const replicaNames = (n: number) => replicasOf(NAME).slice(0, n);

function expectNoFailures(report: LoadReport, minRate: number): void {
  log(
    `load: ${report.sent} sent, ${report.ok} ok, ${report.failed} failed, ${report.resent} resent, max ${report.maxLatencyMs} ms in ${report.seconds.toFixed(1)} s; ${JSON.stringify(report.byReplica)}`,
  );
  expect(report.failures).toEqual([]);
  // Scaling and failover never reload nginx, so no kept-alive connection is closed under a client.
  expect(report.resent).toBe(0);
  expect(report.failed).toBe(0);
  expect(report.ok).toBe(report.sent);
  expect(report.sent / report.seconds).toBeGreaterThanOrEqual(minRate);
}

describeE2E('wayshub on a real Docker Engine', () => {
  let port: number;
  let images: { nginx: string; app: string };
  let settings: WayshubSettingsInput;
  let deployment: Deployment;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-e2e-'));

  /** Synthesizes the stack for these settings and applies it, like `cdktf deploy --var replicas=N`. */
  async function deploy(replicas: number, overrides: WayshubSettingsInput = {}) {
    const stackDir = synthToDir({ ...settings, ...overrides, proxy: { ...settings.proxy, ...overrides.proxy } });
    deployment = await deployStack(stackDir, { workDir, log });
    return deployment.apply({ replicas });
  }

  beforeAll(async () => {
    images = await ensureTestImages(log);
    port = await freePort();
    settings = { name: NAME, domain: DOMAIN, app: { image: images.app, port: 3000 }, proxy: { image: images.nginx, httpPort: port } };
  }, 600_000);

  // A test that fails half-way must not leave its load running (it would keep jest alive).
  const loads: Load[] = [];
  const startLoad = (perSecond: number) => {
    const load = new Load(port, DOMAIN, perSecond);
    loads.push(load);
    return load;
  };
  afterEach(async () => {
    await Promise.all(loads.splice(0).map((l) => l.stop()));
  });

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
  });

  describe('the replicas variable', () => {
    test.each([0, 21])('replicas=%i is refused by Terraform with the validation message', async (n) => {
      await expect(deploy(n)).rejects.toThrow(`replicas must be a whole number from 1 to 20, got ${n}.`);
      expect(labelled('ps')).toEqual([]);
    });
  });

  describe('routing', () => {
    beforeAll(async () => {
      const result = await deploy(3);
      expect(result.outputs).toMatchObject({
        url: `http://${DOMAIN}:${port}/`,
        replica_names: replicaNames(3),
        network_name: `${NAME}-net`,
        proxy_name: `${NAME}-proxy`,
      });
      await replicasAnswering(port, DOMAIN, replicaNames(3), 20_000);
    });

    test('Host <domain> gets a 200 from a replica, with the forwarded headers set', async () => {
      const r = await request(port, { host: DOMAIN });
      expect(r.status).toBe(200);
      expect(replicaNames(3)).toContain(r.body.trim());
      const headers = JSON.parse((await request(port, { host: DOMAIN, path: '/headers' })).body) as Record<string, string>;
      expect(headers).toMatchObject({ host: DOMAIN, 'x-forwarded-host': DOMAIN, 'x-forwarded-proto': 'http', 'x-real-ip': expect.any(String) });
    });

    test('the proxy answers its own health location', async () => {
      const r = await request(port, { host: DOMAIN, path: '/_proxy/health' });
      expect(r).toMatchObject({ status: 200, body: 'ok\n' });
    });

    test('an unknown Host gets the connection closed with no response', async () => {
      await expect(request(port, { host: 'evil.example' })).rejects.toThrow(/socket hang up|ECONNRESET/);
    });

    test('no replica publishes a port on the host; only the proxy does', () => {
      for (const name of replicaNames(3)) {
        expect(docker('inspect', '-f', '{{json .HostConfig.PortBindings}}', name)).toMatch(/^(null|\{\})$/);
        expect(docker('port', name)).toBe('');
      }
      expect(docker('port', `${NAME}-proxy`, '80/tcp')).toContain(`:${port}`);
    });
  });

  describe('balance', () => {
    test('600 requests over 3 replicas, round robin: each gets 200 ± 20', async () => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 600; i++) {
        const r = await request(port, { host: DOMAIN });
        expect(r.status).toBe(200);
        counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1;
      }
      log(`balance: ${JSON.stringify(counts)}`);
      expect(Object.keys(counts).sort()).toEqual(replicaNames(3));
      for (const n of Object.values(counts)) expect(Math.abs(n - 200)).toBeLessThanOrEqual(20);
    });
  });

  describe('WebSocket and request bodies', () => {
    test('a WebSocket echo works through the proxy', async () => {
      await expect(webSocketEcho(port, DOMAIN, '/ws', 'hello wayshub')).resolves.toBe('hello wayshub');
    });

    test('a 5 MB POST is accepted under the default 10m limit', async () => {
      const body = Buffer.alloc(5 * 1024 * 1024, 'x');
      const r = await request(port, { host: DOMAIN, method: 'POST', path: '/upload', body });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ bytes: body.length });
    });
  });

  describe('failover', () => {
    test('a replica killed under load costs no request, and takes traffic again after it starts', async () => {
      const victim = replica(NAME, 'app', 2);
      const load = startLoad(60);
      await sleep(3000);
      docker('kill', victim);
      log(`killed ${victim}`);
      await sleep(9000);
      expectNoFailures(await load.stop(), 50);

      if (docker('inspect', '-f', '{{.State.Running}}', victim) !== 'true') docker('start', victim);
      const ms = await replicasAnswering(port, DOMAIN, [victim], 15_000);
      log(`${victim} answered again ${ms} ms after start`);
    });
  });

  describe('scaling through the variable', () => {
    test('3 → 5: all five answer within 10 s, the proxy keeps its id, no request fails', async () => {
      const proxyBefore = containerId(`${NAME}-proxy`);
      const keptBefore = replicaNames(3).map(containerId);
      const load = startLoad(50);
      await sleep(1000);
      const result = await deploy(5);
      const ms = await replicasAnswering(port, DOMAIN, replicaNames(5), 10_000);
      log(`all 5 replicas answered ${ms} ms after the apply`);
      await sleep(1000);
      expectNoFailures(await load.stop(), 40);

      expect(result.outputs.replica_names).toEqual(replicaNames(5));
      expect(containerId(`${NAME}-proxy`)).toBe(proxyBefore);
      expect(replicaNames(3).map(containerId)).toEqual(keptBefore);
    });

    test('5 → 2: no GET request fails while three replicas go away', async () => {
      const proxyBefore = containerId(`${NAME}-proxy`);
      const load = startLoad(50);
      await sleep(1000);
      await deploy(2);
      await sleep(7000); // past nginx's 5 s DNS validity: the removed replicas are forgotten
      const report = await load.stop();
      expectNoFailures(report, 40);

      expect(containerId(`${NAME}-proxy`)).toBe(proxyBefore);
      expect(
        docker('ps', '--format', '{{.Names}}', '--filter', `label=${STACK_LABEL}=${NAME}`, '--filter', 'label=wayshub.role=app').split('\n').sort(),
      ).toEqual(replicaNames(2));
      const after = startLoad(50);
      await sleep(2000);
      const tail = await after.stop();
      expect(Object.keys(tail.byReplica).sort()).toEqual(replicaNames(2));
    });
  });

  describe('nginx accepts the config of every load-balancing method', () => {
    const methods: UpstreamMethod[] = [
      { method: 'round_robin' },
      { method: 'least_conn' },
      { method: 'ip_hash' },
      { method: 'random_two_least_conn' },
      { method: 'hash', key: '$request_uri', consistent: false },
      { method: 'hash', key: '$remote_addr', consistent: true },
    ];

    test.each(methods.map((m) => [m.method === 'hash' ? `hash ${m.key}${m.consistent ? ' consistent' : ''}` : m.method, m] as const))(
      'nginx -t passes for %s',
      (_name, loadBalancing) => {
        const files = renderNginxConfig({
          sites: [
            {
              serverNames: [DOMAIN],
              maxBodySize: '10m',
              connectTimeoutSeconds: 2,
              readTimeoutSeconds: 60,
              nextUpstreamTries: 3,
              nextUpstreamTimeoutSeconds: 10,
              upstream: {
                name: 'wayshub_app',
                alias: `${NAME}-app`,
                port: 3000,
                loadBalancing,
                maxFails: 1,
                failTimeoutSeconds: 5,
                keepalive: 32,
                keepaliveTimeoutSeconds: 4,
              },
            },
          ],
        });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-t-'));
        for (const f of files) {
          fs.mkdirSync(path.join(dir, path.dirname(f.path)), { recursive: true });
          fs.writeFileSync(path.join(dir, f.path), f.content);
        }
        const id = docker('create', '--network', `${NAME}-net`, images.nginx, 'nginx', '-t', '-c', NGINX_CONF_PATH);
        try {
          docker('cp', `${dir}/etc/.`, `${id}:/etc/`);
          const run = spawnSync('docker', ['start', '-a', id], { encoding: 'utf8' });
          expect(`${run.stdout}${run.stderr}`).toContain('test is successful');
          expect(run.status).toBe(0);
        } finally {
          docker('rm', '-f', id);
        }
      },
    );
  });

  describe('a smaller body limit', () => {
    test('WAYSHUB_MAX_BODY_SIZE=1m turns the same 5 MB POST into 413', async () => {
      await deploy(2, { proxy: { maxBodySize: '1m' } });
      await replicasAnswering(port, DOMAIN, replicaNames(2), 20_000);
      const body = Buffer.alloc(5 * 1024 * 1024, 'x');
      // The running proxy reloads the new config within about a second of the deploy.
      await waitFor(
        'the 1m limit to be in effect',
        10_000,
        async () => (await request(port, { host: DOMAIN, method: 'POST', path: '/upload', body })).status === 413,
      );
      const small = await request(port, { host: DOMAIN, method: 'POST', path: '/upload', body: Buffer.alloc(512 * 1024, 'x') });
      expect(small.status).toBe(200);
    });
  });

  describe('destroy', () => {
    test('leaves no container, network or volume labelled with the stack', async () => {
      expect(labelled('ps').length).toBeGreaterThan(0);
      expect(labelled('volume').length).toBeGreaterThan(0);
      await deployment.destroy({ volumes: true });
      await waitFor('Docker objects to go', 10_000, () => labelled('ps').length === 0 && labelled('network').length === 0);
      expect(labelled('ps')).toEqual([]);
      expect(labelled('network')).toEqual([]);
      expect(labelled('volume')).toEqual([]);
    });
  });
});

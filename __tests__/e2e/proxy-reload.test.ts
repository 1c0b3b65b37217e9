// Changing the proxy's settings on a running deployment: the running nginx reloads the new
// config in place (same container, ports never closed), under GET and POST load; a config that
// nginx refuses fails the deploy and the running config keeps serving.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { LOAD_CONNECTIONS, Load, LoadReport, WebSocketSession, freePort, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { replicaNames } from '../support/replicas';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2ereload';
const DOMAIN = 'wayshub.localhost';
const ALIAS = `www.${DOMAIN}`;
const log = (line: string) => process.stderr.write(`  [reload] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const proxyId = () => docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`);
const reloads = () => docker('logs', `${NAME}-proxy`).split('the config or the certificate changed; reloading').length - 1;
const describeLoad = (what: string, r: LoadReport) =>
  `${what}: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed, ${r.resent} resent, max ${r.maxLatencyMs} ms in ${r.seconds.toFixed(1)} s`;

describeE2E('a proxy setting changed on a running deployment', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-reload-'));
  let port: number;
  let base: WayshubSettingsInput;
  let deployment: Deployment;

  /** Synthesizes these settings and applies them to the same deployment, like a new `cdktf deploy`. */
  async function deploy(
    settings: WayshubSettingsInput,
    edit?: (json: { resource: Record<string, Record<string, Record<string, unknown>>> }) => void,
    replicas = 2,
  ) {
    const stackDir = synthToDir(settings);
    if (edit) {
      const file = path.join(stackDir, 'cdk.tf.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof edit>[0];
      edit(json);
      fs.writeFileSync(file, JSON.stringify(json));
    }
    deployment = await deployStack(stackDir, { workDir, log });
    return deployment.apply({ replicas });
  }

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    base = { name: NAME, domain: DOMAIN, app: { image: images.app, port: 3000 }, proxy: { image: images.nginx, httpPort: port, maxBodySize: '1m' } };
    await deploy(base);
    await waitFor('the site to answer', 20_000, async () => (await request(port, { host: DOMAIN })).status === 200);
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const upload = Buffer.alloc(1536 * 1024, 'x');

  test('a bigger body limit and a new server name: nginx reloads in place; no GET, POST or 2 s request fails, and an open WebSocket stays open', async () => {
    expect((await request(port, { host: DOMAIN, method: 'POST', body: upload })).status).toBe(413);
    expect(await request(port, { host: ALIAS }).catch((e: Error) => e.message)).toMatch(/socket hang up|ECONNRESET/);
    const before = { id: proxyId(), reloads: reloads() };

    const body = Buffer.from('{"hello":"world"}');
    const gets = new Load(port, DOMAIN, 50);
    const posts = new Load(port, DOMAIN, 10, { post: body });
    const slow = [new Load(port, DOMAIN, 5, { path: '/slow?ms=2000' }), new Load(port, DOMAIN, 5, { path: '/slow?ms=2000', post: body })];
    const ws = await WebSocketSession.open(port, DOMAIN, '/ws');
    let getReport: LoadReport;
    let postReport: LoadReport;
    let slowReports: LoadReport[];
    try {
      await new Promise((r) => setTimeout(r, 2500));
      await deploy({ ...base, serverAliases: [ALIAS], proxy: { ...base.proxy, maxBodySize: '2m' } });
      await waitFor('the new config to be in effect', 10_000, async () => (await request(port, { host: ALIAS })).status === 200);
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      [getReport, postReport, ...slowReports] = await Promise.all([gets.stop(), posts.stop(), ...slow.map((l) => l.stop())]);
    }
    const webSocket = { ...ws.report };
    await ws.close();
    log(describeLoad('GET', getReport));
    log(describeLoad('POST', postReport));
    log(describeLoad('slow GET', slowReports[0]));
    log(describeLoad('slow POST', slowReports[1]));
    log(
      `WebSocket across the reload: ${webSocket.sent} sent, ${webSocket.echoed} echoed, max echo ${webSocket.maxEchoMs} ms, ${webSocket.closedAfterMs === undefined ? 'still open' : `closed after ${webSocket.closedAfterMs} ms`}`,
    );

    // The old nginx worker keeps the WebSocket (and finishes the slow requests) after the reload.
    expect(webSocket.closedAfterMs).toBeUndefined();
    expect(webSocket.echoed).toBeGreaterThanOrEqual(webSocket.sent - 1);
    for (const r of slowReports) {
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(r.sent);
      expect(r.resent).toBe(0);
    }

    expect(proxyId()).toBe(before.id);
    expect(reloads()).toBe(before.reloads + 1);
    expect((await request(port, { host: DOMAIN, method: 'POST', body: upload })).status).toBe(200);
    expect(getReport.failures).toEqual([]);
    expect(getReport.ok).toBe(getReport.sent);
    // A reload closes idle kept-alive connections: a GET that lost that race is resent, at most
    // once per connection.
    expect(getReport.resent).toBeLessThanOrEqual(LOAD_CONNECTIONS);
    expect(postReport.failures).toEqual([]);
    expect(postReport.ok).toBe(postReport.sent);
    expect(postReport.sent).toBeGreaterThan(20);
  });

  test('a config nginx refuses fails the deploy with nginx’s own message, and the running config keeps serving', async () => {
    const before = { id: proxyId(), reloads: reloads() };
    const bad = 'this_is_not_an_nginx_directive on;';
    // No setting can produce a config nginx refuses (they are validated), so the test edits the
    // synthesized sites.conf, as a bug in the renderer would.
    const refusedConfig = (json: { resource: Record<string, Record<string, Record<string, unknown>>> }) => {
      const loader = json.resource.docker_container.proxy_config_loader;
      const uploads = loader.upload as Array<{ file: string; content: string }>;
      const sites = uploads.find((u) => u.file.endsWith('/sites.conf'));
      if (!sites) throw new Error('no sites.conf upload');
      sites.content = `${bad}\n${sites.content}`;
    };
    const failed = await deploy({ ...base, serverAliases: [ALIAS], proxy: { ...base.proxy, maxBodySize: '3m' } }, refusedConfig).then(
      () => 'applied',
      (e: Error) => e.message,
    );
    // Terraform wraps its diagnostics at 80 columns.
    expect(failed.replace(/\s+/g, ' ')).toContain(
      "nginx refused the new config, and the running proxy keeps the one it has; see nginx's message with: docker logs e2ereload-proxy-config",
    );
    const loaderLogs = spawnSync('docker', ['logs', `${NAME}-proxy-config`], { encoding: 'utf8' });
    expect(loaderLogs.stdout + loaderLogs.stderr).toContain('unknown directive "this_is_not_an_nginx_directive"');

    // Still the 2m config of the last good deploy, in the same container, never reloaded.
    await new Promise((r) => setTimeout(r, 2500));
    expect(proxyId()).toBe(before.id);
    expect(reloads()).toBe(before.reloads);
    expect(docker('exec', `${NAME}-proxy`, 'cat', '/etc/nginx/wayshub/sites.conf')).not.toContain(bad);
    expect((await request(port, { host: DOMAIN, method: 'POST', body: upload })).status).toBe(200);
    expect((await request(port, { host: DOMAIN, method: 'POST', body: Buffer.alloc(2560 * 1024, 'x') })).status).toBe(413);

    // An unrelated change with the refused config still in place plans and applies (nginx's
    // verdict counts in the deploy that ran the loader; before, every later plan stopped on it):
    // a third replica, and the proxy still has its last good config.
    await deploy({ ...base, serverAliases: [ALIAS], proxy: { ...base.proxy, maxBodySize: '3m' } }, refusedConfig, 3);
    expect(replicaNames(NAME)).toHaveLength(3);
    expect(docker('exec', `${NAME}-proxy`, 'cat', '/etc/nginx/wayshub/sites.conf')).not.toContain(bad);
    expect(reloads()).toBe(before.reloads);

    // The next good deploy converges.
    await deploy({ ...base, serverAliases: [ALIAS], proxy: { ...base.proxy, maxBodySize: '3m' } });
    await waitFor(
      'the 3m limit to be in effect',
      10_000,
      async () => (await request(port, { host: DOMAIN, method: 'POST', body: Buffer.alloc(2560 * 1024, 'x') })).status === 200,
    );
    expect(proxyId()).toBe(before.id);
  });
});

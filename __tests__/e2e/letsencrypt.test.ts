// Let's Encrypt mode against a real ACME server (pebble) with real certbot and nginx: the
// certificate is issued through our webroot path, served after a reload, and a forced renewal
// swaps it under load with no failed request and no new proxy container.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { Pebble, ensureAcmeImage, startPebble } from '../support/acme';
import { describeE2E } from '../support/e2e-gate';
import { LOAD_CONNECTIONS, Load, freePort, peerCertificate, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2ele';
const DOMAIN = 'wayshub.test';
const ALIAS = 'www.wayshub.test';
const ACME_NET = `${NAME}-acme`;
const log = (line: string) => process.stderr.write(`  [acme] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
/** How many times the proxy has reloaded nginx for a new certificate. */
const proxyReloads = () => docker('logs', `${NAME}-proxy`).split('the config or the certificate changed; reloading').length - 1;

describeE2E("HTTPS with Let's Encrypt (pebble as the ACME server)", () => {
  let httpsPort: number;
  let pebble: Pebble;
  let deployment: Deployment;
  let issuedRoot: string;

  /** Waits until the proxy serves a certificate for `name` that pebble issued; returns its serial. */
  async function waitForIssued(name: string, notSerial: string | undefined, ms: number): Promise<string> {
    let serial = '';
    const took = await waitFor(`a pebble-issued certificate for ${name}`, ms, async () => {
      const cert = await peerCertificate(httpsPort, name);
      serial = cert.serialNumber;
      return /Pebble/.test(cert.issuer?.CN ?? '') && serial !== notSerial;
    });
    log(`pebble certificate for ${name} served after ${took} ms (serial ${serial})`);
    return serial;
  }

  beforeAll(async () => {
    const [images, acmeImage] = await Promise.all([ensureTestImages(log), ensureAcmeImage(log)]);
    docker('network', 'create', ACME_NET);
    pebble = await startPebble({ network: ACME_NET, hosts: {}, log });
    httpsPort = await freePort();
    const stackDir = synthToDir({
      name: NAME,
      domain: DOMAIN,
      serverAliases: [ALIAS],
      app: { image: images.app },
      proxy: { image: images.nginx, httpPort: await freePort(), httpsPort },
      // The acme test image has Debian's certbot; the product's default is certbot/certbot.
      tls: { mode: 'letsencrypt', email: 'alvin@wayshub.test', directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, certbotImage: acmeImage },
    });
    deployment = await deployStack(stackDir, { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-le-work-')), log });
    await deployment.apply({ replicas: 2 });
  });

  afterAll(async () => {
    // Pebble leaves the stack's network first (destroy removes it), but keeps running until
    // after the destroy: Terraform reads its CA file (file()) again on destroy.
    if (pebble) spawnSync('docker', ['network', 'disconnect', `${NAME}-net`, pebble.container]);
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    await pebble?.stop().catch(() => undefined);
    try {
      docker('network', 'rm', ACME_NET);
    } catch {
      // already gone
    }
  });

  test('nginx boots on a temporary self-signed certificate before the first issuance', async () => {
    await waitFor('nginx to answer on HTTPS', 30_000, async () => (await peerCertificate(httpsPort, DOMAIN)).subject !== undefined);
    const cert = await peerCertificate(httpsPort, DOMAIN);
    expect(cert.subject.CN).toBe(DOMAIN);
    expect(cert.issuer.CN).toBe(DOMAIN); // self-signed
  });

  test('certbot obtains the certificate through our webroot path, and nginx serves it after a reload', async () => {
    const proxyId = docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`);
    // Pebble reaches the site by its first name through Docker DNS once it is on the stack's
    // network; the proxy carries only each site's first name as an alias, so the extra name is
    // put in pebble's hosts file, as public DNS would point it at the proxy.
    docker('network', 'connect', `${NAME}-net`, pebble.container);
    const proxyIp = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NAME}-net").IPAddress}}`, `${NAME}-proxy`);
    docker('exec', pebble.container, 'sh', '-c', `echo '${proxyIp} ${ALIAS}' >> /etc/hosts`);
    await waitForIssued(DOMAIN, undefined, 90_000);
    issuedRoot = await pebble.issuingRootPem();

    for (const name of [DOMAIN, ALIAS]) {
      const r = await request(httpsPort, { host: name, ca: issuedRoot });
      expect(r.status).toBe(200);
    }
    expect(docker('logs', `${NAME}-certbot`)).toMatch(/new certificate published for nginx/);
    expect(docker('logs', `${NAME}-proxy`)).toMatch(/the config or the certificate changed; reloading/);
    expect(docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`)).toBe(proxyId);
  });

  test('a forced renewal swaps the certificate under load: no failed request, same proxy container', async () => {
    const proxyId = docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`);
    const before = (await peerCertificate(httpsPort, DOMAIN)).serialNumber;
    const reloadsBefore = proxyReloads();
    const load = new Load(httpsPort, DOMAIN, 50, { ca: issuedRoot });
    try {
      // Not execFileSync: the load generator must keep sending while certbot renews.
      await promisify(execFile)('docker', [
        'exec',
        `${NAME}-certbot`,
        'certbot',
        'renew',
        '--force-renewal',
        '--no-random-sleep-on-renew',
        '--non-interactive',
      ]);
      await waitForIssued(DOMAIN, before, 30_000);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      const report = await load.stop();
      const reloads = proxyReloads() - reloadsBefore;
      log(
        `load: ${report.sent} sent, ${report.ok} ok, ${report.failed} failed, ${report.resent} resent, ${reloads} reload(s) in ${report.seconds.toFixed(1)} s`,
      );
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(report.sent);
      expect(report.sent).toBeGreaterThan(100);
      // A reload closes idle connections; a browser resends a GET that raced one. More resends
      // than connections per reload would mean nginx dropped requests, not idle connections.
      expect(reloads).toBeGreaterThanOrEqual(1);
      expect(report.resent).toBeLessThanOrEqual(LOAD_CONNECTIONS * reloads);
    }
    expect(docker('inspect', '-f', '{{.Id}}', `${NAME}-proxy`)).toBe(proxyId);
  });
});

// HTTPS with the user's own certificate files, the hardening headers, the rate limit and the
// locked-down proxy container, on a real engine with real nginx, curl and openssl; new
// certificate files are reloaded in place.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { LOAD_CONNECTIONS, Load, LoadReport, freePort, peerCertificate, request, sleep, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2etls';
const DOMAIN = 'wayshub.test';
const ALIAS = 'www.wayshub.test';
const log = (line: string) => process.stderr.write(`  [tls] ${line}\n`);

/** A test CA and a certificate for the domain and its alias, made with openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=wayshub test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${DOMAIN}`, '-keyout', 'site.key', '-out', 'site.csr');
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=DNS:${DOMAIN},DNS:${ALIAS}\n`);
  openssl('x509', '-req', '-in', 'site.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'site.pem');
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'site.pem'), key: path.join(dir, 'site.key') };
}

describeE2E('HTTPS with certificate files, and a hardened proxy', () => {
  let httpPort: number;
  let httpsPort: number;
  let certs: { ca: string; cert: string; key: string };
  let deployment: Deployment;
  let stackJson: string;
  let certDir: string;
  let workDir: string;
  let settings: WayshubSettingsInput;

  /** curl over HTTPS to 127.0.0.1 with SNI and Host for `name`; returns its -w output and body. */
  function curl(name: string, extra: string[] = []): string {
    return execFileSync(
      'curl',
      [
        '-sS',
        '--cacert',
        certs.ca,
        '--resolve',
        `${name}:${httpsPort}:127.0.0.1`,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{http_version}',
        ...extra,
        `https://${name}:${httpsPort}/`,
      ],
      { encoding: 'utf8' },
    );
  }

  /** Whether a TLS handshake with these openssl s_client options succeeds. */
  function handshake(...args: string[]): boolean {
    const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, ...args], { input: '', encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 && /Verify return code: 0 \(ok\)/.test(r.stdout);
  }

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-tls-'));
    certs = makeCertificates(certDir);
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    settings = {
      name: NAME,
      domain: DOMAIN,
      serverAliases: [ALIAS],
      app: { image: images.app },
      proxy: { image: images.nginx, httpPort, httpsPort, hstsMaxAgeSeconds: 600, rateLimit: { rate: '20r/s', burst: 10 } },
      tls: { mode: 'files', certFile: certs.cert, keyFile: certs.key },
    };
    const stackDir = synthToDir(settings);
    stackJson = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-tls-work-'));
    deployment = await deployStack(stackDir, { workDir, log });
    await deployment.apply({ replicas: 2 });
    // nginx is up once the HTTP redirect answers.
    for (let i = 0; i < 50 && (await request(httpPort, { host: DOMAIN }).catch(() => undefined)) === undefined; i++) await sleep(200);
  });

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
  });

  test('the private key never appears in the synthesized JSON', () => {
    const keyBody = fs.readFileSync(certs.key, 'utf8').split('\n')[1];
    expect(keyBody.length).toBeGreaterThan(20);
    expect(stackJson).not.toContain(keyBody);
    expect(stackJson).not.toContain('PRIVATE KEY');
    // It is read by Terraform at apply time instead.
    expect(stackJson).toContain(JSON.stringify(`\${file("${certs.key}")}`));
  });

  test('HTTPS with SNI for the domain and the extra name: 200 over HTTP/2, trusted by the test CA', () => {
    expect(curl(DOMAIN)).toBe('200 2');
    expect(curl(ALIAS)).toBe('200 2');
  });

  test('HTTP answers 301 to the same URL on HTTPS', async () => {
    const r = await request(httpPort, { host: DOMAIN, path: '/some/page?x=1' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`https://${DOMAIN}:${httpsPort}/some/page?x=1`);
  });

  test('TLS 1.2 and 1.3 are accepted; TLS 1.1 is refused', () => {
    const base = ['-servername', DOMAIN, '-CAfile', certs.ca];
    expect(handshake(...base, '-tls1_3')).toBe(true);
    expect(handshake(...base, '-tls1_2')).toBe(true);
    // Lower the client's own floor so that the refusal can only come from the server.
    expect(handshake(...base, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0')).toBe(false);
  });

  test('a handshake for a name we do not serve is refused', () => {
    expect(handshake('-servername', 'evil.example', '-CAfile', certs.ca)).toBe(false);
    expect(handshake('-servername', DOMAIN, '-CAfile', certs.ca)).toBe(true);
  });

  test('HSTS and the security headers are on every HTTPS response', () => {
    const headers = execFileSync(
      'curl',
      ['-sS', '-D', '-', '-o', '/dev/null', '--cacert', certs.ca, '--resolve', `${DOMAIN}:${httpsPort}:127.0.0.1`, `https://${DOMAIN}:${httpsPort}/`],
      {
        encoding: 'utf8',
      },
    ).toLowerCase();
    expect(headers).toContain('strict-transport-security: max-age=600');
    expect(headers).toContain('x-content-type-options: nosniff');
    expect(headers).toContain('referrer-policy: strict-origin-when-cross-origin');
    expect(headers).toContain('x-frame-options: sameorigin');
    expect(headers).not.toMatch(/^server: nginx\//m);
  });

  test('a burst above the rate limit gets 429s; requests within it get none', async () => {
    await sleep(1500); // let earlier requests' budget refill
    const within: number[] = [];
    for (let i = 0; i < 10; i++) {
      within.push(Number(curl(DOMAIN).split(' ')[0]));
      await sleep(100);
    }
    expect(within.filter((s) => s !== 200)).toEqual([]);

    const burst = execFileSync(
      'sh',
      [
        '-c',
        `for i in $(seq 1 60); do curl -s -o /dev/null -w '%{http_code}\\n' --cacert ${certs.ca} --resolve ${DOMAIN}:${httpsPort}:127.0.0.1 https://${DOMAIN}:${httpsPort}/ & done; wait`,
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    const counts = burst.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
    log(`burst of 60: ${JSON.stringify(counts)}`);
    expect(counts['429']).toBeGreaterThan(0);
    expect(counts['200']).toBeGreaterThan(0);
    expect((counts['200'] ?? 0) + (counts['429'] ?? 0)).toBe(60);
  });

  test('the proxy runs with a read-only root and only its listed capabilities', () => {
    const [inspect] = JSON.parse(execFileSync('docker', ['inspect', `${NAME}-proxy`], { encoding: 'utf8' })) as Array<{
      HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[]; CapAdd: string[]; SecurityOpt: string[] };
    }>;
    expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect.HostConfig.CapDrop.map((c: string) => c.replace(/^CAP_/, ''))).toEqual(['ALL']);
    expect(inspect.HostConfig.CapAdd.map((c: string) => c.replace(/^CAP_/, '')).sort()).toEqual(['CHOWN', 'NET_BIND_SERVICE', 'SETGID', 'SETUID']);
    expect(inspect.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);

    // What nginx's master really holds: CHOWN(0), SETGID(6), SETUID(7), NET_BIND_SERVICE(10).
    const status = execFileSync('docker', ['exec', `${NAME}-proxy`, 'cat', '/proc/1/status'], { encoding: 'utf8' });
    expect(/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1]).toBe('00000000000004c1');
    expect(/^NoNewPrivs:\s*(\d)$/m.exec(status)?.[1]).toBe('1');

    const write = spawnSync('docker', ['exec', `${NAME}-proxy`, 'sh', '-c', 'echo x > /etc/nginx/probe'], { encoding: 'utf8' });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  test('new certificate files: nginx reloads them in place under HTTPS load, in the same container, and no request fails', async () => {
    // A second certificate for the same names from the same CA, in files of their own.
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certDir, stdio: 'pipe' });
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${DOMAIN}`, '-keyout', 'site2.key', '-out', 'site2.csr');
    openssl(
      'x509',
      '-req',
      '-in',
      'site2.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.ext',
      '-out',
      'site2.pem',
    );
    const serial = async () => (await peerCertificate(httpsPort, DOMAIN)).serialNumber;
    const before = { serial: await serial(), proxy: execFileSync('docker', ['inspect', '-f', '{{.Id}}', `${NAME}-proxy`], { encoding: 'utf8' }).trim() };

    // Within the stack's rate limit (20 requests/s from one address).
    const ca = fs.readFileSync(certs.ca, 'utf8');
    const loads = [new Load(httpsPort, DOMAIN, 10, { ca }), new Load(httpsPort, DOMAIN, 4, { ca, post: Buffer.from('{"hello":"world"}') })];
    let reports: LoadReport[];
    try {
      await sleep(1000);
      const tls = { mode: 'files' as const, certFile: path.join(certDir, 'site2.pem'), keyFile: path.join(certDir, 'site2.key') };
      deployment = await deployStack(synthToDir({ ...settings, tls }), { workDir, log });
      await deployment.apply({ replicas: 2 });
      await waitFor('the new certificate to be served', 10_000, async () => (await serial()) !== before.serial);
      await sleep(1000);
    } finally {
      reports = await Promise.all(loads.map((load) => load.stop()));
    }
    reports.forEach((r, i) =>
      log(`${i === 0 ? 'GET' : 'POST'} over HTTPS: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed, ${r.resent} resent, max ${r.maxLatencyMs} ms`),
    );
    expect(execFileSync('docker', ['inspect', '-f', '{{.Id}}', `${NAME}-proxy`], { encoding: 'utf8' }).trim()).toBe(before.proxy);
    expect(curl(DOMAIN)).toBe('200 2');
    for (const r of reports) {
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(r.sent);
      // A reload closes idle kept-alive connections: a GET that lost that race is resent once.
      expect(r.resent).toBeLessThanOrEqual(LOAD_CONNECTIONS);
    }
  });
});

// HTTPS and hardening: settings validation, the rendered nginx config, and the resources.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ACME_DIRECTORIES, SettingsError, WayshubSettingsInput, resolveSettings, withEnvironment } from '../../constructs/settings';
import { Container, Volume } from '../../constructs/docker/provider';
import { synthStack, uploadedFiles } from '../support/synth';
import { makeCertificate } from '../support/certificates';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-pem-'));
const {
  cert: CERT,
  key: KEY,
  keySecret: SECRET,
} = makeCertificate(dir, ['wayshub.localhost', 'alvin.xyz', 'www.alvin.xyz'], { files: ['cert.pem', 'key.pem'] });
const NOT_PEM = path.join(dir, 'not.pem');
fs.writeFileSync(NOT_PEM, 'hello\n');

function error(input: WayshubSettingsInput | (() => WayshubSettingsInput)): string {
  try {
    resolveSettings(typeof input === 'function' ? input() : input);
  } catch (e) {
    if (e instanceof SettingsError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

describe('TLS settings', () => {
  test('off by default; files and letsencrypt from the environment', () => {
    expect(resolveSettings().tls).toEqual({ mode: 'off' });
    expect(resolveSettings(withEnvironment({}, { WAYSHUB_TLS: 'files', WAYSHUB_TLS_CERT: CERT, WAYSHUB_TLS_KEY: KEY })).tls).toEqual({
      mode: 'files',
      certFile: CERT,
      keyFile: KEY,
    });
    expect(
      resolveSettings(withEnvironment({}, { WAYSHUB_TLS: 'letsencrypt', WAYSHUB_ACME_EMAIL: 'alvin@alvin.xyz', WAYSHUB_ACME_DIRECTORY: 'staging' })).tls,
    ).toEqual({
      mode: 'letsencrypt',
      email: 'alvin@alvin.xyz',
      directoryUrl: ACME_DIRECTORIES.staging,
      caFile: undefined,
      certbotImage: 'certbot/certbot:v3.0.1',
    });
  });

  test.each<[string, WayshubSettingsInput | (() => WayshubSettingsInput), string]>([
    ['an unknown mode', { tls: { mode: 'on' } }, 'invalid tls.mode (WAYSHUB_TLS): "on"; allowed: off, files or letsencrypt'],
    [
      'a missing certificate file',
      { tls: { mode: 'files', certFile: '/nonexistent/cert.pem', keyFile: KEY } },
      'invalid tls.certFile (WAYSHUB_TLS_CERT): "/nonexistent/cert.pem"; the file does not exist; allowed: a readable PEM certificate (chain) file',
    ],
    [
      'no key file',
      { tls: { mode: 'files', certFile: CERT } },
      'invalid tls.keyFile (WAYSHUB_TLS_KEY): ""; required; allowed: a readable PEM private key file',
    ],
    [
      'a key file that is a directory (unreadable)',
      { tls: { mode: 'files', certFile: CERT, keyFile: dir } },
      `invalid tls.keyFile (WAYSHUB_TLS_KEY): "${dir}"; the file cannot be read; allowed: a readable PEM private key file`,
    ],
    [
      'a certificate that is not PEM',
      { tls: { mode: 'files', certFile: NOT_PEM, keyFile: KEY } },
      `invalid tls.certFile (WAYSHUB_TLS_CERT): "${NOT_PEM}"; no "BEGIN ...CERTIFICATE" PEM block in it; allowed: a readable PEM certificate (chain) file`,
    ],
    [
      'a key path with a quote',
      { tls: { mode: 'files', certFile: CERT, keyFile: '/tmp/a"b.pem' } },
      'invalid tls.keyFile (WAYSHUB_TLS_KEY): "/tmp/a\\"b.pem"; the path has a quote, backslash, newline or ${ in it; allowed: a readable PEM private key file',
    ],
    [
      'letsencrypt without an e-mail',
      { tls: { mode: 'letsencrypt' } },
      'invalid tls.email (WAYSHUB_ACME_EMAIL): ""; required with WAYSHUB_TLS=letsencrypt; allowed: an e-mail address like you@alvin.xyz',
    ],
    [
      'a malformed e-mail',
      { tls: { mode: 'letsencrypt', email: 'alvin at alvin.xyz' } },
      'invalid tls.email (WAYSHUB_ACME_EMAIL): "alvin at alvin.xyz"; required with WAYSHUB_TLS=letsencrypt; allowed: an e-mail address like you@alvin.xyz',
    ],
    [
      'an http ACME directory',
      { tls: { mode: 'letsencrypt', email: 'a@alvin.xyz', directoryUrl: 'http://acme.example/dir' } },
      'invalid tls.directoryUrl (WAYSHUB_ACME_DIRECTORY): "http://acme.example/dir"; allowed: production, staging, or an https:// URL of an ACME directory',
    ],
    [
      'a wildcard name with HTTP-01',
      { serverAliases: ['*.alvin.xyz'], tls: { mode: 'letsencrypt', email: 'a@alvin.xyz' } },
      'invalid serverAliases (WAYSHUB_SERVER_ALIASES): "*.alvin.xyz"; Let\'s Encrypt\'s HTTP-01 challenge cannot issue wildcard names; allowed: names without *',
    ],
    [
      'HTTPS on the HTTP port',
      { proxy: { httpPort: 8080, httpsPort: 8080 }, tls: { mode: 'files', certFile: CERT, keyFile: KEY } },
      'invalid proxy.httpsPort (WAYSHUB_HTTPS_PORT): 8080; allowed: a port other than the HTTP port 8080',
    ],
    [
      'an HSTS max-age above 2 years',
      () => withEnvironment({}, { WAYSHUB_HSTS_MAX_AGE: '99999999' }),
      'invalid proxy.hstsMaxAgeSeconds (WAYSHUB_HSTS_MAX_AGE): 99999999; allowed: seconds from 0 (off) to 63072000 (2 years), e.g. 31536000',
    ],
  ])('%s is refused', (_name, input, message) => {
    expect(error(input)).toBe(message);
  });
});

describe('hardening settings', () => {
  test('rate limit and real-IP sources from the environment', () => {
    const s = resolveSettings(
      withEnvironment({}, { WAYSHUB_RATE_LIMIT: '10r/s', WAYSHUB_REAL_IP_FROM: '173.245.48.0/20, 2400:cb00::/32', WAYSHUB_REAL_IP_HEADER: 'CF-Connecting-IP' }),
    );
    expect(s.proxy.rateLimit).toEqual({ rate: '10r/s', burst: 20 });
    expect(s.proxy.realIp).toEqual({ trustedFrom: ['173.245.48.0/20', '2400:cb00::/32'], header: 'CF-Connecting-IP' });
    expect(resolveSettings(withEnvironment({}, { WAYSHUB_RATE_LIMIT: '600r/m:50' })).proxy.rateLimit).toEqual({ rate: '600r/m', burst: 50 });
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'a rate per hour',
      { WAYSHUB_RATE_LIMIT: '10r/x' },
      'invalid proxy.rateLimit (WAYSHUB_RATE_LIMIT): "10r/x"; allowed: <n>r/s or <n>r/m, optionally :<burst>, e.g. 10r/s or 10r/s:20',
    ],
    [
      'a rate with a directive after it',
      { WAYSHUB_RATE_LIMIT: '10r/s; allow all' },
      'invalid proxy.rateLimit (WAYSHUB_RATE_LIMIT): "10r/s; allow all"; allowed: <n>r/s or <n>r/m, optionally :<burst>, e.g. 10r/s or 10r/s:20',
    ],
    [
      'a CIDR with a bad octet',
      { WAYSHUB_REAL_IP_FROM: '10.0.0.256/8' },
      'invalid proxy.realIp.trustedFrom (WAYSHUB_REAL_IP_FROM): "10.0.0.256/8"; allowed: comma-separated addresses or CIDR ranges like 173.245.48.0/20 or 2400:cb00::/32',
    ],
    [
      'a CIDR with a bad prefix',
      { WAYSHUB_REAL_IP_FROM: '10.0.0.0/33' },
      'invalid proxy.realIp.trustedFrom (WAYSHUB_REAL_IP_FROM): "10.0.0.0/33"; allowed: comma-separated addresses or CIDR ranges like 173.245.48.0/20 or 2400:cb00::/32',
    ],
    [
      'trusting everyone by a word',
      { WAYSHUB_REAL_IP_FROM: 'all' },
      'invalid proxy.realIp.trustedFrom (WAYSHUB_REAL_IP_FROM): "all"; allowed: comma-separated addresses or CIDR ranges like 173.245.48.0/20 or 2400:cb00::/32',
    ],
    [
      'a header with a space',
      { WAYSHUB_REAL_IP_FROM: '10.0.0.0/8', WAYSHUB_REAL_IP_HEADER: 'X Forwarded' },
      'invalid proxy.realIp.header (WAYSHUB_REAL_IP_HEADER): "X Forwarded"; allowed: a header name like X-Forwarded-For, X-Real-IP or CF-Connecting-IP',
    ],
  ])('%s is refused', (_name, env, message) => {
    expect(error(() => withEnvironment({}, env))).toBe(message);
  });
});

describe('HTTPS with certificate files', () => {
  const { json, text } = synthStack({ domain: 'alvin.xyz', serverAliases: ['www.alvin.xyz'], tls: { mode: 'files', certFile: CERT, keyFile: KEY } });
  const sites = uploadedFiles(json)['/etc/nginx/wayshub/sites.conf'];

  test('the key never appears in the synthesized JSON: Terraform reads it at apply time', () => {
    expect(text).not.toContain(SECRET);
    expect(uploadedFiles(json)['/etc/nginx/wayshub/tls/privkey.pem']).toBe(`\${file("${KEY}")}`);
    expect(uploadedFiles(json)['/etc/nginx/wayshub/tls/fullchain.pem']).toBe(`\${file("${CERT}")}`);
  });

  test("a new certificate file reloads the proxy: the config's version includes the files' hashes", () => {
    const uploads = json.resource.docker_container.proxy_config_loader.upload as Array<{ file: string; content: string }>;
    const version = uploads.find((u) => u.file === '/wayshub-version')?.content;
    expect(version).toMatch(new RegExp(`^[0-9a-f]{16}-\\$\\{filesha256\\("${CERT}"\\)\\}-\\$\\{filesha256\\("${KEY}"\\)\\}$`));
    expect(json.resource.docker_container.proxy.env).toBeUndefined();
  });

  test('443 is published, the URL is https, HTTP redirects, unknown names are refused in the handshake', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      ports: [
        { internal: 80, external: 80 },
        { internal: 443, external: 443 },
      ],
    });
    expect(json.output.url.value).toBe('https://alvin.xyz/');
    expect(sites).toContain('return 301 https://$host$request_uri;');
    expect(sites).toMatch(/listen 443 ssl default_server;\s*ssl_reject_handshake on;/);
    expect(sites).toMatch(
      /listen 443 ssl;\s*http2 on;\s*ssl_certificate \/etc\/nginx\/wayshub\/tls\/fullchain.pem;\s*ssl_certificate_key \/etc\/nginx\/wayshub\/tls\/privkey.pem;/,
    );
    expect(sites).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
    expect(sites).not.toContain('acme-challenge');
    expect(uploadedFiles(json)['/etc/nginx/wayshub/nginx.conf']).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
  });

  test('HSTS off with 0, and a non-default HTTPS port in the redirect', () => {
    const { json: j } = synthStack({ proxy: { httpsPort: 8443, hstsMaxAgeSeconds: 0 }, tls: { mode: 'files', certFile: CERT, keyFile: KEY } });
    const s = uploadedFiles(j)['/etc/nginx/wayshub/sites.conf'];
    expect(s).not.toContain('Strict-Transport-Security');
    expect(s).toContain('return 301 https://$host:8443$request_uri;');
  });
});

describe("HTTPS with Let's Encrypt", () => {
  const { json, text } = synthStack({
    domain: 'alvin.xyz',
    serverAliases: ['www.alvin.xyz'],
    tls: { mode: 'letsencrypt', email: 'alvin@alvin.xyz', directoryUrl: 'staging', caFile: CERT },
  });

  test('a certbot container with the names, e-mail, directory and extra CA, sharing two volumes', () => {
    expect(text).toHaveResourceWithProperties(Volume, { name: 'wayshub-acme-challenges' });
    expect(text).toHaveResourceWithProperties(Volume, { name: 'wayshub-letsencrypt' });
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-certbot',
      image: 'certbot/certbot:v3.0.1',
      entrypoint: ['/bin/sh', '/etc/wayshub/certbot.sh'],
      env: [
        'WAYSHUB_DOMAINS=alvin.xyz www.alvin.xyz',
        'WAYSHUB_ACME_EMAIL=alvin@alvin.xyz',
        `WAYSHUB_ACME_SERVER=${ACME_DIRECTORIES.staging}`,
        'REQUESTS_CA_BUNDLE=/etc/wayshub/acme-ca.pem',
      ],
      volumes: [
        { volume_name: '${docker_volume.acme_challenges.name}', container_path: '/var/www/acme' },
        { volume_name: '${docker_volume.letsencrypt.name}', container_path: '/etc/letsencrypt' },
      ],
    });
    const script = (json.resource.docker_container.certbot.upload as Array<{ file: string; content: string }>)[0].content;
    // Shell "${...}" is escaped for Terraform.
    expect(script).toContain('if [ "$${1:-}" = publish ]');
    expect(script).toContain('--deploy-hook "sh /etc/wayshub/certbot.sh publish"');
  });

  test('nginx serves the challenge path on port 80, starts on the certificate volume and reloads itself', () => {
    const files = uploadedFiles(json);
    expect(files['/etc/nginx/wayshub/sites.conf']).toMatch(/location \^~ \/\.well-known\/acme-challenge\/ \{\s*root \/var\/www\/acme;/);
    expect(files['/etc/nginx/wayshub/sites.conf']).toContain('ssl_certificate /etc/letsencrypt/wayshub/fullchain.pem;');
    expect(files['/etc/nginx/wayshub/start.sh']).toContain('nginx -c /etc/nginx/wayshub/nginx.conf -s reload');
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      command: ['/bin/sh', '/etc/nginx/wayshub/start.sh'],
      depends_on: ['docker_container.proxy_config_loader', 'docker_container.certbot'],
    });
  });
});

describe('hardening in the nginx config', () => {
  test('security headers by default; rate limit and real IP when set', () => {
    const plain = uploadedFiles(synthStack().json)['/etc/nginx/wayshub/sites.conf'];
    expect(plain).toContain('add_header X-Content-Type-Options nosniff always;');
    expect(plain).toContain('proxy_hide_header X-Powered-By;');
    expect(plain).not.toContain('limit_req');
    expect(plain).not.toContain('set_real_ip_from');

    const hardened = uploadedFiles(
      synthStack({ proxy: { rateLimit: { rate: '10r/s', burst: 20 }, realIp: { trustedFrom: ['173.245.48.0/20'], header: 'CF-Connecting-IP' } } }).json,
    )['/etc/nginx/wayshub/sites.conf'];
    expect(hardened).toContain('limit_req_zone $binary_remote_addr zone=wayshub_per_client:10m rate=10r/s;');
    expect(hardened).toContain('limit_req_status 429;');
    expect(hardened).toContain('limit_req zone=wayshub_per_client burst=20 nodelay;');
    expect(hardened).toMatch(/set_real_ip_from 173\.245\.48\.0\/20;\s*real_ip_header CF-Connecting-IP;\s*real_ip_recursive on;/);
  });
});

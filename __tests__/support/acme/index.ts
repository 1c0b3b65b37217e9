// A local ACME server for the Let's Encrypt end-to-end test, without any registry:
// Debian's pebble (the ACME test server of Let's Encrypt) and certbot in one image,
// a debootstrap rootfs piped into `docker import` like the images in ../test-images.
// Debian packages pebble without its test certificates (the `+ds` repack drops
// test/certs), so every pebble container makes its own CA and listener certificate
// with openssl when it starts; startPebble copies that CA out for certbot to trust.
import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';

import { chroot, debootstrap, docker, dropOtherTags, imageLabels, importRootfs, Log, run, seconds, withLock } from '../test-images';

const ACME_REPO = 'wayshub-e2e/acme';
const SUITE = 'bookworm';
// certbot pulls in python3 and python3-cryptography (the product's placeholder
// certificate uses it); openssl makes pebble's CA, curl probes pebble's listeners.
// debootstrap does not resolve virtual packages: python3-cryptography depends on
// python3-cffi-backend-api-min/-max, which only python3-cffi-backend provides.
const PACKAGES: readonly string[] = ['pebble', 'certbot', 'python3-cryptography', 'python3-cffi-backend', 'ca-certificates', 'openssl', 'curl'];
// Bump when the build steps change; the tag carries a hash of the recipe.
const RECIPE = '1';
const RECIPE_LABEL = 'wayshub-e2e.acme-recipe';
const LOCK_DIR = path.join(os.tmpdir(), 'wayshub-e2e-acme-image.lock');

const ACME_PORT = 14000;
const MANAGEMENT_PORT = 15000;
const READY_TIMEOUT_MS = 30000;
const CA_IN_CONTAINER = '/pebble/ca.pem';

const noLog: Log = () => undefined;

// ---------------------------------------------------------------- image

function acmeTag(): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([RECIPE, SUITE, PACKAGES]))
    .digest('hex');
  return `${ACME_REPO}:${SUITE}-${hash.slice(0, 12)}`;
}

async function isBuilt(tag: string): Promise<boolean> {
  return (await imageLabels(tag))?.[RECIPE_LABEL] === RECIPE;
}

async function packageVersion(dir: string, name: string): Promise<string> {
  const probe = await chroot(dir, ['dpkg-query', '--show', '--showformat=${Version}', name]);
  if (probe.code !== 0 || !probe.stdout) throw new Error(`${name} is not installed in the ${SUITE} rootfs: ${probe.stderr.trim()}`);
  return probe.stdout.trim();
}

async function buildAcme(tag: string, log: Log): Promise<string> {
  const started = Date.now();
  log(`building ACME image (pebble + certbot) from Debian ${SUITE} (about 50 s) ...`);
  const rootfs = await debootstrap('acme', SUITE, PACKAGES);
  try {
    const { dir } = rootfs;
    const pebble = await packageVersion(dir, 'pebble');
    const certbot = await packageVersion(dir, 'certbot');
    const probe = await chroot(dir, ['python3', '-c', 'import cryptography, certbot']);
    if (probe.code !== 0) throw new Error(`python3 cannot import certbot in the ${SUITE} rootfs: ${probe.stderr.trim()}`);
    await importRootfs(dir, tag, [
      `LABEL ${RECIPE_LABEL}=${RECIPE}`,
      `LABEL wayshub-e2e.pebble-version=${pebble}`,
      `LABEL wayshub-e2e.certbot-version=${certbot}`,
      'CMD ["/bin/sh"]',
    ]);
    await dropOtherTags([tag]);
    log(`ACME image ready: ${tag} (pebble ${pebble}, certbot ${certbot}) in ${seconds(started)}`);
    return tag;
  } finally {
    await rootfs.cleanup();
  }
}

/**
 * Debian bookworm's pebble (`/usr/bin/pebble`, `/usr/bin/pebble-challtestsrv`) and certbot
 * (with python3-cryptography), plus openssl, curl, ca-certificates and a shell, tagged
 * `wayshub-e2e/acme:bookworm-<recipe hash>`.
 */
export async function ensureAcmeImage(log: Log = noLog): Promise<string> {
  const tag = acmeTag();
  if (await isBuilt(tag)) return tag;
  return withLock(log, async () => ((await isBuilt(tag)) ? tag : buildAcme(tag, log)), LOCK_DIR);
}

// ---------------------------------------------------------------- pebble

export interface PebbleOptions {
  /** A user-defined Docker network: the other containers reach pebble by its container name. */
  network: string;
  /** DNS names pebble validates, mapped to IPv4 addresses (written to its /etc/hosts). */
  hosts: Record<string, string>;
  log?: Log;
}

export interface Pebble {
  /** The container's name, which is also its host name on `network`. */
  container: string;
  /** The ACME directory, `https://<container>:14000/dir`, for containers on `network`. */
  directoryUrl: string;
  /**
   * A PEM file on this host, until stop(): the CA of pebble's own HTTPS listeners (made
   * afresh for each pebble run), for certbot's REQUESTS_CA_BUNDLE.
   */
  caFile: string;
  /** The root of the certificates pebble issues (random for each pebble run). */
  issuingRootPem(): Promise<string>;
  /** pebble's output, for diagnosing a failed issuance. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

// Makes a CA and a listener certificate for the container's name, then runs pebble.
// httpPort/tlsPort are where pebble's validation connects on the validated host.
const START_SCRIPT = `
set -eu
mkdir -p /pebble
cd /pebble
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \\
  -subj "/CN=wayshub-e2e pebble listener CA" -addext "keyUsage=critical,keyCertSign,cRLSign" \\
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\
  -subj "/CN=$PEBBLE_NAME" -keyout key.pem -out cert.csr 2>/dev/null
printf '%s\\n' "subjectAltName=DNS:$PEBBLE_NAME,DNS:localhost,IP:127.0.0.1" \\
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \\
  "extendedKeyUsage=serverAuth" "authorityKeyIdentifier=keyid" > cert.ext
openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \\
  -extfile cert.ext -out cert.pem 2>/dev/null
cat > config.json <<EOF
{"pebble": {"listenAddress": "0.0.0.0:${ACME_PORT}", "managementListenAddress": "0.0.0.0:${MANAGEMENT_PORT}",
  "certificate": "/pebble/cert.pem", "privateKey": "/pebble/key.pem",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
exec pebble -config /pebble/config.json
`;

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

async function isRunning(container: string): Promise<boolean> {
  const result = await run('docker', ['container', 'inspect', '--format', '{{.State.Running}}', container]);
  return result.code === 0 && result.stdout.trim() === 'true';
}

// curl inside the pebble container, trusting the listener CA: works whatever the
// host's route to the container network is (remote engines included).
async function curlInside(container: string, url: string): Promise<{ ok: boolean; body: string; error: string }> {
  const result = await run('docker', ['exec', container, 'curl', '--silent', '--show-error', '--fail', '--cacert', CA_IN_CONTAINER, url]);
  return { ok: result.code === 0, body: result.stdout, error: result.stderr.trim() };
}

/**
 * Runs pebble on `network` (validating HTTP-01 on port 80 and TLS-ALPN-01 on 443 of
 * the addresses in `hosts`, without sleeping, nonce rejection or authorization reuse)
 * and resolves once its directory answers.
 */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const log = opts.log ?? noLog;
  const hostArgs: string[] = [];
  for (const [name, ip] of Object.entries(opts.hosts)) {
    if (!HOST_NAME.test(name)) throw new Error(`startPebble: ${JSON.stringify(name)} is not a DNS name`);
    if (!IPV4.test(ip)) throw new Error(`startPebble: ${JSON.stringify(ip)} (for ${name}) is not an IPv4 address`);
    hostArgs.push('--add-host', `${name}:${ip}`);
  }
  const image = await ensureAcmeImage(log);
  const started = Date.now();
  const container = `wayshub-e2e-pebble-${randomBytes(4).toString('hex')}`;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'wayshub-e2e-pebble-'));
  const caFile = path.join(tmp, 'pebble-ca.pem');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await run('docker', ['rm', '--force', '--volumes', container]);
    await fs.rm(tmp, { recursive: true, force: true });
  };
  const logs = async (): Promise<string> => {
    const result = await run('docker', ['logs', container]);
    return `${result.stdout}${result.stderr}`.trim();
  };

  try {
    await docker([
      'run',
      '--detach',
      '--name',
      container,
      '--network',
      opts.network,
      '--label',
      'wayshub-e2e.role=pebble',
      ...hostArgs,
      '--env',
      `PEBBLE_NAME=${container}`,
      '--env',
      'PEBBLE_VA_NOSLEEP=1', // no random 0-15 s sleep before each validation
      '--env',
      'PEBBLE_WFE_NONCEREJECT=0', // no random badNonce errors
      '--env',
      'PEBBLE_AUTHZREUSE=0', // every order (renewals too) validates afresh
      image,
      'sh',
      '-c',
      START_SCRIPT,
    ]);
    const directoryUrl = `https://${container}:${ACME_PORT}/dir`;
    let lastError = '';
    for (;;) {
      const probe = await curlInside(container, directoryUrl);
      if (probe.ok) break;
      lastError = probe.error;
      if (!(await isRunning(container))) {
        throw new Error(`pebble exited before its directory answered:\n${await logs()}`);
      }
      if (Date.now() - started > READY_TIMEOUT_MS) {
        throw new Error(`pebble's directory ${directoryUrl} did not answer within ${READY_TIMEOUT_MS / 1000} s (${lastError}):\n${await logs()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await fs.writeFile(caFile, (await docker(['exec', container, 'cat', CA_IN_CONTAINER])) + '\n');
    log(`pebble ready: ${directoryUrl} in ${seconds(started)}`);

    const issuingRootPem = async (): Promise<string> => {
      const root = await curlInside(container, `https://localhost:${MANAGEMENT_PORT}/roots/0`);
      if (!root.ok || !root.body.includes('BEGIN CERTIFICATE')) {
        throw new Error(`could not fetch pebble's issuing root: ${root.error || root.body}`);
      }
      return root.body;
    };
    return { container, directoryUrl, caFile, issuingRootPem, logs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

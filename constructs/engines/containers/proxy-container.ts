// The nginx container in front of the replicas: the only container that publishes ports.
// Hardened: read-only root filesystem, capabilities cut to what nginx's master needs,
// no-new-privileges, memory limit, rotated logs.
import { createHash } from 'node:crypto';

import { Construct } from 'constructs';
import { Fn } from 'cdktf';

import { Container, Image, Volume } from '../../docker/provider';
import { NO_NEW_PRIVILEGES, ROLE_LABEL, ROTATED_LOGS, containerCapabilities, labelBlocks, terraformLiteral } from '../../docker/labels';
import { ACME_WEBROOT, LETSENCRYPT_DIR, LetsEncrypt, SERVED_CERT, SERVED_KEY } from './lets-encrypt';
import { CONF_DIR, NGINX_CONF_PATH } from '../../../nginx/render';
import { ProxyProps, StackOutput } from '../engine';
import { MetricsExporter } from './metrics-exporter';
import {
  ACCESS_LOG_DIR,
  ACCESS_LOG_FILE,
  CertificateFiles,
  METRICS_DIR,
  NGINX_CAPABILITIES,
  NGINX_STOP_SIGNAL,
  NGINX_WRITABLE_MB,
  NginxProxyBase,
  ProxyTlsPaths,
} from '../nginx-proxy';

/** Where the certificate of files mode is uploaded to. */
const FILES_CERT = `${CONF_DIR}/tls/fullchain.pem`;
const FILES_KEY = `${CONF_DIR}/tls/privkey.pem`;
const START_SCRIPT = `${CONF_DIR}/start.sh`;
/** Written last by the config loader, once nginx has accepted the config: the proxy reloads when it changes. */
const VERSION_FILE = `${CONF_DIR}/.version`;
/** Where the config loader receives the uploads before it copies them into the volume. */
const UPLOAD_DIR = '/wayshub-upload';
const UPLOADED_VERSION = '/wayshub-version';

/** HTTPS for the proxy: certificate files from the deploying machine, or Let's Encrypt. */
export type ProxyTls = ({ readonly kind: 'files' } & CertificateFiles) | { readonly kind: 'letsencrypt'; readonly letsEncrypt: LetsEncrypt };

export interface ProxyContainerProps extends ProxyProps {
  /** Prefix of the other objects' names: `<prefix>-metrics`. */
  readonly prefix: string;
  /**
   * HTTPS; with it, HTTP redirects to HTTPS.
   * @default HTTP only
   */
  readonly tls?: ProxyTls;
}

/** The loader's env variable that holds the time of the plan that created it. */
const PLANNED_AT = 'WAYSHUB_PLANNED_AT';

/** Where nginx finds the certificate: uploaded files, or what certbot keeps in its volume. */
function tlsPaths(tls: ProxyTls | undefined): ProxyTlsPaths | undefined {
  if (tls?.kind === 'files') return { certificatePath: FILES_CERT, keyPath: FILES_KEY };
  if (tls?.kind === 'letsencrypt') return { certificatePath: SERVED_CERT, keyPath: SERVED_KEY, acmeWebroot: ACME_WEBROOT };
  return undefined;
}

export class ProxyContainer extends NginxProxyBase {
  readonly image: Image;
  readonly container: Container;
  /** The volume that holds the nginx config, read-only in the proxy. */
  readonly configVolume: Volume;
  /** One-shot container that writes the config into the volume before nginx starts. */
  readonly configLoader: Container;
  /** The Prometheus exporter, with `metrics`. */
  readonly metrics?: MetricsExporter;
  /** The access log's volume, with `accessLog: 'file'`. */
  readonly accessLogVolume?: Volume;

  get metricsVolume(): Volume | undefined {
    return this.metrics?.volume;
  }

  constructor(scope: Construct, id: string, props: ProxyContainerProps) {
    super(scope, id, props, tlsPaths(props.tls));
    const tls = props.tls;

    this.image = new Image(this, 'image', { name: props.image, keepLocally: true });

    const uploads: Array<{ file: string; content: string }> = this.files.map((f) => ({ file: f.path, content: terraformLiteral(f.content) }));
    // What identifies this config: the rendered files, and the certificate files' hashes.
    const fingerprint = [createHash('sha256').update(JSON.stringify(uploads)).digest('hex').slice(0, 16)];
    if (tls?.kind === 'files') {
      // Read by Terraform at apply time: the key never appears in cdk.tf.json (it does in the state).
      uploads.push({ file: FILES_CERT, content: Fn.file(tls.certFile) }, { file: FILES_KEY, content: Fn.file(tls.keyFile) });
      fingerprint.push(Fn.filesha256(tls.certFile), Fn.filesha256(tls.keyFile));
    }
    const letsEncrypt = tls?.kind === 'letsencrypt' ? tls.letsEncrypt : undefined;
    uploads.push({ file: START_SCRIPT, content: terraformLiteral(startScript(letsEncrypt !== undefined, props.accessLog === 'file')) });
    const labels = labelBlocks({ [ROLE_LABEL]: 'proxy' });
    const capabilities = containerCapabilities(NGINX_CAPABILITIES);
    const certificateVolumes = letsEncrypt ? [{ volumeName: letsEncrypt.certificates.name, containerPath: LETSENCRYPT_DIR, readOnly: true }] : [];

    // The provider uploads files through the root filesystem, which is read-only in the proxy.
    // So a one-shot loader (same image, writable root) receives them, copies them into a volume
    // that the proxy mounts read-only, and checks them with `nginx -t`. A config nginx refuses
    // fails the deploy and is taken back, so the running proxy never sees it. A new config
    // replaces only the loader (its uploads are ForceNew); the running proxy reloads itself.
    // Made before the loader and the proxy, which mount its volume: `nginx -t` opens the file
    // nginx writes its metrics lines to, as nginx does.
    this.metrics = props.metrics && new MetricsExporter(this, 'metrics', { name: props.prefix, settings: props.metrics, network: props.network });
    // The loader mounts the access log's volume too: `nginx -t` opens the file.
    this.accessLogVolume = props.accessLog === 'file' ? new Volume(this, 'access_log', { name: `${props.name}-access-log`, labels }) : undefined;
    const logVolumes = [
      ...(this.metrics ? [{ volumeName: this.metrics.volume.name, containerPath: METRICS_DIR }] : []),
      ...(this.accessLogVolume ? [{ volumeName: this.accessLogVolume.name, containerPath: ACCESS_LOG_DIR }] : []),
    ];
    this.configVolume = new Volume(this, 'config', { name: `${props.name}-config`, labels });
    this.configLoader = new Container(this, 'loader', {
      name: `${props.name}-config`,
      image: this.image.imageId,
      command: ['/bin/sh', '-c', terraformLiteral(loadScript(letsEncrypt !== undefined))],
      volumes: [{ volumeName: this.configVolume.name, containerPath: CONF_DIR }, ...certificateVolumes, ...logVolumes],
      upload: [...uploads.map((u) => ({ ...u, file: UPLOAD_DIR + u.file.slice(CONF_DIR.length) })), { file: UPLOADED_VERSION, content: fingerprint.join('-') }],
      attach: true,
      logs: true,
      mustRun: false,
      restart: 'no',
      capabilities,
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels,
      dependsOn: letsEncrypt ? [letsEncrypt.container] : undefined,
      // When this loader was planned, kept in its env (the provider never reads env back, and
      // later plans leave it alone): nginx's verdict counts only in the deploy that ran it. A
      // refused config fails that deploy, but not every later plan of an unchanged loader, so an
      // unrelated change (more replicas) still plans and applies.
      env: [`${PLANNED_AT}=${Fn.plantimestamp()}`],
      lifecycle: {
        ignoreChanges: ['env'],
        postcondition: [
          {
            condition: `\${self.exit_code == 0 || !contains(self.env, format("${PLANNED_AT}=%s", plantimestamp()))}`,
            errorMessage: `nginx refused the new config, and the running proxy keeps the one it has; see nginx's message with: docker logs ${props.name}-config`,
          },
        ],
      },
    });

    this.container = new Container(this, 'container', {
      name: props.name,
      image: this.image.imageId,
      // Nothing here changes with the config, so a config change never recreates the proxy.
      command: ['/bin/sh', START_SCRIPT],
      restart: 'unless-stopped',
      ports: [{ internal: 80, external: this.httpPort }, ...(this.httpsPort ? [{ internal: 443, external: this.httpsPort }] : [])],
      // networks_advanced is ForceNew: the aliases are only each site's first name.
      networksAdvanced: [{ name: props.network.name, aliases: [...this.networkAliases] }],
      volumes: [
        { volumeName: this.configVolume.name, containerPath: CONF_DIR, readOnly: true },
        ...certificateVolumes,
        ...(letsEncrypt ? [{ volumeName: letsEncrypt.webroot.name, containerPath: ACME_WEBROOT, readOnly: true }] : []),
        ...logVolumes,
      ],
      readOnly: true,
      tmpfs: Object.fromEntries(Object.entries(NGINX_WRITABLE_MB).map(([dir, mb]) => [dir, `rw,size=${mb}m`])),
      capabilities,
      securityOpts: NO_NEW_PRIVILEGES,
      memory: this.memoryMb,
      // No swap. Unset, Docker makes it twice the memory and the provider reads that back into an
      // attribute that is not Computed: every plan would show a change (resource_docker_container_funcs.go:782).
      memorySwap: this.memoryMb,
      // Without destroy_grace_seconds the provider stops with a timeout of 0, a SIGKILL
      // (resource_docker_container_funcs.go:933-940).
      stopSignal: NGINX_STOP_SIGNAL,
      destroyGraceSeconds: this.drainSeconds,
      ...ROTATED_LOGS,
      labels,
      dependsOn: [this.configLoader, ...(letsEncrypt ? [letsEncrypt.container] : []), ...(this.metrics ? [this.metrics.container] : [])],
    });
    this.metrics?.addDeployMarker(this.container, this.image.imageId, fingerprint[0]);
  }

  outputs(): StackOutput[] {
    return [{ name: 'proxy_name', value: this.container.name, description: 'The nginx proxy container.' }, ...(this.metrics?.outputs() ?? [])];
  }
}

// With Let's Encrypt, nginx can start (and `nginx -t` can pass) only once certbot has put a
// certificate in place: a temporary self-signed one at first.
const WAIT_FOR_CERTIFICATE = `cert=${SERVED_CERT}
waited=0
while [ ! -s "$cert" ]; do
  if [ "$waited" -ge 120 ]; then
    echo "nginx: no certificate at $cert after 120 s; is the certbot container running? (docker logs it)" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
`;

/**
 * The config loader: puts the uploaded config in place, has nginx check it, and takes it back
 * if nginx refuses it. The version file goes in last, so the proxy only ever reloads a config
 * that passed `nginx -t`.
 */
function loadScript(letsEncrypt: boolean): string {
  return `set -u
${letsEncrypt ? WAIT_FOR_CERTIFICATE : ''}previous=$(mktemp -d)
cp -R ${CONF_DIR}/. "$previous"/
rm -rf ${CONF_DIR}/* && cp -R ${UPLOAD_DIR}/. ${CONF_DIR}/
if ! nginx -t -q -c ${NGINX_CONF_PATH}; then
  rm -rf ${CONF_DIR}/* && cp -R "$previous"/. ${CONF_DIR}/
  echo "wayshub: nginx refused the new config (above); the running proxy keeps the one it has" >&2
  exit 1
fi
cp ${UPLOADED_VERSION} ${VERSION_FILE}
echo "nginx config $(cat ${VERSION_FILE}) loaded and checked"
`;
}

/** An access log file is rotated past this size, and one older file kept: at most twice this on disk. */
export const ACCESS_LOG_ROTATE_MB = 50;

// Checked every second: a full file moves aside (nginx keeps writing into it until the reopen,
// which writes out the workers' batches first), and nginx opens a new one.
const ROTATE_ACCESS_LOG = `
    if [ "$(stat -c %s ${ACCESS_LOG_FILE} 2>/dev/null || echo 0)" -gt ${ACCESS_LOG_ROTATE_MB * 1024 * 1024} ]; then
      mv -f ${ACCESS_LOG_FILE} ${ACCESS_LOG_FILE}.1
      nginx -c ${NGINX_CONF_PATH} -s reopen
    fi`;

/**
 * The proxy's command: nginx in the foreground, and a loop that reloads it (new workers take
 * over, old ones finish their requests) when the config loader has put a new config in place,
 * or when certbot has renewed the certificate, and rotates the access log's file.
 */
function startScript(letsEncrypt: boolean, accessLogFile: boolean): string {
  return `#!/bin/sh
# Generated by wayshub-edge.
set -u
${letsEncrypt ? WAIT_FOR_CERTIFICATE : ''}state() { cat ${VERSION_FILE} 2>/dev/null; ${letsEncrypt ? 'cksum < "$cert" 2>/dev/null; ' : ''}}
(
  last=$(state)
  while sleep 1; do
    now=$(state)
    if [ "$now" != "$last" ]; then
      last=$now
      echo "nginx: the config or the certificate changed; reloading"
      nginx -c ${NGINX_CONF_PATH} -s reload
    fi${accessLogFile ? ROTATE_ACCESS_LOG : ''}
  done
) &
exec nginx -c ${NGINX_CONF_PATH} -g 'daemon off;'
`;
}

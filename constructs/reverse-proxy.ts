// The nginx container in front of the replicas: the only container that publishes ports.
// Hardened: read-only root filesystem, capabilities cut to what nginx's master needs,
// no-new-privileges, memory limit, rotated logs.
import { createHash } from 'node:crypto';

import { Construct } from 'constructs';
import { Fn } from 'cdktf';

import { Container, Image, Network, Volume } from './docker';
import { NO_NEW_PRIVILEGES, ROLE_LABEL, ROTATED_LOGS, labelBlocks, terraformLiteral } from './labels';
import { ACME_WEBROOT, LETSENCRYPT_DIR, LetsEncrypt, SERVED_CERT, SERVED_KEY } from './lets-encrypt';
import { CONF_DIR, HardeningConfig, NGINX_CONF_PATH, NginxFile, SiteConfig, TlsConfig, renderNginxConfig } from '../nginx/render';

/** Where the certificate of files mode is uploaded to. */
const FILES_CERT = `${CONF_DIR}/tls/fullchain.pem`;
const FILES_KEY = `${CONF_DIR}/tls/privkey.pem`;
const START_SCRIPT = `${CONF_DIR}/start.sh`;
/** Where the config loader receives the uploads before it copies them into the volume. */
const UPLOAD_DIR = '/wayshub-upload';

/** HTTPS for the proxy: certificate files from the deploying machine, or Let's Encrypt. */
export type ProxyTls =
  { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string } | { readonly kind: 'letsencrypt'; readonly letsEncrypt: LetsEncrypt };

export interface ReverseProxyProps {
  /** Container name, e.g. `wayshub-proxy`. */
  readonly name: string;
  /** nginx image reference (1.27.3 or newer). */
  readonly image: string;
  /** The private network shared with the replicas. */
  readonly network: Network;
  /** Sites and their upstreams. */
  readonly sites: readonly SiteConfig[];
  /**
   * HTTPS; with it, HTTP redirects to HTTPS.
   * @default HTTP only
   */
  readonly tls?: ProxyTls;
  /**
   * Host port published for the proxy's port 80.
   * @default 80
   */
  readonly httpPort?: number;
  /**
   * Host port published for the proxy's port 443 (with `tls`).
   * @default 443
   */
  readonly httpsPort?: number;
  /**
   * `Strict-Transport-Security` max-age with `tls`; 0 turns it off.
   * @default 31536000 (one year)
   */
  readonly hstsMaxAgeSeconds?: number;
  /**
   * Security headers, rate limit, trusted real-IP sources.
   * @default security headers on, nothing else
   */
  readonly hardening?: HardeningConfig;
  /**
   * Memory limit in MiB.
   * @default 256
   */
  readonly memoryMb?: number;
  /**
   * Docker labels of the container (the role label is added).
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class ReverseProxy extends Construct {
  readonly image: Image;
  readonly container: Container;
  /** The volume that holds the nginx config, read-only in the proxy. */
  readonly configVolume: Volume;
  /** One-shot container that writes the config into the volume before nginx starts. */
  readonly configLoader: Container;
  /** The nginx config files as delivered into the container. */
  readonly files: readonly NginxFile[];
  readonly httpPort: number;
  /** The published HTTPS port, when TLS is on. */
  readonly httpsPort?: number;

  constructor(scope: Construct, id: string, props: ReverseProxyProps) {
    super(scope, id);
    const tls = props.tls;
    this.httpPort = props.httpPort ?? 80;
    this.httpsPort = tls ? (props.httpsPort ?? 443) : undefined;

    const tlsConfig: TlsConfig | undefined = tls && {
      certificatePath: tls.kind === 'files' ? FILES_CERT : SERVED_CERT,
      keyPath: tls.kind === 'files' ? FILES_KEY : SERVED_KEY,
      httpsPort: this.httpsPort ?? 443,
      hstsMaxAgeSeconds: props.hstsMaxAgeSeconds ?? 31536000,
      acmeWebroot: tls.kind === 'letsencrypt' ? ACME_WEBROOT : undefined,
    };
    this.files = renderNginxConfig({ sites: props.sites, tls: tlsConfig, hardening: props.hardening });

    this.image = new Image(this, 'image', { name: props.image, keepLocally: true });
    this.image.overrideLogicalId(`${id}_image`);

    const uploads: Array<{ file: string; content: string }> = this.files.map((f) => ({ file: f.path, content: terraformLiteral(f.content) }));
    // What identifies this config: the rendered files, and the certificate files' hashes.
    const fingerprint = [createHash('sha256').update(JSON.stringify(uploads)).digest('hex').slice(0, 16)];
    if (tls?.kind === 'files') {
      // Read by Terraform at apply time: the key never appears in cdk.tf.json (it does in the state).
      uploads.push({ file: FILES_CERT, content: Fn.file(tls.certFile) }, { file: FILES_KEY, content: Fn.file(tls.keyFile) });
      fingerprint.push(Fn.filesha256(tls.certFile), Fn.filesha256(tls.keyFile));
    }
    if (tls?.kind === 'letsencrypt') uploads.push({ file: START_SCRIPT, content: terraformLiteral(START_AFTER_CERTIFICATE) });
    const letsEncrypt = tls?.kind === 'letsencrypt' ? tls.letsEncrypt : undefined;
    const labels = labelBlocks({ ...props.labels, [ROLE_LABEL]: 'proxy' });

    // The provider uploads files through the root filesystem, which is read-only in the proxy.
    // So a one-shot loader (same image, writable root) receives them and copies them into a
    // volume that the proxy mounts read-only. The provider waits for it to finish (attach).
    this.configVolume = new Volume(this, 'config', { name: `${props.name}-config`, labels });
    this.configVolume.overrideLogicalId(`${id}_config`);
    this.configLoader = new Container(this, 'loader', {
      name: `${props.name}-config`,
      image: this.image.imageId,
      command: ['/bin/sh', '-c', `rm -rf ${CONF_DIR}/* && cp -R ${UPLOAD_DIR}/. ${CONF_DIR}/ && echo "nginx config loaded"`],
      volumes: [{ volumeName: this.configVolume.name, containerPath: CONF_DIR }],
      upload: uploads.map((u) => ({ ...u, file: UPLOAD_DIR + u.file.slice(CONF_DIR.length) })),
      attach: true,
      mustRun: false,
      restart: 'no',
      capabilities: { drop: ['ALL'] },
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels,
    });
    this.configLoader.overrideLogicalId(`${id}_config_loader`);

    this.container = new Container(this, 'container', {
      name: props.name,
      image: this.image.imageId,
      command: letsEncrypt ? ['/bin/sh', START_SCRIPT] : ['nginx', '-c', NGINX_CONF_PATH, '-g', 'daemon off;'],
      // A new config means a new proxy container, as with the provider's own uploads.
      env: [`WAYSHUB_CONFIG=${fingerprint.join('-')}`],
      restart: 'unless-stopped',
      ports: [{ internal: 80, external: this.httpPort }, ...(this.httpsPort ? [{ internal: 443, external: this.httpsPort }] : [])],
      // The site's names also lead to the proxy from inside the network (wildcards can't be aliases).
      networksAdvanced: [{ name: props.network.name, aliases: props.sites.flatMap((site) => site.serverNames.filter((n) => !n.startsWith('*'))) }],
      volumes: [
        { volumeName: this.configVolume.name, containerPath: CONF_DIR, readOnly: true },
        ...(letsEncrypt
          ? [
              { volumeName: letsEncrypt.certificates.name, containerPath: LETSENCRYPT_DIR, readOnly: true },
              { volumeName: letsEncrypt.webroot.name, containerPath: ACME_WEBROOT, readOnly: true },
            ]
          : []),
      ],
      readOnly: true,
      // Where nginx writes at run time: pid file, request-body and proxy buffers (official
      // image: /var/cache/nginx, Debian: /var/lib/nginx).
      tmpfs: { '/tmp': 'rw,size=64m', '/run': 'rw,size=1m', '/var/cache/nginx': 'rw,size=64m', '/var/lib/nginx': 'rw,size=64m' },
      // The master binds ports, creates the temp directories for the workers and drops to their user.
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'] },
      securityOpts: NO_NEW_PRIVILEGES,
      memory: props.memoryMb ?? 256,
      ...ROTATED_LOGS,
      labels,
      dependsOn: [this.configLoader, ...(letsEncrypt ? [letsEncrypt.container] : [])],
    });
    this.container.overrideLogicalId(id);
  }
}

// Let's Encrypt mode: nginx starts once certbot has put a certificate in place (a temporary
// self-signed one at first), and reloads itself, without a restart, when certbot renews it.
const START_AFTER_CERTIFICATE = `#!/bin/sh
# Generated by wayshub-edge.
set -u
cert=${SERVED_CERT}
waited=0
while [ ! -s "$cert" ]; do
  if [ "$waited" -ge 120 ]; then
    echo "nginx: no certificate at $cert after 120 s; is the certbot container running? (docker logs it)" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
(
  last=$(cksum < "$cert")
  while sleep 5; do
    now=$(cksum < "$cert" 2>/dev/null) || continue
    if [ "$now" != "$last" ]; then
      last=$now
      echo "nginx: the certificate changed; reloading"
      nginx -c ${NGINX_CONF_PATH} -s reload
    fi
  done
) &
exec nginx -c ${NGINX_CONF_PATH} -g 'daemon off;'
`;

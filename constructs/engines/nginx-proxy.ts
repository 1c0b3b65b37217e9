// What both engines' proxies share: the nginx config rendered from the same sites, the same
// defaults, the same hardening. The container (containers/proxy-container.ts) and the Swarm service
// (swarm/proxy-service.ts) differ in one place: how the config and the certificate reach nginx.
import { Construct } from 'constructs';

import { NginxFile, renderNginxConfig } from '../../nginx/render';
import { PROXY_CHECKS, Proxy, ProxyProps, StackOutput, checkProps } from './engine';
import { DEFAULTS } from '../settings';

/** The user's certificate chain and key: paths on the machine that runs cdktf, read by Terraform at apply time. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Where nginx finds the certificate and the key inside the proxy, and (Let's Encrypt) the ACME webroot. */
export interface ProxyTlsPaths {
  readonly certificatePath: string;
  readonly keyPath: string;
  /** @default none: no HTTP-01 challenges are answered */
  readonly acmeWebroot?: string;
}

/**
 * Capabilities nginx's master needs back after all are dropped: it binds the ports, creates the
 * temp directories for the workers and drops to their user (`nginx -t` does the same but the binding).
 */
export const NGINX_CAPABILITIES: readonly string[] = ['CHOWN', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'];

/**
 * Where nginx writes at run time on a read-only root, in MiB each: pid file, request-body and
 * proxy buffers (official image: /var/cache/nginx, Debian: /var/lib/nginx).
 */
export const NGINX_WRITABLE_MB: Readonly<Record<string, number>> = { '/tmp': 64, '/run': 1, '/var/cache/nginx': 64, '/var/lib/nginx': 64 };

/** The metrics exporter's directory (a volume the proxy mounts too) and nginx's lines there. */
export const METRICS_DIR = '/wayshub-metrics';
export const METRICS_LOG = `${METRICS_DIR}/access.log`;

/** With the access log in a file: its volume's directory in the proxy, and the file. */
export const ACCESS_LOG_DIR = '/var/log/wayshub';
export const ACCESS_LOG_FILE = `${ACCESS_LOG_DIR}/access.log`;

/** nginx's graceful stop: the requests in flight are finished. */
export const NGINX_STOP_SIGNAL = 'SIGQUIT';

/** The proxy in front of the replicas, whatever runs it. */
export abstract class NginxProxyBase extends Construct implements Proxy {
  /** The nginx config files as delivered into the proxy. */
  readonly files: readonly NginxFile[];
  readonly httpPort: number;
  /** The published HTTPS port, when TLS is on. */
  readonly httpsPort?: number;
  /** Memory limit in MiB. */
  readonly memoryMb: number;
  /** Seconds the proxy has to finish its requests when it is stopped. */
  readonly drainSeconds: number;
  /**
   * Names that lead to the proxy from inside the network: each site's first name (a wildcard
   * can't be one). Only the first: an added server name must not recreate the proxy.
   */
  readonly networkAliases: readonly string[];

  protected constructor(scope: Construct, id: string, props: ProxyProps, tls: ProxyTlsPaths | undefined) {
    super(scope, id);
    checkProps(this, props, PROXY_CHECKS);
    this.httpPort = props.httpPort ?? DEFAULTS.httpPort;
    this.httpsPort = tls ? (props.httpsPort ?? DEFAULTS.httpsPort) : undefined;
    this.memoryMb = props.memoryMb ?? DEFAULTS.proxyMemoryMb;
    this.drainSeconds = props.drainSeconds ?? DEFAULTS.drainSeconds;
    this.networkAliases = props.sites.map((site) => site.serverNames[0]).filter((n) => !n.startsWith('*'));
    this.files = renderNginxConfig({
      sites: props.sites,
      tls: tls && { ...tls, httpsPort: this.httpsPort ?? DEFAULTS.httpsPort, hstsMaxAgeSeconds: props.hstsMaxAgeSeconds ?? DEFAULTS.hstsMaxAgeSeconds },
      hardening: props.hardening,
      // One streamed upload per MiB of the memory limit: each holds a 128 KB buffer, so all of
      // them at once take an eighth of it (uploads.test.ts measures the proxy's peak).
      uploadsAtOnce: this.memoryMb,
      maintenance: props.maintenance ?? false,
      metrics: props.metrics ? { file: METRICS_LOG } : undefined,
      accessLogFile: props.accessLog === 'file' ? ACCESS_LOG_FILE : undefined,
    });
  }

  abstract outputs(): StackOutput[];
}

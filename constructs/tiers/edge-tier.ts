// The edge: the nginx reverse proxy in front of every replica set, its config loader, and
// Let's Encrypt when asked. One site (server block and upstream) per replica set.
import { Construct } from 'constructs';

import { Network } from '../docker/provider';
import { CONTAINERS } from '../engines/containers/engine';
import { DeploymentEngine, Proxy, ReplicaPool } from '../engines/engine';
import { SiteConfig } from '../../nginx/render';
import { MetricsSettings, ProxySettings, TlsSettings } from '../settings';

/** One site of the edge: the names it answers to and the replicas behind them. */
export interface EdgeSite {
  /** Suffix of the upstream's name: `<name>_<key>`, e.g. `wayshub_app`. */
  readonly key: string;
  /** The first name is the primary one; a leading `*.` label is allowed. */
  readonly serverNames: readonly string[];
  readonly replicas: ReplicaPool;
  /**
   * Largest request body this site accepts, e.g. `100m` for an API that takes videos.
   * @default the proxy's maxBodySize
   */
  readonly maxBodySize?: string;
  /**
   * An API: the proxy's own answers (maintenance) are JSON.
   * @default false
   */
  readonly json?: boolean;
  /**
   * App servers outside the stack (`host:port`), balanced beside the replicas.
   * @default none
   */
  readonly servers?: readonly string[];
}

export interface EdgeTierProps {
  /** Prefix of the Docker object names: `<name>-proxy`, `<name>-certbot`. */
  readonly name: string;
  /** Image, ports, load balancing, timeouts and hardening of nginx. */
  readonly proxy: ProxySettings;
  /** HTTPS: off, certificate files, or Let's Encrypt for every site's names. */
  readonly tls: TlsSettings;
  /** The private network shared with the replicas. */
  readonly network: Network;
  readonly sites: readonly EdgeSite[];
  /**
   * What runs the proxy: a container (and certbot), or a Swarm service (no Let's Encrypt there) (engineFor).
   * @default containers
   */
  readonly engine?: DeploymentEngine;
  /**
   * The proxy's Prometheus endpoint.
   * @default none
   */
  readonly metrics?: MetricsSettings;
}

/** The public URL of a name: http or https, with the port when it is not the default one. */
export function publicUrl(host: string, proxy: Pick<ProxySettings, 'httpPort' | 'httpsPort'>, tls: TlsSettings): string {
  return tls.mode === 'off'
    ? `http://${host}${proxy.httpPort === 80 ? '' : `:${proxy.httpPort}`}/`
    : `https://${host}${proxy.httpsPort === 443 ? '' : `:${proxy.httpsPort}`}/`;
}

export class EdgeTier extends Construct {
  /** nginx, as the engine runs it (with certbot beside it for Let's Encrypt). */
  readonly proxy: Proxy;

  constructor(scope: Construct, id: string, props: EdgeTierProps) {
    super(scope, id);
    const { proxy: p, tls } = props;

    // Every site gets the same proxy features.
    const site = ({ key, serverNames, replicas, servers, maxBodySize, json }: EdgeSite): SiteConfig => ({
      serverNames,
      ...(json ? { json } : {}),
      maxBodySize: maxBodySize ?? p.maxBodySize,
      connectTimeoutSeconds: p.connectTimeoutSeconds,
      readTimeoutSeconds: p.readTimeoutSeconds,
      nextUpstreamTries: p.nextUpstreamTries,
      nextUpstreamTimeoutSeconds: p.nextUpstreamTimeoutSeconds,
      upstream: {
        name: `${props.name.replace(/-/g, '_')}_${key}`,
        alias: replicas.alias,
        port: replicas.port,
        loadBalancing: p.loadBalancing,
        maxFails: p.maxFails,
        failTimeoutSeconds: p.failTimeoutSeconds,
        keepalive: p.keepalive,
        keepaliveTimeoutSeconds: p.keepaliveTimeoutSeconds,
        ...(servers ? { servers } : {}),
      },
    });

    this.proxy = (props.engine ?? CONTAINERS).edge(this, 'proxy', {
      prefix: props.name,
      tls,
      domains: props.sites.flatMap((s) => s.serverNames),
      name: `${props.name}-proxy`,
      image: p.image,
      network: props.network,
      httpPort: p.httpPort,
      httpsPort: p.httpsPort,
      hstsMaxAgeSeconds: p.hstsMaxAgeSeconds,
      memoryMb: p.memoryMb,
      maintenance: p.maintenance,
      accessLog: p.accessLog,
      metrics: props.metrics,
      hardening: { securityHeaders: p.securityHeaders, rateLimit: p.rateLimit, realIp: p.realIp },
      sites: props.sites.map(site),
    });
  }
}

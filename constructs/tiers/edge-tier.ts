// The edge: the nginx reverse proxy in front of every replica set, its config loader, and
// Let's Encrypt when asked. One site (server block and upstream) per replica set.
import { Construct } from 'constructs';

import { Network } from '../docker/provider';
import { LetsEncrypt } from '../engines/containers/lets-encrypt';
import { ReplicaPool } from '../engines/containers/replica-set';
import { ProxyTls, ReverseProxy } from '../engines/containers/reverse-proxy';
import { SiteConfig } from '../../nginx/render';
import { Engine, ProxySettings, TlsSettings } from '../settings';
import { SwarmProxy } from '../engines/swarm/swarm-proxy';

/** One site of the edge: the names it answers to and the replicas behind them. */
export interface EdgeSite {
  /** Suffix of the upstream's name: `<name>_<key>`, e.g. `wayshub_app`. */
  readonly key: string;
  /** The first name is the primary one; a leading `*.` label is allowed. */
  readonly serverNames: readonly string[];
  readonly replicas: ReplicaPool;
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
   * Plain containers, or a Swarm service (no Let's Encrypt there).
   * @default containers
   */
  readonly engine?: Engine;
  /**
   * Docker labels of every object of the tier.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The public URL of a name: http or https, with the port when it is not the default one. */
export function publicUrl(host: string, proxy: Pick<ProxySettings, 'httpPort' | 'httpsPort'>, tls: TlsSettings): string {
  return tls.mode === 'off'
    ? `http://${host}${proxy.httpPort === 80 ? '' : `:${proxy.httpPort}`}/`
    : `https://${host}${proxy.httpsPort === 443 ? '' : `:${proxy.httpsPort}`}/`;
}

export class EdgeTier extends Construct {
  /** The nginx container, or with Swarm the nginx service. */
  readonly proxy: ReverseProxy | SwarmProxy;
  /** The certbot container and its volumes, in Let's Encrypt mode. */
  readonly letsEncrypt?: LetsEncrypt;

  constructor(scope: Construct, id: string, props: EdgeTierProps) {
    super(scope, id);
    const { proxy: p, tls, labels } = props;

    if (props.engine === 'swarm' && tls.mode === 'letsencrypt') throw new Error("EdgeTier: Let's Encrypt is not implemented with Swarm");
    this.letsEncrypt =
      tls.mode === 'letsencrypt'
        ? new LetsEncrypt(this, 'letsencrypt', {
            name: props.name,
            domains: props.sites.flatMap((site) => site.serverNames),
            email: tls.email,
            directoryUrl: tls.directoryUrl,
            caFile: tls.caFile,
            image: tls.certbotImage,
            network: props.network,
            labels,
          })
        : undefined;

    const proxyTls: ProxyTls | undefined =
      tls.mode === 'files'
        ? { kind: 'files', certFile: tls.certFile, keyFile: tls.keyFile }
        : this.letsEncrypt && { kind: 'letsencrypt', letsEncrypt: this.letsEncrypt };

    // Every site gets the same proxy features.
    const site = ({ key, serverNames, replicas }: EdgeSite): SiteConfig => ({
      serverNames,
      maxBodySize: p.maxBodySize,
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
      },
    });

    // What both kinds of proxy take the same way.
    const common = {
      name: `${props.name}-proxy`,
      image: p.image,
      network: props.network,
      httpPort: p.httpPort,
      httpsPort: p.httpsPort,
      hstsMaxAgeSeconds: p.hstsMaxAgeSeconds,
      memoryMb: p.memoryMb,
      hardening: { securityHeaders: p.securityHeaders, rateLimit: p.rateLimit, realIp: p.realIp },
      labels,
      sites: props.sites.map(site),
    };
    if (props.engine === 'swarm') {
      this.proxy = new SwarmProxy(this, 'proxy', { ...common, tls: tls.mode === 'files' ? { certFile: tls.certFile, keyFile: tls.keyFile } : undefined });
      return;
    }
    this.proxy = new ReverseProxy(this, 'proxy', {
      ...common,
      tls: proxyTls,
    });
  }
}

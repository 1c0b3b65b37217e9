// One wayshub deployment: provider, private network, app replicas, nginx proxy, the `replicas`
// variable and the outputs a user reads after `cdktf deploy`.
import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';

import { DockerProvider, Network } from './docker';
import { STACK_LABEL, labelBlocks } from './labels';
import { LetsEncrypt } from './lets-encrypt';
import { ReplicaSet } from './replica-set';
import { ReverseProxy } from './reverse-proxy';
import { MAX_REPLICAS, WayshubSettings } from './settings';

export class WayshubStack extends TerraformStack {
  /** The `replicas` variable: `cdktf deploy --var replicas=5` scales without re-synthesizing. */
  readonly replicas: TerraformVariable;
  readonly network: Network;
  readonly app: ReplicaSet;
  readonly proxy: ReverseProxy;
  /** The certbot container and its volumes, in Let's Encrypt mode. */
  readonly letsEncrypt?: LetsEncrypt;
  /** Where the site answers, e.g. `http://alvin.xyz/`. */
  readonly url: string;

  constructor(scope: Construct, id: string, readonly settings: WayshubSettings) {
    super(scope, id);
    const s = settings;
    const labels = { [STACK_LABEL]: s.name };

    new DockerProvider(this, 'docker', { host: s.dockerHost });

    this.replicas = new TerraformVariable(this, 'replicas', {
      type: 'number',
      default: s.replicas,
      description: `How many app containers run behind the proxy (1 to ${MAX_REPLICAS}).`,
      validation: [
        {
          condition: `\${var.replicas >= 1 && var.replicas <= ${MAX_REPLICAS} && floor(var.replicas) == var.replicas}`,
          errorMessage: `replicas must be a whole number from 1 to ${MAX_REPLICAS}, got \${var.replicas}.`,
        },
      ],
    });

    this.network = new Network(this, 'network', {
      name: `${s.name}-net`,
      driver: 'bridge',
      labels: labelBlocks(labels),
    });
    this.network.overrideLogicalId('network');

    this.app = new ReplicaSet(this, 'app', {
      namePrefix: `${s.name}-app`,
      count: this.replicas.numberValue,
      image: s.app.image,
      buildContext: s.app.buildContext,
      network: this.network,
      port: s.app.port,
      healthcheck: s.app.healthcheck,
      memoryMb: s.app.memoryMb,
      env: s.app.env,
      addCapabilities: s.app.addCapabilities,
      labels,
    });

    const p = s.proxy;
    const serverNames = [s.domain, ...s.serverAliases];
    this.letsEncrypt =
      s.tls.mode === 'letsencrypt'
        ? new LetsEncrypt(this, 'letsencrypt', {
            name: s.name,
            domains: serverNames,
            email: s.tls.email,
            directoryUrl: s.tls.directoryUrl,
            caFile: s.tls.caFile,
            image: s.tls.certbotImage,
            network: this.network,
            labels,
          })
        : undefined;

    this.proxy = new ReverseProxy(this, 'proxy', {
      name: `${s.name}-proxy`,
      image: p.image,
      network: this.network,
      httpPort: p.httpPort,
      httpsPort: p.httpsPort,
      hstsMaxAgeSeconds: p.hstsMaxAgeSeconds,
      memoryMb: p.memoryMb,
      tls:
        s.tls.mode === 'files'
          ? { kind: 'files', certFile: s.tls.certFile, keyFile: s.tls.keyFile }
          : this.letsEncrypt && { kind: 'letsencrypt', letsEncrypt: this.letsEncrypt },
      hardening: { securityHeaders: p.securityHeaders, rateLimit: p.rateLimit, realIp: p.realIp },
      labels,
      sites: [
        {
          serverNames,
          maxBodySize: p.maxBodySize,
          connectTimeoutSeconds: p.connectTimeoutSeconds,
          readTimeoutSeconds: p.readTimeoutSeconds,
          nextUpstreamTries: p.nextUpstreamTries,
          nextUpstreamTimeoutSeconds: p.nextUpstreamTimeoutSeconds,
          upstream: {
            name: `${s.name.replace(/-/g, '_')}_app`,
            alias: this.app.alias,
            port: this.app.port,
            loadBalancing: p.loadBalancing,
            maxFails: p.maxFails,
            failTimeoutSeconds: p.failTimeoutSeconds,
            keepalive: p.keepalive,
          },
        },
      ],
    });

    this.url =
      s.tls.mode === 'off'
        ? `http://${s.domain}${p.httpPort === 80 ? '' : `:${p.httpPort}`}/`
        : `https://${s.domain}${p.httpsPort === 443 ? '' : `:${p.httpsPort}`}/`;
    new TerraformOutput(this, 'url', { value: this.url, description: 'Where the site answers.' });
    new TerraformOutput(this, 'replica_names', { value: this.app.containerNames, description: 'App replica containers.' });
    new TerraformOutput(this, 'network_name', { value: this.network.name, description: 'The private network.' });
    new TerraformOutput(this, 'proxy_name', { value: this.proxy.container.name, description: 'The nginx proxy container.' });
  }
}

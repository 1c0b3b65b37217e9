// One wayshub deployment: the provider and the private network, then its tiers: the frontend
// replicas, the API (backend replicas at api.<domain> with their secrets, MySQL and the
// migration job) when a backend is set, and the edge (nginx, with HTTPS when asked). Last, the
// outputs a user reads after deploy.
import { Construct } from 'constructs';
import { Aspects, Op, TerraformOutput, TerraformVariable } from 'cdktf';

import { ApiTier } from '../tiers/api-tier';
import { DockerProvider, Network } from '../docker/provider';
import { EdgeSite, EdgeTier, publicUrl } from '../tiers/edge-tier';
import { FrontendTier } from '../tiers/frontend-tier';
import { engineFor } from '../engines';
import { AddressedStack } from './addressed-stack';
import { STACK_LABEL } from '../docker/labels';
import { StackLabels } from '../docker/stack-labels';
import { WayshubSettings } from '../settings';

/** One deployment's stack; its addresses come from AddressedStack. */
export class WayshubStack extends AddressedStack {
  readonly network: Network;
  readonly frontend: FrontendTier;
  /** The backend, its secrets and its database, when a backend is set. */
  readonly api?: ApiTier;
  readonly edge: EdgeTier;
  /** Where the site answers, e.g. `http://alvin.xyz/`. */
  readonly url: string;
  /** The public API base the frontend calls, e.g. `http://api.alvin.xyz/api/v1`. */
  readonly apiUrl?: string;

  constructor(
    scope: Construct,
    id: string,
    readonly settings: WayshubSettings,
  ) {
    super(scope, id);
    const s = settings;
    // Every Docker object of the stack carries its name, so it can be found (and cleaned up).
    Aspects.of(this).add(new StackLabels({ [STACK_LABEL]: s.name }));

    // A pull request's plan holds no Docker credentials: it plans with -refresh=false and this set
    // to false (npm run plan -- --no-refresh), so the provider never pings the host.
    const daemonCheck = new TerraformVariable(this, 'docker_daemon_check', {
      type: 'bool',
      default: true,
      description: 'false only for a plan with -refresh=false that must not reach the Docker host (a pull request plan).',
    });
    new DockerProvider(this, 'docker', { host: s.dockerHost, disableDockerDaemonCheck: Op.not(daemonCheck.booleanValue) });
    const engine = engineFor(s.engine, s.swarm);
    this.network = new Network(this, 'network', { name: `${s.name}-net`, ...engine.network });

    const apiName = s.backend && `${s.backend.subdomain}.${s.domain}`;
    if (s.backend && apiName) {
      this.api = new ApiTier(this, 'api', {
        name: s.name,
        backend: s.backend,
        database: s.database,
        backup: s.backup,
        network: this.network,
        engine,
      });
      this.apiUrl = `${publicUrl(apiName, s.proxy, s.tls)}api/v1`;
    }
    this.frontend = new FrontendTier(this, 'frontend', {
      name: s.name,
      app: s.app,
      replicas: s.replicas,
      network: this.network,
      apiUrl: this.apiUrl,
      engine,
    });

    const sites: EdgeSite[] = [{ key: 'app', serverNames: [s.domain, ...s.serverAliases], replicas: this.frontend.replicas, servers: s.app.servers }];
    if (this.api && apiName && s.backend)
      sites.push({ key: 'backend', serverNames: [apiName], replicas: this.api.replicas, maxBodySize: s.backend.maxBodySize, json: true });
    this.edge = new EdgeTier(this, 'edge', { name: s.name, proxy: s.proxy, tls: s.tls, network: this.network, sites, engine, metrics: s.metrics });
    // The backups' runs are counted on the proxy's metrics endpoint too (both one host only).
    const metricsVolume = this.edge.proxy.metricsVolume;
    if (metricsVolume) this.api?.database?.reportBackupsTo?.(metricsVolume);

    this.url = publicUrl(s.domain, s.proxy, s.tls);
    const output = (name: string, value: unknown, description: string) => new TerraformOutput(this, name, { value, description });
    output('url', this.url, 'Where the site answers.');
    const outputs = [
      ...this.frontend.replicas.outputs('', 'App'),
      { name: 'network_name', value: this.network.name, description: 'The private network.' },
      ...this.edge.proxy.outputs(),
    ];
    if (this.api && this.apiUrl) {
      outputs.push({ name: 'api_url', value: this.apiUrl, description: 'Where the API answers.' }, ...this.api.replicas.outputs('backend_', 'Backend'));
      outputs.push(...(this.api.database?.outputs() ?? []));
    }
    for (const o of outputs) output(o.name, o.value, o.description);
  }
}

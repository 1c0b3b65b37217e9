// One wayshub deployment: the provider and the private network, then its tiers: the frontend
// replicas, the API (backend replicas at api.<domain> with their secrets, MySQL and the
// migration job) when a backend is set, and the edge (nginx, with HTTPS when asked). Last, the
// outputs a user reads after deploy.
import { Construct } from 'constructs';
import { Op, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';

import { ApiTier } from '../tiers/api-tier';
import { DockerProvider, Network } from '../docker/provider';
import { EdgeSite, EdgeTier, publicUrl } from '../tiers/edge-tier';
import { FrontendTier } from '../tiers/frontend-tier';
import { ReplicaService } from '../engines/swarm/replica-service';
import { SwarmDatabase } from '../engines/swarm/swarm-database';
import { SwarmProxy } from '../engines/swarm/swarm-proxy';
import { STACK_LABEL, labelBlocks } from '../docker/labels';
import { WayshubSettings } from '../settings';

export class WayshubStack extends TerraformStack {
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
    const labels = { [STACK_LABEL]: s.name };

    // A pull request's plan holds no Docker credentials: it plans with -refresh=false and this set
    // to false (npm run plan -- --no-refresh), so the provider never pings the host.
    const daemonCheck = new TerraformVariable(this, 'docker_daemon_check', {
      type: 'bool',
      default: true,
      description: 'false only for a plan with -refresh=false that must not reach the Docker host (a pull request plan).',
    });
    daemonCheck.overrideLogicalId('docker_daemon_check');
    new DockerProvider(this, 'docker', { host: s.dockerHost, disableDockerDaemonCheck: Op.not(daemonCheck.booleanValue) });
    const swarm = s.engine === 'swarm';
    this.network = new Network(this, 'network', {
      name: `${s.name}-net`,
      // With Swarm, one network over every node; attachable, so that a plain container can join it to debug.
      driver: swarm ? 'overlay' : 'bridge',
      attachable: swarm || undefined,
      options: swarm && s.swarm.encryptNetwork ? { encrypted: 'true' } : undefined,
      labels: labelBlocks(labels),
    });
    this.network.overrideLogicalId('network');

    const apiName = s.backend && `${s.backend.subdomain}.${s.domain}`;
    if (s.backend && apiName) {
      this.api = new ApiTier(this, 'api', {
        name: s.name,
        backend: s.backend,
        database: s.database,
        network: this.network,
        engine: s.engine,
        swarm: s.swarm,
        labels,
      });
      this.apiUrl = `${publicUrl(apiName, s.proxy, s.tls)}api/v1`;
    }
    this.frontend = new FrontendTier(this, 'frontend', {
      name: s.name,
      app: s.app,
      replicas: s.replicas,
      network: this.network,
      apiUrl: this.apiUrl,
      engine: s.engine,
      labels,
    });

    const sites: EdgeSite[] = [{ key: 'app', serverNames: [s.domain, ...s.serverAliases], replicas: this.frontend.replicas }];
    if (this.api && apiName) sites.push({ key: 'backend', serverNames: [apiName], replicas: this.api.replicas });
    this.edge = new EdgeTier(this, 'edge', { name: s.name, proxy: s.proxy, tls: s.tls, network: this.network, sites, engine: s.engine, labels });

    this.url = publicUrl(s.domain, s.proxy, s.tls);
    const output = (name: string, value: unknown, description: string) => new TerraformOutput(this, name, { value, description });
    output('url', this.url, 'Where the site answers.');
    const frontend = this.frontend.replicas;
    const proxy = this.edge.proxy;
    if (frontend instanceof ReplicaService) output('service_name', frontend.serviceName, 'The app service.');
    else output('replica_names', frontend.containerNames, 'App replica containers.');
    output('network_name', this.network.name, 'The private network.');
    if (proxy instanceof SwarmProxy) output('proxy_service', proxy.serviceName, 'The nginx proxy service.');
    else output('proxy_name', proxy.container.name, 'The nginx proxy container.');
    if (this.api && this.apiUrl) {
      output('api_url', this.apiUrl, 'Where the API answers.');
      const backend = this.api.replicas;
      if (backend instanceof ReplicaService) output('backend_service_name', backend.serviceName, 'The backend service.');
      else output('backend_replica_names', backend.containerNames, 'Backend replica containers.');
    }
    const database = this.api?.database;
    if (database instanceof SwarmDatabase) {
      output('database_service', database.service.name, 'The MySQL service, on the node labelled wayshub.database=true.');
      output('database_volume', database.volumeName, 'The volume with the database files, on that node.');
    } else if (database) {
      output('database_container', database.container.name, 'The MySQL container.');
      output('database_volume', database.volume.name, 'The volume with the database files.');
    }
  }
}

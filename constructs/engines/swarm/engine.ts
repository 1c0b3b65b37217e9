// The engine of Docker Swarm: replicas as a replicated service found by `tasks.<name>`, the proxy
// as a global service with its config in Docker configs, MySQL as one task pinned to its node.
import { Construct } from 'constructs';

import { DatabaseServer, DatabaseServerProps, DeploymentEngine, EdgeProps, Proxy, Replicas, ReplicasProps } from '../engine';
import { SwarmSettings } from '../../settings';
import { ReplicaService } from './replica-service';
import { DatabaseService } from './database-service';
import { ProxyService } from './proxy-service';

export class SwarmEngine implements DeploymentEngine {
  readonly kind = 'swarm' as const;
  /** One network over every node; attachable, so that a plain container can join it to debug. */
  readonly network: DeploymentEngine['network'];

  constructor(private readonly settings: SwarmSettings) {
    this.network = { driver: 'overlay', attachable: true, options: settings.encryptNetwork ? { encrypted: 'true' } : undefined };
  }

  /** No build on the host (each node pulls the image) and no health timeout (Swarm's update config decides). */
  replicas(scope: Construct, id: string, props: ReplicasProps): Replicas {
    return new ReplicaService(scope, id, props);
  }

  edge(scope: Construct, id: string, props: EdgeProps): Proxy {
    const tls = props.tls;
    if (tls.mode === 'letsencrypt') throw new Error("EdgeTier: Let's Encrypt is not implemented with Swarm");
    // resolveSettings refuses both with Swarm: nginx's files are in a volume of one host.
    if (props.metrics) throw new Error(`${scope.node.path}/${id}: metrics run on one Docker host only, not yet with Swarm`);
    if (props.accessLog === 'file') throw new Error(`${scope.node.path}/${id}: an access log file runs on one Docker host only, not yet with Swarm`);
    return new ProxyService(scope, id, { ...props, tls: tls.mode === 'files' ? { certFile: tls.certFile, keyFile: tls.keyFile } : undefined });
  }

  /** The data volume lives on the database node; a destroy never deletes it (allowDestroy is the container engine's). */
  database(scope: Construct, id: string, { backup, ...props }: DatabaseServerProps): DatabaseServer {
    // resolveSettings refuses WAYSHUB_BACKUP=on with Swarm; a construct given one says so too.
    if (backup) throw new Error(`${scope.node.path}/${id}: backups run on one Docker host only, not yet with Swarm`);
    return new DatabaseService(scope, id, { ...props, encryptNetwork: this.settings.encryptNetwork });
  }
}

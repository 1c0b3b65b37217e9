// The engine of one Docker host: replicas as counted containers, the proxy as a container with
// its config loader (and certbot for Let's Encrypt), MySQL as a container with its volume.
import { Construct } from 'constructs';

import { DatabaseServer, DatabaseServerProps, DeploymentEngine, EdgeProps, Proxy, Replicas, ReplicasProps } from '../engine';
import { DatabaseContainer } from './database-container';
import { LetsEncrypt } from './lets-encrypt';
import { ReplicaContainers } from './replica-containers';
import { ProxyContainer } from './proxy-container';

export const CONTAINERS: DeploymentEngine = {
  kind: 'containers',
  network: { driver: 'bridge' },

  replicas(scope: Construct, id: string, { name, ...props }: ReplicasProps): Replicas {
    return new ReplicaContainers(scope, id, { namePrefix: name, ...props });
  },

  edge(scope: Construct, id: string, { prefix, tls, domains, ...proxy }: EdgeProps): Proxy {
    const letsEncrypt =
      tls.mode === 'letsencrypt'
        ? new LetsEncrypt(scope, 'letsencrypt', {
            name: prefix,
            domains: [...domains],
            email: tls.email,
            directoryUrl: tls.directoryUrl,
            caFile: tls.caFile,
            image: tls.certbotImage,
            network: proxy.network,
          })
        : undefined;
    return new ProxyContainer(scope, id, {
      ...proxy,
      prefix,
      tls: tls.mode === 'files' ? { kind: 'files', certFile: tls.certFile, keyFile: tls.keyFile } : letsEncrypt && { kind: 'letsencrypt', letsEncrypt },
    });
  },

  database(scope: Construct, id: string, props: DatabaseServerProps): DatabaseServer {
    return new DatabaseContainer(scope, id, props);
  },
};

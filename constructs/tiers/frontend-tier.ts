// The frontend tier: wayshub-frontend's replicas and the `replicas` variable that counts them.
import { Construct } from 'constructs';

import { Network } from '../docker/provider';
import { ReplicaCountVariable } from './replica-count';
import { CONTAINERS } from '../engines/containers/engine';
import { DeploymentEngine, Replicas, replicaPropsOf } from '../engines/engine';
import { AppSettings } from '../settings';

export interface FrontendTierProps {
  /** Prefix of the container names: `<name>-app-1` .. `<name>-app-N`. */
  readonly name: string;
  /** Image, port, healthcheck, limits and environment of the replicas. */
  readonly app: AppSettings;
  /** Default of the `replicas` variable. */
  readonly replicas: number;
  /** The private network the proxy reaches the replicas on. */
  readonly network: Network;
  /**
   * The public API base the frontend calls, given to it as REACT_APP_API_URL.
   * @default none: no API
   */
  readonly apiUrl?: string;
  /**
   * What runs the replicas: containers on one host, or a Swarm service (engineFor).
   * @default containers
   */
  readonly engine?: DeploymentEngine;
}

export class FrontendTier extends Construct {
  /** The `replicas` variable. */
  readonly replicasVariable: ReplicaCountVariable;
  /** The replicas, as the engine runs them. */
  readonly replicas: Replicas;

  constructor(scope: Construct, id: string, props: FrontendTierProps) {
    super(scope, id);
    const app = props.app;
    // With app servers outside the stack, they alone may serve: 0 replicas, and no image pulled.
    const mayBeNone = (app.servers?.length ?? 0) > 0;
    this.replicasVariable = new ReplicaCountVariable(this, 'replicas', { default: props.replicas, what: 'app', min: mayBeNone ? 0 : 1 });
    const replicas = {
      count: this.replicasVariable.numberValue,
      mayBeNone,
      ...replicaPropsOf(app),
      network: props.network,
      // The frontend finds the API through this (see docs/full-wayshub.md for wayshub-frontend's edit).
      env: props.apiUrl ? { REACT_APP_API_URL: props.apiUrl, ...app.env } : app.env,
    };
    this.replicas = (props.engine ?? CONTAINERS).replicas(this, 'app', { name: `${props.name}-app`, ...replicas });
  }
}

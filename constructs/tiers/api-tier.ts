// The API tier: wayshub-backend's replicas at api.<domain>, the `backend_replicas` variable,
// the backend's secrets, and (unless turned off) MySQL with its migration job.
import { Construct } from 'constructs';
import { dependable } from 'cdktf';

import { BackendSecrets } from './backend-secrets';
import { MigrationJob } from '../engines/containers/database-container';
import { Network } from '../docker/provider';
import { EnvValue, containerEnv } from '../docker/labels';
import { ReplicaCountVariable } from './replica-count';
import { CONTAINERS } from '../engines/containers/engine';
import { DatabaseServer, DeploymentEngine, Replicas, replicaPropsOf } from '../engines/engine';
import { BackendSettings, BackupSettings, DatabaseSettings } from '../settings';

export interface ApiTierProps {
  /** Prefix of the Docker object names: `<name>-backend-1`, `<name>-db`, `<name>-migrate`. */
  readonly name: string;
  /** Image, port, replicas, environment and secret names of the backend. */
  readonly backend: BackendSettings;
  /**
   * The database the stack runs for the backend.
   * @default none: DATABASE_URL and DB_* are the user's (e.g. in `backend.secretEnv`)
   */
  readonly database?: DatabaseSettings;
  /**
   * The database's backups (one host only).
   * @default none
   */
  readonly backup?: BackupSettings;
  /** The private network the proxy reaches the replicas on. */
  readonly network: Network;
  /**
   * What runs the replicas and the database: containers on one host, or Swarm services (the
   * database pinned to its node) (engineFor).
   * @default containers
   */
  readonly engine?: DeploymentEngine;
}

export class ApiTier extends Construct {
  /** The `backend_replicas` variable. */
  readonly replicasVariable: ReplicaCountVariable;
  readonly secrets: BackendSecrets;
  /** The replicas, as the engine runs them. */
  readonly replicas: Replicas;
  /** MySQL, as the engine runs it. */
  readonly database?: DatabaseServer;
  readonly migration?: MigrationJob;

  constructor(scope: Construct, id: string, props: ApiTierProps) {
    super(scope, id);
    const { backend, database: db } = props;
    this.replicasVariable = new ReplicaCountVariable(this, 'backend_replicas', { default: backend.replicas, what: 'backend' });
    this.secrets = new BackendSecrets(this, 'secrets', { secretEnv: backend.secretEnv, database: db !== undefined });
    // The environment the stack sets; the user's backend.env may not name any of it.
    const env: Record<string, EnvValue> = { NODE_ENV: EnvValue.fromValue('production'), ...this.secrets.env };

    const engine = props.engine ?? CONTAINERS;
    if (db && this.secrets.dbPassword) {
      this.database = engine.database(this, 'database', {
        name: props.name,
        image: db.image,
        databaseName: db.databaseName,
        user: db.user,
        password: this.secrets.dbPassword,
        allowDestroy: db.allowDestroy,
        backup: props.backup,
      });
      Object.assign(env, this.database.clientEnv);
    }

    // The id names the resources (docker_container.api, docker_image.api_image) in state: keep it.
    // Not 'backend', which would read as cdktf's own Terraform-backend construct.
    const replicas = {
      count: this.replicasVariable.numberValue,
      ...replicaPropsOf(backend),
      network: props.network,
      env: backend.env,
      stackEnv: env,
    };
    const extraNetworks = this.database ? [this.database.network] : undefined;
    this.replicas = engine.replicas(this, 'api', { name: `${props.name}-backend`, ...replicas, extraNetworks });
    // A resource planned on every deploy: the right place to check the secrets.
    this.replicas.checkedOn.lifecycle = { precondition: this.secrets.preconditions };

    if (this.database && db) {
      this.migration = new MigrationJob(this, 'migration', {
        name: props.name,
        image: this.replicas.jobImage(this, backend.image),
        command: db.migrateCommand,
        // The backend's whole environment: migrations run the backend's own code and config.
        env: containerEnv(backend.env, env),
        // With Swarm, the job joins the database's attachable overlay network from the manager.
        network: this.database.network,
        database: this.database.server,
      });
      // The migration needs the backend's image, so the dependency is added afterwards.
      this.replicas.runs.dependsOn = [dependable(this.migration.container)];
    }
  }
}

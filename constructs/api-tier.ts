// The API tier: wayshub-backend's replicas at api.<domain>, the `backend_replicas` variable,
// the backend's secrets, and (unless turned off) MySQL with its migration job.
import { Construct } from 'constructs';
import { dependable } from 'cdktf';

import { BackendSecrets } from './backend-secrets';
import { Database, MigrationJob } from './database';
import { Network } from './docker';
import { containerEnv } from './labels';
import { ReplicaCountVariable } from './replica-count';
import { ReplicaSet, replicaPropsOf } from './replica-set';
import { ReplicaService } from './replica-service';
import { BackendSettings, DatabaseSettings, Engine } from './settings';

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
  /** The private network the proxy reaches the replicas on. */
  readonly network: Network;
  /**
   * Plain containers, or a Swarm service (without the database, for now).
   * @default containers
   */
  readonly engine?: Engine;
  /**
   * Docker labels of every object of the tier.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class ApiTier extends Construct {
  /** The `backend_replicas` variable. */
  readonly replicasVariable: ReplicaCountVariable;
  readonly secrets: BackendSecrets;
  /** The replica containers, or with Swarm the service. */
  readonly replicas: ReplicaSet | ReplicaService;
  readonly database?: Database;
  readonly migration?: MigrationJob;

  constructor(scope: Construct, id: string, props: ApiTierProps) {
    super(scope, id);
    const { backend, database: db, labels } = props;
    this.replicasVariable = new ReplicaCountVariable(this, 'backend_replicas', { default: backend.replicas, what: 'backend' });
    this.secrets = new BackendSecrets(this, 'secrets', { secretEnv: backend.secretEnv, database: db !== undefined });
    // The environment the stack sets; the user's backend.env may not name any of it.
    const env = ['NODE_ENV=production', ...this.secrets.env];

    if (db && props.engine === 'swarm') throw new Error('ApiTier: the database is not implemented with Swarm');
    if (db && this.secrets.dbPassword) {
      this.database = new Database(this, 'database', {
        name: props.name,
        image: db.image,
        databaseName: db.databaseName,
        user: db.user,
        password: this.secrets.dbPassword,
        allowDestroy: db.allowDestroy,
        labels,
      });
      env.push(...this.database.clientEnv);
    }

    // The id names the resources (docker_container.api, docker_image.api_image) in state: keep it.
    // Not 'backend', which would read as cdktf's own Terraform-backend construct.
    const replicas = {
      count: this.replicasVariable.numberValue,
      ...replicaPropsOf(backend),
      network: props.network,
      env: backend.env,
      terraformEnv: env,
      labels,
    };
    if (props.engine === 'swarm') {
      const service = new ReplicaService(this, 'api', { name: `${props.name}-backend`, ...replicas });
      service.service.lifecycle = { precondition: this.secrets.preconditions };
      this.replicas = service;
      return;
    }
    const set = new ReplicaSet(this, 'api', {
      namePrefix: `${props.name}-backend`,
      ...replicas,
      extraNetworks: this.database ? [this.database.network] : undefined,
    });
    // The image is one resource planned on every deploy: the right place to check the secrets.
    set.image.lifecycle = { precondition: this.secrets.preconditions };
    this.replicas = set;

    if (this.database && db) {
      this.migration = new MigrationJob(this, 'migration', {
        name: props.name,
        image: this.replicas.image.imageId,
        command: db.migrateCommand,
        // The backend's whole environment: migrations run the backend's own code and config.
        env: containerEnv(backend.env, env),
        database: this.database,
        labels,
      });
      // The migration needs the backend's image, so the dependency is added afterwards.
      set.containers.dependsOn = [dependable(this.migration.container)];
    }
  }
}

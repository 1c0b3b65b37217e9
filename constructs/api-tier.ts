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
import { BackendSettings, DatabaseSettings } from './settings';

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
   * Docker labels of every object of the tier.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class ApiTier extends Construct {
  /** The `backend_replicas` variable. */
  readonly replicasVariable: ReplicaCountVariable;
  readonly secrets: BackendSecrets;
  readonly replicas: ReplicaSet;
  readonly database?: Database;
  readonly migration?: MigrationJob;

  constructor(scope: Construct, id: string, props: ApiTierProps) {
    super(scope, id);
    const { backend, database: db, labels } = props;
    this.replicasVariable = new ReplicaCountVariable(this, 'backend_replicas', { default: backend.replicas, what: 'backend' });
    this.secrets = new BackendSecrets(this, 'secrets', { secretEnv: backend.secretEnv, database: db !== undefined });
    // The environment the stack sets; the user's backend.env may not name any of it.
    const env = ['NODE_ENV=production', ...this.secrets.env];

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
    this.replicas = new ReplicaSet(this, 'api', {
      namePrefix: `${props.name}-backend`,
      count: this.replicasVariable.numberValue,
      ...replicaPropsOf(backend),
      network: props.network,
      env: backend.env,
      terraformEnv: env,
      labels,
      extraNetworks: this.database ? [this.database.network] : undefined,
    });
    // The image is one resource planned on every deploy: the right place to check the secrets.
    this.replicas.image.lifecycle = { precondition: this.secrets.preconditions };

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
      this.replicas.containers.dependsOn = [dependable(this.migration.container)];
    }
  }
}
